/** Names of the transports, as `session.transport` reports them. */
export type TransportName = "websocket" | "streaming" | "polling";

/** A close code and its reason, as close frames and 'close' events carry them. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/**
 * What a session writes to: one transport connection (a WebSocket, a streamed response, a
 * series of polls). Keeps the session free of transport details. A link reports its own loss
 * to the session (session.detach) but never calls back while the session is calling it.
 */
export interface Link {
  readonly transport: TransportName;
  /**
   * Sends encoded frames, as one batch or, when they are many, in pieces (see pieceEnd).
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
 * Most bytes (UTF-8) a WebSocket message or a poll answer carries when a write is split. The
 * client sees a message or an answer only once all of it has arrived, and its heartbeat counts
 * only what it has seen: a burst or a resume's replay of many megabytes sent whole would outlast
 * pingInterval + pingTimeout on a slow link, cost the link, and be resent the same way on every
 * resume. A piece of 256 KiB takes about 2 s at 1 Mbit/s. One frame longer than this still
 * travels whole: frames are never cut.
 */
export const MAX_PIECE_BYTES = 256 * 1024;

/** Where the piece of `lines` that starts at `start` ends (exclusive): always at least one line. */
export function pieceEnd(lines: readonly string[], start: number, maxBytes = MAX_PIECE_BYTES): number {
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

/** Removes the first piece of `lines` and returns it. */
export function shiftPiece(lines: string[]): string[] {
  return lines.length ? lines.splice(0, pieceEnd(lines, 0)) : [];
}
