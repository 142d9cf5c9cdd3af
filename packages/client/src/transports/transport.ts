import type { ClientFrame, Frame } from "@lifeline/protocol";
import type { Clock } from "../clock.js";
import type { Capabilities } from "../env.js";
import type { LifelineError } from "../errors.js";

/** The three ways Lifeline can carry frames. */
export type TransportName = "websocket" | "streaming" | "polling";

/** How a transport link ended. */
export interface LinkClose {
  /** Protocol close code (docs/protocol.md); 1006 when the link just dropped. */
  readonly code: number;
  readonly reason: string;
  readonly error?: LifelineError;
  /** Set when retrying cannot help (nothing can run here), whatever the code says. */
  readonly final?: boolean;
  /**
   * Set when the transport ended a healthy link on purpose, to be replaced at once (a streamed
   * response grown too long to keep): reconnect without delay, and hold nothing against it.
   */
  readonly renew?: boolean;
  /**
   * Set when a close frame of the server's own said it: not an HTTP status or a socket's close
   * code, which something in between may have made up.
   */
  readonly fromServer?: boolean;
}

/** What a transport reports to its owner. */
export interface TransportHandlers {
  /**
   * Frames received, in order. The first batch of a link starts with the welcome frame; after it
   * a batch may be empty: bytes arrived that do not complete a frame yet, which is life too.
   */
  onFrames(frames: readonly Frame[]): void;
  /** The link ended; called exactly once unless close() was called first. */
  onClose(info: LinkClose): void;
  /**
   * The path answers, before any frame may have: the WebSocket upgrade completed, or a
   * response's first bytes arrived. The transport race uses it to tell a slow candidate from a
   * silent one; a transport that never calls it is taken for silent until its welcome.
   */
  onAlive?(): void;
  /**
   * A step towards the handshake that is not life yet: a WebSocket holding its hello opened, and
   * its pong and then its welcome are a round trip each away. The race gives the handshake its
   * timeout again from here, so a slow link gets it per round trip, not for all of them at once.
   */
  onProgress?(): void;
}

/** One link to the server. */
export interface Transport {
  readonly name: TransportName;
  /** Sends frames as one batch. Only called after the welcome arrived. */
  send(frames: readonly ClientFrame[]): void;
  /** Ends the link at once; no handler is called afterwards. Idempotent. */
  close(): void;
}

export interface TransportOpenOptions {
  /** The endpoint base URL (http: or https:), without query. */
  readonly url: string;
  /** Query string to keep on every request (without "?"), possibly empty. */
  readonly query: string;
  /** Sent to open or resume the session; every link starts with it (or with a ping, see holdHello). */
  readonly hello: ClientFrame;
  /**
   * The hello moves a live session (a resume, an upgrade probe): the link must first prove that
   * it carries frames both ways, with a ping the server answers (docs/protocol.md), and reports
   * life only then. WebSocket does; the HTTP transports, whose hello is their request, cannot.
   */
  readonly holdHello?: boolean | undefined;
  readonly caps: Capabilities;
  readonly handlers: TransportHandlers;
  /** For the transport's own timeouts (an upstream request that never answers, say). */
  readonly clock: Clock;
}

/**
 * Creates links of one kind. Rules every transport keeps (each transport's tests check them): no
 * handler call before open() returns; onClose exactly once, errors before the link is up
 * included; after close(), no handler call at all.
 */
export interface TransportFactory {
  readonly name: TransportName;
  /** Whether the transport can run with these capabilities; one that throws counts as false. */
  isSupported(caps: Capabilities): boolean;
  open(options: TransportOpenOptions): Transport;
}
