/**
 * The frames both sides exchange. One frame is one JSON array on the wire (see codec.ts);
 * in code it is one of these plain objects, told apart by `type`.
 */

/** Version of the wire protocol described in docs/protocol.md. */
export const PROTOCOL_VERSION = 1;

/** First frame of every transport link, client → server: start or resume a session. */
export interface HelloFrame {
  readonly type: "hello";
  readonly version: number;
  /** Session to resume; absent for a new session. */
  readonly sessionId?: string;
  /** Highest server→client message seq the client has received (0 when none). */
  readonly ack: number;
  /**
   * The client's attempt number, growing with each attempt to open a link; transports raced in
   * the same attempt share it. A resume whose attempt is not newer than the one that holds the
   * session is refused (4001), so a late candidate cannot take the session from the winner.
   */
  readonly attempt?: number;
  /**
   * Names one client connection across all its links and attempts (random, not a secret). When
   * several candidates of a race each start a new session, the server keeps the one the client
   * goes on with and ends the others, instead of holding them for the resume window.
   */
  readonly connectionId?: string;
  /**
   * The client joins message parts (MessagePartFrame): the server may then send a long message
   * in parts. Fixed for a session by the hello that started it.
   */
  readonly parts?: boolean;
  /**
   * A second link the client opens beside a working one (the background upgrade probe): it
   * resumes the session or nothing. The server refuses it (4001) rather than end the session or
   * start a new one when it cannot resume.
   */
  readonly probe?: boolean;
}

/** Server's answer to `hello`: the session and the limits the client must respect. */
export interface WelcomeFrame {
  readonly type: "welcome";
  readonly version: number;
  readonly sessionId: string;
  /** True when `hello.sessionId` named a live session and it was resumed. */
  readonly resumed: boolean;
  /** Highest client→server message seq the server has received (0 for a new session). */
  readonly ack: number;
  /** The server sends a ping at least this often (ms). */
  readonly pingIntervalMs: number;
  /** A link that carries nothing for pingIntervalMs + pingTimeoutMs is dead (ms). */
  readonly pingTimeoutMs: number;
  /** Largest message payload the server accepts, in bytes (UTF-8 for text). */
  readonly maxMessageBytes: number;
  /** How long the server keeps a session without a transport before discarding it (ms). */
  readonly resumeWindowMs: number;
  /**
   * The server answers a WebSocket's lone ping sent before its hello (docs/protocol.md, "Ping
   * before hello"), so a hello that would move this session may wait until one came back.
   */
  readonly pingFirst?: boolean;
}

/**
 * Where a message sits in a channel's history. Reserved for channels (subscribe/publish):
 * a session can resume on another server node from these cursors. Receivers that know
 * nothing of channels ignore it.
 */
export interface ChannelPosition {
  readonly channel: string;
  readonly epoch: string;
  readonly offset: number;
}

/** An application message. `seq` counts per direction and per session, from 1. */
export interface MessageFrame {
  readonly type: "message";
  readonly seq: number;
  readonly data: string | Uint8Array;
  readonly position?: ChannelPosition;
}

/**
 * One part of a server message too long to come down as one frame, sent only to a client whose
 * hello asked for parts. A message sent in parts is nothing but its parts, in order, each with a
 * piece of the message's payload as it travels: the text, or the base64 of binary data. `offset`
 * says where the piece starts in that payload and `total` how long all of it is, in characters
 * (UTF-16 units), so a receiver notices a part lost on the way. The part that reaches `total`
 * completes message `seq`, which then counts as any message for delivery and acks. A client
 * acknowledges parts with an ack of the last whole message it has, so the server hears from it
 * while the message comes down; an ack never names a part.
 */
export interface MessagePartFrame {
  readonly type: "part";
  readonly seq: number;
  readonly offset: number;
  readonly total: number;
  /** The message is binary and `payload` a piece of its base64. */
  readonly binary: boolean;
  readonly payload: string;
}

/** Cumulative acknowledgement: every message with seq ≤ `seq` has been received. */
export interface AckFrame {
  readonly type: "ack";
  readonly seq: number;
}

/** Liveness probe; the peer answers with a pong carrying the same id. */
export interface PingFrame {
  readonly type: "ping";
  readonly id: number;
}

export interface PongFrame {
  readonly type: "pong";
  readonly id: number;
}

/** Ends the session (or, in an HTTP error body, explains why a request was refused). */
export interface CloseFrame {
  readonly type: "close";
  readonly code: number;
  readonly reason: string;
}

export type Frame =
  | HelloFrame
  | WelcomeFrame
  | MessageFrame
  | MessagePartFrame
  | AckFrame
  | PingFrame
  | PongFrame
  | CloseFrame;

export type FrameType = Frame["type"];
