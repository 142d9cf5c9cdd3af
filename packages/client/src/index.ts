import { connectWith } from "./client.js";
import type { ClientOptions } from "./options.js";
import { httpStream } from "./transports/http-stream.js";
import { longPolling } from "./transports/long-polling.js";
import type { TransportFactory } from "./transports/transport.js";
import { webSocket } from "./transports/websocket.js";
import type { Connection } from "./types.js";

/**
 * Opens one connection to a Lifeline server that stays up: it picks WebSocket, HTTP streaming
 * or long polling (whichever works here, in that order unless `options.transports` says
 * otherwise), reconnects and resumes the session after drops, and never loses a message silently.
 *
 * @param url The server endpoint, e.g. `"https://example.com/lifeline"` (ws: and wss: work too).
 * @throws LifelineError with code INVALID_ARGUMENT for a bad URL or option.
 * @example
 * ```ts
 * import { connect } from "@lifeline/client";
 * const conn = connect("https://example.com/lifeline");
 * conn.on("open", ({ transport }) => console.log("connected over", transport));
 * conn.on("message", (data) => console.log("got", data));
 * conn.send("hello");
 * ```
 */
export function connect(url: string, options: ClientOptions = {}): Connection {
  const all: TransportFactory[] = [webSocket, httpStream, longPolling];
  return connectWith(url, options, all);
}

export { LifelineError } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export type { ClientOptions, ReconnectOptions, BufferOptions } from "./options.js";
export type { WebSocketConstructor, WebSocketLike, XMLHttpRequestConstructor, XMLHttpRequestLike } from "./env.js";
export type { AppStateLike, NetInfoLike } from "./network.js";
export type { StorageLike } from "./transport-memory.js";
export type * from "./types.js";
