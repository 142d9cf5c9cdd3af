import type { LinkClose } from "./transports/transport.js";

/**
 * Stable error codes. Codes named after a protocol close code (see docs/protocol.md) mean the
 * server sent that code; the others are raised by the client itself.
 */
export type ErrorCode =
  /** A bad argument to connect(), send() or an option; thrown synchronously. */
  | "INVALID_ARGUMENT"
  /** send() after close(). */
  | "CLOSED"
  /** The send buffer is full (buffer.maxMessages / buffer.maxBytes). */
  | "BUFFER_FULL"
  /**
   * No allowed transport can run here, or every one failed to connect (unless each was refused
   * for good: then the error is named after the refusal).
   */
  | "TRANSPORT_UNAVAILABLE"
  /**
   * A transport failed (network error, refused connection, unexpected end), or the server closed
   * with a code none of the others names, such as one its app chose (`closeCode` has it).
   */
  | "TRANSPORT_ERROR"
  /**
   * A candidate took longer than `connectTimeout` to connect. Never an event's own code: it is
   * the `cause` of the TRANSPORT_UNAVAILABLE that ends the attempt (itself the `cause` of a
   * RECONNECT_FAILED once retries are used up).
   */
  | "TIMEOUT"
  /** Nothing arrived for pingInterval + pingTimeout: the link was dead. */
  | "HEARTBEAT_TIMEOUT"
  /** Reconnection gave up (reconnect.maxAttempts reached, or reconnect disabled). */
  | "RECONNECT_FAILED"
  | "PROTOCOL_ERROR"
  | "UNSUPPORTED_VERSION"
  | "MESSAGE_TOO_LARGE"
  | "ORIGIN_NOT_ALLOWED"
  | "SESSION_NOT_FOUND"
  /** The server closed the session, or is going away. */
  | "CLOSED_BY_SERVER";

/**
 * Calls the app's own code (a listener, the debug logger, a platform object's remover). What it
 * throws is rethrown outside this call stack: it must not leave the connection's bookkeeping half
 * done, and it must still reach the host's error reporting.
 */
export function callApp<T>(fn: (arg: T) => void, arg: T): void {
  try {
    fn(arg);
  } catch (error) {
    globalThis.setTimeout(() => {
      throw error;
    }, 0);
  }
}

/** Every error Lifeline raises or reports. Branch on `code`, not on `message`. */
export class LifelineError extends Error {
  override readonly name = "LifelineError";
  readonly code: ErrorCode;
  /** Protocol close code behind the error, when there is one. */
  readonly closeCode: number | undefined;
  override readonly cause: unknown;
  /** Messages the error is about, which were not sent (MESSAGE_TOO_LARGE after open). */
  readonly messages: readonly (string | Uint8Array)[] | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; closeCode?: number | undefined; messages?: readonly (string | Uint8Array)[] } = {}) {
    super(message);
    this.code = code;
    this.closeCode = options.closeCode;
    this.cause = options.cause;
    this.messages = options.messages;
  }
}

const CODE_NAMES: Record<number, ErrorCode> = {
  1000: "CLOSED_BY_SERVER",
  1001: "CLOSED_BY_SERVER",
  // WebSocket's own codes, from the WebSocket layer or something in between.
  1002: "PROTOCOL_ERROR",
  1007: "PROTOCOL_ERROR",
  1009: "MESSAGE_TOO_LARGE",
  1011: "CLOSED_BY_SERVER",
  4000: "HEARTBEAT_TIMEOUT",
  4004: "SESSION_NOT_FOUND",
  4100: "PROTOCOL_ERROR",
  4101: "UNSUPPORTED_VERSION",
  4102: "MESSAGE_TOO_LARGE",
  4103: "ORIGIN_NOT_ALLOWED",
};

/**
 * How a link ended, with the error that explains it: `errorCode`, else the one the protocol
 * close code names, else TRANSPORT_ERROR.
 */
export function linkClose(code: number, reason: string, errorCode?: ErrorCode, cause?: unknown): LinkClose {
  reason ||= `closed (${code})`;
  return { code, reason, error: new LifelineError(errorCode ?? CODE_NAMES[code] ?? "TRANSPORT_ERROR", reason, { closeCode: code, cause }) };
}

/** How a link ended by a close frame of the server's own (LinkClose.fromServer). */
export function serverClose({ code, reason }: { readonly code: number; readonly reason: string }): LinkClose {
  return { ...linkClose(code, reason), fromServer: true };
}
