// One stack's echo server in its own process (forked by bench/run.mjs with IPC and
// --expose-gc). Binds 127.0.0.1 on a free port, reports { type: "ready", url, port }, answers
// { type: "memory" } with its memory after a full GC, and exits on { type: "stop" }.
import { createServer as createHttpServer } from "node:http";
import { setImmediate as nextTurn } from "node:timers/promises";
import { BURST, FANOUT, PAYLOAD, SLICE } from "./stacks.mjs";

const stack = process.argv[2];

/** Sends `count` payloads through `send`, SLICE per event-loop turn, like a busy app would. */
async function sendMany(count, send) {
  for (let sent = 0; sent < count; ) {
    const end = Math.min(count, sent + SLICE);
    for (; sent < end; sent++) send();
    if (sent < count) await nextTurn();
  }
}

/** Echoes, or runs a control message; `reply` answers this client, `broadcast` every client. */
function handle(data, reply, broadcast) {
  if (typeof data === "string" && data.startsWith("!")) {
    if (data.startsWith(BURST)) return void sendMany(Number(data.slice(BURST.length)), () => reply(PAYLOAD));
    if (data.startsWith(FANOUT)) return void sendMany(Number(data.slice(FANOUT.length)), () => broadcast(PAYLOAD));
  }
  reply(data);
}

async function startLifeline() {
  const { createServer } = await import("../packages/server/dist/index.js");
  const server = createServer();
  const sessions = new Set();
  const broadcast = (data) => {
    for (const session of sessions) session.send(data);
  };
  server.on("connection", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    session.on("message", (data) => handle(data, (out) => session.send(out), broadcast));
  });
  const { url } = await server.listen(0, "127.0.0.1");
  return { url, port: Number(new URL(url).port), sessions: () => sessions.size, close: () => server.close() };
}

async function startSocketIo() {
  const { Server } = await import("socket.io");
  const http = createHttpServer();
  // Defaults otherwise: both transports, upgrades allowed, no compression.
  const io = new Server(http, { serveClient: false });
  const broadcast = (data) => io.emit("message", data);
  io.on("connection", (socket) => {
    socket.on("message", (data) => handle(data, (out) => socket.send(out), broadcast));
  });
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    sessions: () => io.engine.clientsCount,
    close: () => new Promise((resolve) => io.close(() => resolve())),
  };
}

async function startWs() {
  const { WebSocketServer } = await import("ws");
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => wss.once("listening", resolve));
  const broadcast = (data) => {
    for (const client of wss.clients) client.send(data);
  };
  wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => handle(isBinary ? data : data.toString(), (out) => ws.send(out), broadcast));
  });
  const { port } = wss.address();
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    sessions: () => wss.clients.size,
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

const starters = { lifeline: startLifeline, socketio: startSocketIo, ws: startWs };

async function memory() {
  // Several passes with turns in between, so weak references and finalizers settle.
  for (let i = 0; i < 4; i++) {
    globalThis.gc?.();
    await nextTurn();
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}

const server = await starters[stack]();
process.on("message", async (message) => {
  if (message.type === "memory") {
    const usage = await memory();
    if (process.connected) process.send({ type: "memory", sessions: server.sessions(), ...usage });
  }
  if (message.type === "stop") {
    await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    process.exit(0);
  }
});
// The orchestrator going away must not leave a server behind.
process.on("disconnect", () => process.exit(0));
process.send({ type: "ready", url: server.url, port: server.port });
