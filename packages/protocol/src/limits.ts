/** Defaults shared by client and server. Every one can be overridden by options. */

/** The server pings at least this often. */
export const DEFAULT_PING_INTERVAL_MS = 15_000;
/** Extra silence tolerated after a missed ping before the link is declared dead. */
export const DEFAULT_PING_TIMEOUT_MS = 10_000;
/** Largest single message payload, in bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** How long a session outlives its last transport link, waiting to be resumed. */
export const DEFAULT_RESUME_WINDOW_MS = 60_000;
/** Client send buffer (unacknowledged messages) caps. */
export const DEFAULT_BUFFER_MAX_MESSAGES = 100_000;
export const DEFAULT_BUFFER_MAX_BYTES = 64 * 1024 * 1024;
/** Largest HTTP request body the server reads: a batch of frames with base64 and JSON overhead. */
export function maxBodyBytes(maxMessageBytes: number): number {
  return Math.ceil(maxMessageBytes * 1.5) + 64 * 1024;
}

/** HTTP endpoint suffixes under the server's base path (e.g. `/lifeline/ws`). */
export const Endpoint = {
  websocket: "/ws",
  stream: "/stream",
  poll: "/poll",
  send: "/send",
} as const;
