// The client side of one configuration, in its own process (forked by bench/run.mjs).
// Messages from the orchestrator:
//   { type: "run", stack, transport, url, workload, counts }  → { type: "result", result } | { type: "error", error }
//   { type: "idle", stack, transport, url, count }            → { type: "idle-ready" }, then on
//   { type: "release" }                                       → { type: "released" }
//   { type: "link", stack, url, boundMs }                     → { type: "result", result }
import { clientFor } from "./clients.mjs";
import { connectTime, echoLatency, fanOut, openIdle, throughput, timeToLink } from "./workloads.mjs";

const workloads = {
  connect: (open, url, counts) => connectTime(open, url, { count: counts.connect }),
  echo: (open, url, counts) => echoLatency(open, url, { count: counts.echo }),
  throughput: (open, url, counts) => throughput(open, url, { count: counts.throughput }),
  fanout: (open, url, counts) => fanOut(open, url, { clients: counts.fanoutClients, messages: counts.fanoutMessages }),
};

let release;

async function handle(message) {
  switch (message.type) {
    case "run": {
      const open = await clientFor(message.stack, message.transport);
      return { type: "result", result: await workloads[message.workload](open, message.url, message.counts) };
    }
    case "idle": {
      const open = await clientFor(message.stack, message.transport);
      release = await openIdle(open, message.url, message.count);
      return { type: "idle-ready" };
    }
    case "release":
      release?.();
      release = undefined;
      return { type: "released" };
    case "link": {
      // Default settings: every transport the library has, in its own order.
      const open = await clientFor(message.stack, null);
      return { type: "result", result: await timeToLink(open, message.url, message.boundMs, { givesUp: message.stack === "ws" }) };
    }
  }
  return { type: "error", error: `unknown message ${message.type}` };
}

// The orchestrator may stop this process while an answer is on its way; it no longer wants it.
const answer = (message) => process.connected && process.send(message);
process.on("message", (message) => {
  if (message.type === "stop") return process.exit(0);
  handle(message).then(answer, (error) => answer({ type: "error", error: String(error?.stack ?? error) }));
});
process.on("disconnect", () => process.exit(0));
process.send({ type: "ready" });
