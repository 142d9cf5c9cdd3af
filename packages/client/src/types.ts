import type { ConnectionState } from "./connection/state.js";
import type { LifelineError } from "./errors.js";
import type { TransportName } from "./transports/transport.js";

export type { ConnectionState, TransportName };

/** A message as delivered: text stays a string, binary arrives as a Uint8Array. */
export type MessageData = string | Uint8Array;

export interface OpenEvent {
  readonly transport: TransportName;
  /** True when the previous session was resumed: nothing was lost in either direction. */
  readonly resumed: boolean;
  /**
   * True when there was a previous session and the server could not resume it (resume window
   * expired, server restarted): messages the server sent meanwhile may be missing.
   */
  readonly sessionLost: boolean;
  /**
   * Messages the server had not acknowledged in the lost session, sent again in the new one
   * (the server may have received some of them before); binary ones are copies. Empty unless
   * sessionLost.
   */
  readonly resent: readonly MessageData[];
}

export interface StateChangeEvent {
  readonly from: ConnectionState;
  readonly to: ConnectionState;
  /** Why, in words (e.g. "no data from the server for 25000 ms", "session resumed", "closed by client"). */
  readonly reason: string;
  /** The error behind the change, when there is one. */
  readonly error?: LifelineError;
}

export interface CloseEvent {
  /** Protocol close code: 1000 for a close on purpose, otherwise the code that ended it. */
  readonly code: number;
  readonly reason: string;
  /**
   * Messages given to send() that the server never acknowledged, in order: nothing is dropped
   * without the app being told. The server may have received some of them: after close() on an
   * open link, which sends everything queued ahead of its close frame, it most likely has them
   * all, unless the link was already dead; wait for `bufferedMessages` to reach 0 before close()
   * to know. Closed while connecting or reconnecting, retries exhausted, or ended by the server,
   * the last ones were most likely not received.
   */
  readonly unacknowledged: readonly MessageData[];
}

/** The transport in use changed: the first open, a fallback, or an upgrade to WebSocket. */
export interface TransportEvent {
  /** The transport used before, null for the first open. */
  readonly from: TransportName | null;
  readonly to: TransportName;
  /**
   * Why, in words: "connected", "reconnected", the failures that led here (e.g.
   * "websocket: WebSocket lost; streaming: no handshake in 10000 ms"), a demotion of the one
   * before ("websocket demoted for 59500 ms: …", the time its demotion has left), or "upgraded: …".
   */
  readonly reason: string;
}

export interface ConnectionEvents {
  open: OpenEvent;
  message: MessageData;
  statechange: StateChangeEvent;
  close: CloseEvent;
  error: LifelineError;
  transport: TransportEvent;
}

/** One logical connection to a Lifeline server, kept up across transports and reconnects. */
export interface Connection {
  /**
   * `connecting` until the first link opens; `reconnecting` from a lost link (or a failed first
   * attempt) until a link opens again, through the waits and the attempts alike; `closed` for good.
   */
  readonly state: ConnectionState;
  /** The transport in use while open, else null. */
  readonly transport: TransportName | null;
  /** The session id once open. */
  readonly id: string | null;
  /** Last measured round-trip time in ms (ping to pong, measured every ping interval), or null before the first sample. */
  readonly rtt: number | null;
  /** Messages sent but not yet acknowledged by the server (queued or in flight). */
  readonly bufferedMessages: number;
  /**
   * Sends a message. While not open it is queued and sent once open. Every message is kept until
   * the server acknowledges it, and resent after a reconnect.
   * @throws LifelineError INVALID_ARGUMENT (wrong type), MESSAGE_TOO_LARGE (over the server's
   * limit, or alone over `buffer.maxBytes`), BUFFER_FULL (wait for acks), CLOSED
   */
  send(data: string | Uint8Array | ArrayBuffer | ArrayBufferView): void;
  /**
   * Closes the connection for good, then ends every timer, request and listener. While open it
   * first sends what is queued and a close frame (over streaming and polling, the POSTs that
   * carry them up, one at a time, run on until the server answers each or its send timeout gives
   * it up); in any other state there is no link to send on. Either way the close event's
   * `unacknowledged` lists what the server had not acknowledged (`bufferedMessages` of them).
   */
  close(): void;
  /**
   * Adds a listener; returns the function that removes it. Each call is one registration: the
   * same function added twice is called twice, and each removal takes away one.
   * @throws LifelineError INVALID_ARGUMENT when `listener` is not a function.
   */
  on<K extends keyof ConnectionEvents>(event: K, listener: (payload: ConnectionEvents[K]) => void): () => void;
  /** Removes the latest registration of `listener` for `event`; does nothing when there is none. */
  off<K extends keyof ConnectionEvents>(event: K, listener: (payload: ConnectionEvents[K]) => void): void;
}
