/**
 * The core entry: the connection without any transport. Pass the transports you need, so the
 * others stay out of your bundle.
 *
 * @example
 * ```ts
 * import { connect } from "@lifeline/client/core";
 * import { webSocket } from "@lifeline/client/transports/websocket";
 * const conn = connect("https://example.com/lifeline", { transportFactories: [webSocket] });
 * ```
 */
export { connectWith as connect } from "./client.js";
export { LifelineError } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export type { ClientOptions, CoreOptions, ReconnectOptions, BufferOptions } from "./options.js";
export type { RetryPolicy, RetryContext } from "./reconnect.js";
export type { AppStateLike } from "./network.js";
export type { StorageLike } from "./transport-memory.js";
export type { Capabilities, WebSocketConstructor, XMLHttpRequestConstructor } from "./env.js";
export type { Transport, TransportFactory, TransportHandlers, TransportName, TransportOpenOptions, LinkClose } from "./transports/transport.js";
export type * from "./types.js";
