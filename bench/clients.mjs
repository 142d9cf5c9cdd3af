// Client adapters: one shape for every stack, so the workloads in bench/workloads.mjs run
// unchanged against each. open(url, handlers) returns { send(text), close() } at once;
// messages sent before the link is up are queued (by the library, or here for raw ws).

import { WebSocket } from "ws";

/**
 * @typedef {{ onMessage(data: string): void, onFail?(why: string): void }} Handlers
 * @typedef {{ send(data: string): void, close(): void }} Client
 * @typedef {(url: string, handlers: Handlers) => Client} Open
 */

/** Lifeline's built client; `transport` null means default settings (every transport, in order). */
async function lifeline(transport) {
  const { connect } = await import("../packages/client/dist/index.js");
  return (url, { onMessage, onFail }) => {
    const options = transport ? { transports: [transport], WebSocket } : { WebSocket };
    const conn = connect(url, options);
    conn.on("message", onMessage);
    conn.on("close", ({ code, reason }) => code !== 1000 && onFail?.(`closed ${code} ${reason}`));
    // A reconnect in the middle of a measurement would distort it: report it instead.
    conn.on("statechange", ({ to, reason }) => to === "reconnecting" && onFail?.(`reconnecting: ${reason}`));
    return { send: (data) => conn.send(data), close: () => conn.close(), transport: () => conn.transport };
  };
}

async function socketIo(transport) {
  const { io } = await import("socket.io-client");
  return (url, { onMessage, onFail }) => {
    // forceNew: one Manager (one engine.io connection) per client, as separate browser tabs would have.
    const socket = io(url, transport ? { transports: [transport], forceNew: true } : { forceNew: true });
    socket.on("message", onMessage);
    socket.on("connect_error", (error) => onFail?.(`connect_error ${error.message}`));
    socket.on("disconnect", (reason) => reason !== "io client disconnect" && onFail?.(`disconnect ${reason}`));
    return { send: (data) => socket.send(data), close: () => socket.close(), transport: () => socket.io.engine?.transport?.name ?? null };
  };
}

async function rawWs() {
  return (url, { onMessage, onFail }) => {
    const ws = new WebSocket(url.replace(/^http/, "ws"));
    let queue = [];
    ws.on("open", () => {
      for (const data of queue) ws.send(data);
      queue = undefined;
    });
    ws.on("message", (data) => onMessage(data.toString()));
    ws.on("error", (error) => onFail?.(`error ${error.message}`));
    ws.on("close", (code) => queue !== undefined && onFail?.(`closed ${code} before open`));
    return {
      send: (data) => (queue ? queue.push(data) : ws.send(data)),
      close: () => (ws.readyState === WebSocket.CONNECTING ? ws.terminate() : ws.close()),
      transport: () => (ws.readyState === WebSocket.OPEN ? "websocket" : null),
    };
  };
}

/** @returns {Promise<Open>} */
export function clientFor(stack, transport) {
  if (stack === "lifeline") return lifeline(transport);
  if (stack === "socketio") return socketIo(transport);
  return rawWs();
}
