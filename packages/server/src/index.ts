/**
 * @lifeline/server: the reference Lifeline server for Node. WebSocket, HTTP streaming and long
 * polling endpoints with sessions that survive lost links (docs/protocol.md).
 */
export { createServer } from "./server.js";
export type { LifelineServer, ServerEvents } from "./server.js";
export type { Session, SessionEvents } from "./session.js";
export type { ServerOptions, HeartbeatOptions, ReplayBufferOptions } from "./options.js";
export type { CloseInfo, TransportName } from "./link.js";
export type { Logger } from "./log.js";
export type { Clock } from "./clock.js";
export { LifelineServerError } from "./errors.js";
export type { ServerErrorCode } from "./errors.js";
