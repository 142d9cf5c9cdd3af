/** Stable codes of the errors the server throws. Branch on `code`, never on `message`. */
export type ServerErrorCode =
  /** createServer() got an option of the wrong type or range, or one it does not know. */
  | "INVALID_OPTION"
  /** A method got an argument of the wrong type or range. */
  | "INVALID_ARGUMENT"
  /** session.send() with a payload over maxMessageSize. */
  | "MESSAGE_TOO_LARGE"
  /** session.send() after the session closed. */
  | "SESSION_CLOSED"
  /** listen() or attach() after close(). */
  | "SERVER_CLOSED"
  /** listen() called a second time. */
  | "ALREADY_LISTENING"
  /** The port could not be bound (in use, no permission); `cause` holds the system error. */
  | "LISTEN_FAILED"
  /** createServer() in a browser bundle (the package's "browser" entry): the server needs Node. */
  | "UNSUPPORTED_ENVIRONMENT";

/** Every error @lifeline/server throws. */
export class LifelineServerError extends Error {
  override readonly name = "LifelineServerError";
  readonly code: ServerErrorCode;
  override readonly cause: unknown;

  constructor(code: ServerErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message);
    this.code = code;
    this.cause = options.cause;
  }
}
