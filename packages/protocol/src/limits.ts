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
/**
 * Largest batch (HTTP body or WebSocket message) the server reads. JSON can make a message six
 * times longer (a control character becomes `\u0000`), so a batch whose payloads, counted with
 * FRAME_OVERHEAD_BYTES each, stay within maxMessageBytes always fits, escapes included.
 */
export function maxBodyBytes(maxMessageBytes: number): number {
  return maxMessageBytes * 6 + 64 * 1024;
}

/**
 * How long an HTTP body of `length` characters (or bytes, never fewer) may take to go up: the
 * heartbeat's window plus 1 ms per 4, about 4 KB/s, so that a large message on a slow uplink is
 * not cut off (and then resent, forever). The reference client waits this long for a send's
 * answer, and the reference server for the body. Capped at setTimeout's limit, past which a
 * timer would fire at once.
 */
export function uploadAllowanceMs(heartbeatWindowMs: number, length: number): number {
  return Math.min(2 ** 31 - 1, Math.ceil(heartbeatWindowMs + length / 4));
}

/** What a sender counts for each frame in a batch on top of its payload: brackets, seq, quotes, newline. */
export const FRAME_OVERHEAD_BYTES = 32;

/**
 * Most lines the server reads in one batch. A decoded frame takes many times its bytes in memory,
 * so millions of tiny frames (`["p",1]` is 7 bytes) within the body limit are refused. A sender
 * keeping to FRAME_OVERHEAD_BYTES per message stays far below: a batch holds at most
 * maxMessageBytes / 32 messages (or one larger one), and the reference client's HTTP link merges
 * queued batches behind the first only while the body stays under maxMessageBytes / 2
 * characters, at least 8 per line. The 8192 are the 64 KiB that maxBodyBytes adds, at 8 per
 * line: a body within 64 KiB holding no blank lines (a frame takes at least 7 characters and its
 * newline) is never refused for its lines, whatever maxMessageBytes is.
 */
export function maxBatchLines(maxMessageBytes: number): number {
  return Math.floor(maxMessageBytes / 8) + 8192;
}

/** HTTP endpoint suffixes under the server's base path (e.g. `/lifeline/ws`). */
export const Endpoint = {
  websocket: "/ws",
  stream: "/stream",
  poll: "/poll",
  send: "/send",
} as const;
