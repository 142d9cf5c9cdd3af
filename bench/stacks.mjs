// What the benchmark compares: each entry is one stack on one transport. Servers and clients
// are built from these names in bench/server.mjs and bench/clients.mjs.

/** @typedef {"lifeline" | "socketio" | "ws"} Stack */

export const CONFIGS = [
  { id: "lifeline-websocket", stack: "lifeline", transport: "websocket", label: "Lifeline WS" },
  { id: "lifeline-streaming", stack: "lifeline", transport: "streaming", label: "Lifeline streaming" },
  { id: "lifeline-polling", stack: "lifeline", transport: "polling", label: "Lifeline polling" },
  { id: "socketio-websocket", stack: "socketio", transport: "websocket", label: "socket.io WS" },
  { id: "socketio-polling", stack: "socketio", transport: "polling", label: "socket.io polling" },
  { id: "ws", stack: "ws", transport: "websocket", label: "raw ws" },
];

/** Every application message is this 64-byte string, so no stack pays for larger frames. */
export const PAYLOAD = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";

/**
 * Control messages, sent in band as ordinary messages: the server answers `!burst N` with N
 * messages to that client and `!fanout N` with N messages to every client.
 */
export const BURST = "!burst ";
export const FANOUT = "!fanout ";

/** Messages sent per event-loop turn by a side that sends "as fast as it may". */
export const SLICE = 1_000;

/** Counts per workload; --quick shrinks them for a smoke run. */
export function counts(quick) {
  return quick
    ? { connect: 10, echo: 300, throughput: 5_000, fanoutClients: 20, fanoutMessages: 100, idleSessions: 100, hostileRuns: 1, hostileBoundMs: 15_000 }
    : { connect: 50, echo: 2_000, throughput: 50_000, fanoutClients: 100, fanoutMessages: 1_000, idleSessions: 1_000, hostileRuns: 3, hostileBoundMs: 20_000 };
}
