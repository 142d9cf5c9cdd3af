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
  /** Sends encoded frames as one batch. Ignored once the link ended. */
  write(lines: readonly string[]): void;
  /**
   * Ends the link. While it still can, it first sends `lines` (frames still queued) and, with
   * `close`, a close frame, together as one batch. Idempotent, and it never reports the loss
   * to the session (the session asked for it).
   */
  end(close?: CloseInfo, lines?: readonly string[]): void;
}
