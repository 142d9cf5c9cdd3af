// Entry point of `npm run playground` (which installs and builds first). PORT and HOST pick
// where it listens; the default is http://127.0.0.1:8080/.
import { networkInterfaces } from "node:os";

// Who started us, read first: see `orphaned` below.
const parent = process.ppid;

let playground;
try {
  playground = await import("./server.mjs");
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND") throw error;
  console.error(`playground: ${error.message}\nBuild the packages first: npm run setup (or start with npm run playground).`);
  process.exit(1);
}
const { startPlayground, clientBuilt, clientBuildPath } = playground;

const portText = process.env.PORT || "8080";
const port = Number(portText);
if (!/^\d+$/.test(portText) || port > 65535) {
  console.error(`playground: PORT must be an integer from 0 to 65535, got "${portText}"`);
  process.exit(2);
}
const host = process.env.HOST || "127.0.0.1";

const time = () => new Date().toISOString().slice(11, 19);
let running;
try {
  running = await startPlayground({ port, host, log: (line) => console.log(`${time()} ${line}`) });
} catch (error) {
  console.error(`playground: could not listen on ${host}:${port}: ${error.message}${error.code === "EADDRINUSE" ? " (set PORT to use another port)" : ""}`);
  process.exit(1);
}

console.log(`Lifeline playground: ${running.url}`);
// Listening on every interface (HOST=0.0.0.0 or ::): the URL to open from a phone or another machine.
if (host === "0.0.0.0" || host === "::") {
  for (const address of Object.values(networkInterfaces()).flat()) {
    if (!address || address.internal || (host === "0.0.0.0" && address.family !== "IPv4")) continue;
    const name = address.family === "IPv6" ? `[${address.address}]` : address.address;
    if (!address.address.startsWith("fe80")) console.log(`  on this network: http://${name}:${new URL(running.url).port}/`);
  }
}
console.log(`Endpoint for connect(): ${running.endpoint}`);
if (!clientBuilt()) console.warn(`Warning: ${clientBuildPath} is missing; run "npm run build" so the page can load the client.`);

// `npm run playground` starts us through a shell, which passes no signal on: a SIGTERM to npm
// alone ends npm and the shell, and we would go on holding the port. Once the process that
// started us is gone (even while we were starting), we stop as on a signal.
const orphaned = setInterval(() => {
  if (process.ppid !== parent) stop();
}, 500);
orphaned.unref();

function stop() {
  clearInterval(orphaned);
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  void running.close().then(() => process.exit(0));
}
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
