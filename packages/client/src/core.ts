/**
 * The core entry: the connection without any transport. Pass the transports you need, so the
 * others stay out of your bundle. Several transports are tried in the order given (the next
 * one starts after `fallbackDelay`, or at once when one fails) on every connect and reconnect.
 * What the default entry adds on top is left out too: it does not remember the transport that
 * worked, demote one whose links keep dying, or upgrade to WebSocket in the background, so the
 * `rememberTransport`, `storage` and `upgrade` options have no effect here.
 *
 * @example
 * ```ts
 * import { connect } from "@lifeline/client/core";
 * import { webSocket } from "@lifeline/client/transports/websocket";
 * const conn = connect("https://example.com/lifeline", { transportFactories: [webSocket] });
 * ```
 */
export { connectCore as connect } from "./client.js";
export { LifelineError } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export type { ClientOptions, CoreOptions, ReconnectOptions, BufferOptions } from "./options.js";
export type { AppStateLike, NetInfoLike } from "./network.js";
export type { StorageLike } from "./transport-memory.js";
export type { Capabilities, WebSocketConstructor, WebSocketLike, XMLHttpRequestConstructor, XMLHttpRequestLike } from "./env.js";
export type { Transport, TransportFactory, TransportHandlers, TransportName, TransportOpenOptions, LinkClose } from "./transports/transport.js";
export type * from "./types.js";
