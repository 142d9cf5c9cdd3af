import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { cleanupAfterEach, sleep, until } from "../helpers/integration.js";
import { connect } from "@lifeline/client";
import type { Connection, OpenEvent, TransportName } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import type { LifelineServer } from "@lifeline/server";
import { createFaultProxy } from "@lifeline/testkit";
import type { FaultProxy } from "@lifeline/testkit";

/**
 * The promise of issue "never lose a message", proven through a fault-injecting TCP proxy:
 * numbered traffic both ways at 100 messages a second, a 2 s cut, a 2 s blackhole; every message
 * arrives exactly once and in order.
 */

const HEARTBEAT = { interval: 500, timeout: 500 };
// Timers and the event loop under a busy test run; the server sweeps its heartbeats every 125 ms here.
const DETECTION_MARGIN_MS = 500;
const transports: TransportName[] = ["websocket", "streaming", "polling"];

const cleanups = cleanupAfterEach();

/** 1..n exactly once, in order: returns a description of what is wrong, or "ok". */
function verdict(received: number[], sent: number): string {
  const duplicates = received.length - new Set(received).size;
  const missing = sent - new Set(received).size;
  const outOfOrder = received.some((n, i) => i > 0 && n <= received[i - 1]!);
  return duplicates || missing || outOfOrder ? `duplicates ${duplicates}, missing ${missing}, out of order ${outOfOrder}` : "ok";
}

async function startStack(transport: TransportName) {
  let server: LifelineServer = createServer({ heartbeat: HEARTBEAT });
  cleanups.push(() => server.close());
  const fromClient: number[] = [];
  let pushed = 0;
  let pushing = true;
  server.on("connection", (session) => {
    session.on("message", (data) => fromClient.push(Number(data)));
    // The server pushes 100 numbered messages a second for as long as the test wants.
    const timer = setInterval(() => {
      if (pushing) session.send(String(++pushed));
    }, 10);
    session.on("close", () => clearInterval(timer));
    cleanups.push(() => clearInterval(timer));
  });
  const { url } = await server.listen(0, "127.0.0.1");
  const target = new URL(url);
  const proxy: FaultProxy = await createFaultProxy({ target: { host: "127.0.0.1", port: Number(target.port) } });
  cleanups.push(() => proxy.close());

  const conn: Connection = connect(`${proxy.url}${target.pathname}`, {
    transports: [transport],
    WebSocket,
    reconnect: { initialDelay: 100, maxDelay: 500 },
    // Attempts born inside a blackhole never answer: give up on them quickly.
    connectTimeout: 1000,
  });
  cleanups.push(() => conn.close());
  const fromServer: number[] = [];
  const opens: OpenEvent[] = [];
  const states: { to: string; at: number; reason: string }[] = [];
  conn.on("message", (data) => fromServer.push(Number(data)));
  conn.on("open", (event) => opens.push(event));
  conn.on("statechange", ({ to, reason }) => states.push({ to, at: Date.now(), reason }));

  let sent = 0;
  let sending = true;
  const sender = setInterval(() => {
    if (sending) conn.send(String(++sent));
  }, 10);
  cleanups.push(() => clearInterval(sender));

  return {
    proxy,
    conn,
    serverPort: Number(target.port),
    fromClient,
    fromServer,
    opens,
    states,
    get server() {
      return server;
    },
    set server(next) {
      server = next;
    },
    stopTraffic() {
      sending = false;
      pushing = false;
    },
    get sent() {
      return sent;
    },
    get pushed() {
      return pushed;
    },
  };
}

describe.each(transports)("faults over %s", (transport) => {
  it("0 lost, 0 duplicated, order kept through a 2 s cut and a 2 s blackhole; blackhole detected in time", async () => {
    const stack = await startStack(transport);
    const { proxy, conn } = stack;
    await until(() => conn.state === "open", 5000, "the first open");
    await sleep(1000);

    // Cut: every connection reset, and new ones refused, for 2 s.
    proxy.refuse(true);
    proxy.cut();
    await sleep(2000);
    proxy.refuse(false);
    await until(() => conn.state === "open", 5000, "reopen after the cut");
    await sleep(1000);

    // Blackhole: sockets stay open and carry nothing, for 2 s.
    const blackholedAt = Date.now();
    proxy.blackhole(true);
    const session = [...stack.server.sessions][0]!;
    await until(() => conn.state !== "open" && session.transport === null, 3000, "heartbeat detection on both sides");
    const serverDetectedAfter = Date.now() - blackholedAt;
    const detectedAfter = stack.states.find((s) => s.at >= blackholedAt && s.to === "reconnecting")!.at - blackholedAt;
    await sleep(Math.max(0, 2000 - (Date.now() - blackholedAt)));
    proxy.blackhole(false);
    await until(() => conn.state === "open", 5000, "reopen after the blackhole");
    await sleep(500);

    stack.stopTraffic();
    await until(
      () => stack.fromServer.length >= stack.pushed && stack.fromClient.length >= stack.sent && conn.bufferedMessages === 0,
      5000,
      "every message to arrive",
    );
    await sleep(200);

    expect(stack.sent).toBeGreaterThan(400);
    expect(stack.pushed).toBeGreaterThan(400);
    expect(verdict(stack.fromClient, stack.sent)).toBe("ok");
    expect(verdict(stack.fromServer, stack.pushed)).toBe("ok");
    expect(stack.fromClient).toHaveLength(stack.sent);
    expect(stack.fromServer).toHaveLength(stack.pushed);
    // Every reconnect resumed the one session.
    expect(stack.opens.length).toBeGreaterThanOrEqual(3);
    expect(stack.opens.slice(1).every((o) => o.resumed && !o.sessionLost)).toBe(true);
    expect(new Set(stack.opens.map((o) => o.transport))).toEqual(new Set([transport]));
    // Detected within interval + timeout, plus a small margin for timers and the event loop.
    expect(detectedAfter).toBeLessThanOrEqual(HEARTBEAT.interval + HEARTBEAT.timeout + DETECTION_MARGIN_MS);
    // The server let go of the dead link too (its session waits to be resumed).
    expect(serverDetectedAfter).toBeLessThanOrEqual(HEARTBEAT.interval + HEARTBEAT.timeout + DETECTION_MARGIN_MS);
    // Noticed by silence: the heartbeat, or (on HTTP) an upstream POST left unanswered as long.
    expect(stack.states.some((s) => s.to === "reconnecting" && /no data from the server|send got no answer/.test(s.reason))).toBe(true);
  });

  it("a server restart opens a new session with resumed: false, and says what it resent", async () => {
    const stack = await startStack(transport);
    const { conn } = stack;
    await until(() => conn.state === "open", 5000, "the first open");
    await sleep(300);
    stack.stopTraffic();
    await until(() => conn.bufferedMessages === 0, 2000, "acks");
    await stack.server.close();
    await until(() => conn.state !== "open", 3000, "the drop");
    conn.send("1001");
    conn.send("1002");
    const restarted = createServer({ heartbeat: HEARTBEAT });
    const received: string[] = [];
    restarted.on("connection", (session) => session.on("message", (data) => received.push(String(data))));
    await restarted.listen(stack.serverPort, "127.0.0.1");
    stack.server = restarted;
    await until(() => conn.state === "open", 5000, "reopen on the restarted server");
    const last = stack.opens.at(-1)!;
    expect(last.resumed).toBe(false);
    expect(last.sessionLost).toBe(true);
    expect(last.resent).toEqual(["1001", "1002"]);
    await until(() => received.length === 2, 2000, "the resent messages");
    expect(received).toEqual(["1001", "1002"]);
  });
});

describe.each(["streaming", "polling"] as const)("a link the heartbeat gave up over %s", (transport) => {
  it("leaves no request behind: its POST stuck on the dead path ends with it, not after close()", async () => {
    const server = createServer({ heartbeat: HEARTBEAT });
    cleanups.push(() => server.close());
    const received: string[] = [];
    server.on("connection", (session) => session.on("message", (data) => received.push(String(data))));
    const { url } = await server.listen(0, "127.0.0.1");
    const target = new URL(url);
    const proxy = await createFaultProxy({ target: { host: "127.0.0.1", port: Number(target.port) } });
    cleanups.push(() => proxy.close());
    // Every request the client makes, until its answer begins or it fails (a stuck one never does).
    const pending = new Set<{ readonly request: string; readonly bodyLength: number }>();
    let largePosts = 0;
    const tracked: typeof fetch = (input, init) => {
      const entry = { request: `${init?.method ?? "GET"} ${String(input).replace(/^.*\/lifeline/, "")}`, bodyLength: String(init?.body ?? "").length };
      if (entry.request.startsWith("POST /send") && entry.bodyLength > 40_000) largePosts++;
      pending.add(entry);
      // A TCP connection per request: one kept alive through the blackhole stays dead (the proxy
      // dropped its bytes), and the request that reused it would hang for its whole timeout.
      const response = fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), connection: "close" } });
      const settle = () => void pending.delete(entry);
      response.then(settle, settle);
      return response;
    };
    const conn = connect(`${proxy.url}${target.pathname}`, { transports: [transport], fetch: tracked, reconnect: { initialDelay: 100, maxDelay: 500 }, connectTimeout: 1000 });
    cleanups.push(() => conn.close());
    const states: string[] = [];
    conn.on("statechange", ({ to, reason }) => states.push(`${to}: ${reason}`));
    // The first pong: the welcome's ping has gone up, so nothing holds the next POST back.
    await until(() => conn.rtt !== null, 5000, "the first pong");

    // The path dies with a large message on its way up: its POST may wait 10 s for an answer.
    proxy.blackhole(true);
    const large = "x".repeat(40_000);
    conn.send(large);
    await until(() => largePosts === 1, 1000, "its POST");
    await until(() => conn.state === "reconnecting", 3000, "the heartbeat to give the link up");
    expect(states.at(-1)).toMatch(/no data from the server/);
    proxy.blackhole(false);
    await until(() => conn.state === "open" && conn.bufferedMessages === 0, 5000, "the resumed link to deliver it");
    expect(received).toEqual([large]);

    conn.close();
    // The close frame's POST is answered at once; a request of the dead link would still hang.
    await until(() => pending.size === 0, 1000, "every request to end").catch(() => {});
    expect([...pending]).toEqual([]);
  });
});

describe("a WebSocket link the heartbeat gave up, in Node with ws", () => {
  it("lets its socket go 10 s after the peer went silent, not after ws's 30 s wait for a close frame that never comes", { timeout: 30_000 }, async () => {
    const server = createServer({ heartbeat: HEARTBEAT });
    cleanups.push(() => server.close());
    const { url } = await server.listen(0, "127.0.0.1");
    const target = new URL(url);
    const proxy = await createFaultProxy({ target: { host: "127.0.0.1", port: Number(target.port) } });
    cleanups.push(() => proxy.close());
    // Every socket the client makes, to see when each is let go.
    const sockets: WebSocket[] = [];
    class TrackedWebSocket extends WebSocket {
      constructor(address: string) {
        super(address);
        sockets.push(this);
      }
    }
    const conn = connect(`${proxy.url}${target.pathname}`, { transports: ["websocket"], WebSocket: TrackedWebSocket, reconnect: false });
    cleanups.push(() => conn.close());
    await until(() => conn.state === "open", 5000, "the first open");
    proxy.blackhole(true);
    await until(() => conn.state === "closed", 3000, "the heartbeat to give the link up");
    const closedAt = Date.now();
    const dead = sockets[0]!;
    expect(dead.readyState).toBe(WebSocket.CLOSING);
    await until(() => dead.readyState === WebSocket.CLOSED, 25_000, "the dead socket to be let go");
    // ws alone lets it go after 30 s.
    expect(Date.now() - closedAt).toBeLessThan(20_000);
  });
});
