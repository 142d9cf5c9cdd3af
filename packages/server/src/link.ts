import { CloseCode } from "@lifeline/protocol";

/** Names of the transports, as `session.transport` reports them. */
export type TransportName = "websocket" | "streaming" | "polling";

/** A close code and its reason, as close frames and 'close' events carry them. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/**
 * Whether a link ended with `close` has lost its client: it went on with a newer link (which
 * replays what it lacks) or went silent. Nobody will read what such a link could not send yet,
 * so it is dropped at once, memory and all, instead of waiting on a client that does not read.
 */
export const clientLeft = (close: CloseInfo | undefined): boolean =>
  close?.code === CloseCode.TRANSPORT_REPLACED || close?.code === CloseCode.HEARTBEAT_TIMEOUT;

/** A code a WebSocket close frame may carry (RFC 6455 §7.4: not 1004–1006, 1015 or 1016–2999). */
export function isWebSocketCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** The longest close reason a WebSocket close frame carries: 123 bytes of UTF-8. */
const MAX_CLOSE_REASON_BYTES = 123;

/** `reason` cut to what a WebSocket close frame carries, on a character boundary. */
export function closeFrameReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  const cut = [...reason.slice(0, MAX_CLOSE_REASON_BYTES)];
  while (Buffer.byteLength(cut.join("")) > MAX_CLOSE_REASON_BYTES) cut.pop();
  return cut.join("");
}

/**
 * What a session writes to: one transport connection (a WebSocket, a streamed response, a
 * series of polls). Keeps the session free of transport details. A link reports its own loss
 * to the session (session.detach) but never calls back while the session is calling it.
 */
export interface Link {
  readonly transport: TransportName;
  /**
   * Sends encoded frames, as one batch or, when they are many, in pieces (see pieceEnd,
   * WEBSOCKET_PIECE_BYTES and POLL_PIECE_BYTES).
   * Ignored once the link ended.
   */
  write(lines: readonly string[]): void;
  /**
   * Ends the link. While it still can, it first sends `lines` (frames still queued) and, with
   * `close`, a close frame, together as one batch. Idempotent, and it never reports the loss
   * to the session (the session asked for it).
   */
  end(close?: CloseInfo, lines?: readonly string[]): void;
}

/**
 * Most bytes (UTF-8) a WebSocket message carries when a write is split. The client sees a
 * message only once all of it has arrived, and its heartbeat counts only what it has seen: a
 * burst or a resume's replay of many megabytes sent whole would outlast pingInterval +
 * pingTimeout on a slow link, cost the link, and be resent the same way on every resume. A
 * piece costs a WebSocket frame header, so it can be small: 64 KiB arrive within the default
 * 25 s down to about 21 kbit/s. One frame longer than this still travels whole: frames are
 * never cut (long messages come in parts, which fit).
 */
export const WEBSOCKET_PIECE_BYTES = 64 * 1024;

/**
 * The same for a poll answer, which costs a round trip: larger, so that a backlog does not take
 * a poll per 64 KiB. The reference client reads an answer as it arrives where the platform lets
 * it; one that sees it only whole (or a proxy that buffers it) needs about 85 kbit/s for it to
 * arrive within the default 25 s.
 */
export const POLL_PIECE_BYTES = 256 * 1024;

/** Where the piece of `lines` that starts at `start` ends (exclusive): always at least one line. */
export function pieceEnd(lines: readonly string[], start: number, maxBytes: number): number {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: while three times the length fits, nothing
  // needs measuring (the common case: a few short frames).
  let end = start + 1;
  let bound = 3 * lines[start]!.length;
  while (end < lines.length && bound + 1 + 3 * lines[end]!.length <= maxBytes) bound += 1 + 3 * lines[end++]!.length;
  if (end === lines.length) return end;
  let bytes = end - start - 1;
  for (let i = start; i < end; i++) bytes += Buffer.byteLength(lines[i]!);
  for (let next = 0; end < lines.length && (next = Buffer.byteLength(lines[end]!)) + bytes + 1 <= maxBytes; end++) bytes += 1 + next;
  return end;
}

/** Removes the first piece of a poll answer from `lines` and returns it. */
export function shiftPiece(lines: string[]): string[] {
  return lines.length ? lines.splice(0, pieceEnd(lines, 0, POLL_PIECE_BYTES)) : [];
}
