/**
 * Close codes, grouped by what a client does next. The numbers double as WebSocket close
 * codes, so one table serves every transport.
 *
 * - 1000: closed on purpose; do not reconnect.
 * - 1001, 1006, 1011, 4000–4099: the link or the server failed; reconnect and resume.
 * - 4100–4199: the request itself is wrong; reconnecting would fail the same way.
 */
export const CloseCode = {
  /** Either side closed on purpose. */
  NORMAL: 1000,
  /** The server is shutting down or restarting. */
  GOING_AWAY: 1001,
  /** The link dropped without a close frame (never sent on the wire). */
  ABNORMAL: 1006,
  /** The server hit an unexpected error. */
  SERVER_ERROR: 1011,
  /** Nothing arrived for pingInterval + pingTimeout. */
  HEARTBEAT_TIMEOUT: 4000,
  /** The session moved to a newer transport link; this one is stale. */
  TRANSPORT_REPLACED: 4001,
  /** An HTTP request named a session the server does not have (expired, restarted, forged). */
  SESSION_NOT_FOUND: 4004,
  /** A frame or request could not be parsed or broke the protocol's rules. */
  PROTOCOL_ERROR: 4100,
  /** The client speaks a protocol version the server does not. */
  UNSUPPORTED_VERSION: 4101,
  /** A message was larger than the peer's maxMessageBytes. */
  MESSAGE_TOO_LARGE: 4102,
  /** The request's Origin is not in the server's allow list. */
  ORIGIN_NOT_ALLOWED: 4103,
} as const;

export type CloseCodeName = keyof typeof CloseCode;
export type CloseCodeValue = (typeof CloseCode)[CloseCodeName];

/** True when a client should reconnect (and try to resume) after a close with this code. */
export function isRetryable(code: number): boolean {
  return code === 1001 || code === 1006 || code === 1011 || (code >= 4000 && code < 4100);
}

/** The name of a close code (`"MESSAGE_TOO_LARGE"` for 4102), or undefined for unknown codes. */
export function closeCodeName(code: number): CloseCodeName | undefined {
  for (const name in CloseCode) {
    if (CloseCode[name as CloseCodeName] === code) return name as CloseCodeName;
  }
  return undefined;
}

/** HTTP status the server answers with when it refuses a request for this reason. */
export const HttpStatusForClose: Readonly<Partial<Record<CloseCodeName, number>>> = {
  PROTOCOL_ERROR: 400,
  UNSUPPORTED_VERSION: 400,
  ORIGIN_NOT_ALLOWED: 403,
  SESSION_NOT_FOUND: 404,
  TRANSPORT_REPLACED: 409,
  MESSAGE_TOO_LARGE: 413,
  SERVER_ERROR: 500,
  GOING_AWAY: 503,
};
