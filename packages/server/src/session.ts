import { CloseCode, MESSAGE_PART_CHARS, PROTOCOL_VERSION, encodeFrame, encodeMessageBatch, payloadBytes } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import type { TimerId } from "./clock.js";
import type { Emitter } from "./emitter.js";
import { createEmitter } from "./emitter.js";
import { LifelineServerError } from "./errors.js";
import type { Heartbeats, Watched } from "./heartbeat.js";
import { createHeartbeats } from "./heartbeat.js";
import { isWebSocketCloseCode } from "./link.js";
import type { CloseInfo, Link, TransportName } from "./link.js";
import type { ResolvedOptions } from "./options.js";
import type { ReplayBuffer } from "./replay-buffer.js";
import { createReplayBuffer } from "./replay-buffer.js";

/** Events of a session. */
export interface SessionEvents {
  /** An application message from the client, in order and exactly once. */
  message: string | Uint8Array;
  /** The session ended: closed by either side, resume window expired, or server closed. Once. */
  close: CloseInfo;
}

/**
 * One client's session. It outlives transport links: when a link drops, messages sent
 * meanwhile are kept and delivered once the client resumes within the resume window.
 */
export interface Session {
  readonly id: string;
  /** The transport of the current link; null while the session waits to be resumed. */
  readonly transport: TransportName | null;
  /**
   * Queues a message. It is numbered and kept until the client acknowledges it, so it survives
   * a lost link. Messages sent in the same tick go out together.
   * @throws LifelineServerError `MESSAGE_TOO_LARGE` over maxMessageSize, `SESSION_CLOSED` after close,
   *   `INVALID_ARGUMENT` for data that is neither a string nor bytes.
   */
  send(data: string | Uint8Array): void;
  /**
   * Sends a close frame (after anything still queued), ends the link and removes the session.
   * Without a link, a code that ends the client (not 1001, 1011, 4000–4099) is kept for the
   * resume window: a client coming back to resume is told it then.
   */
  close(code?: number, reason?: string): void;
  on<K extends keyof SessionEvents>(event: K, listener: (payload: SessionEvents[K]) => void): () => void;
  off<K extends keyof SessionEvents>(event: K, listener: (payload: SessionEvents[K]) => void): void;
}

/** How a link is dropped when its client stops reading (see ResolvedOptions.maxUnsentBytes). */
export const NOT_READING: CloseInfo = { code: CloseCode.HEARTBEAT_TIMEOUT, reason: "client is not reading; too much data waiting" };

/** Why a frame or request was refused; the session has already closed with this code. */
export type Refusal = CloseInfo;

/** The server's side of a session: what transports and the registry use. */
export interface SessionCore {
  readonly id: string;
  readonly api: Session;
  readonly link: Link | null;
  readonly closed: boolean;
  /** The client's attempt number (hello.attempt) that holds the session; undefined when it sent none. */
  attempt: number | undefined;
  /** The client connection that started it (hello.cid); undefined when it sent none. */
  connectionId: string | undefined;
  /** The client joins message parts (hello.pt of the hello that started the session): long messages go in parts. */
  parts: boolean;
  /**
   * True once the client sent anything after its hello: it took the welcome and went on with
   * this session. Until then the session may be a candidate of a race the client dropped.
   */
  readonly confirmed: boolean;
  /** Whether a hello with this ack can resume: "ahead" is a protocol error, "lost" means a new session. */
  resumable(helloAck: number): "ok" | "ahead" | "lost";
  /**
   * Bytes its link may hold unsent before the client counts as not reading (NOT_READING):
   * ResolvedOptions.maxUnsentBytes, plus what the link's replay wrote at once while the client
   * has not acknowledged it, so that a resume's replay of escape-heavy text (up to 6 bytes a
   * payload byte) never trips it.
   */
  readonly maxUnsentBytes: number;
  /** Moves the session to `link` (ending the previous one with 4001) and sends welcome (+ replay). */
  attach(link: Link, resumed: boolean, helloAck: number): void;
  /**
   * `link` was lost; the session waits resumeWindow for a hello (a tracked session the client never
   * answered, one heartbeat window at most). Ignored for a stale link.
   */
  detach(link: Link, info: CloseInfo): void;
  /** A `message` listener was added: from now on an unheard message is the app's choice, not reported. */
  listened(): void;
  /** Handles frames from the client. Frames from a link that is no longer current are ignored. */
  receive(frames: readonly Frame[], from?: Link): Refusal | undefined;
  /**
   * Whether receive(frames) would refuse them, without side effects: undefined means it would
   * accept every frame (as long as nothing happens to the session in between).
   */
  check(frames: readonly Frame[]): Refusal | undefined;
  /** The client showed signs of life (a poll). */
  touch(): void;
  /**
   * Part of a batch from the client arrived (of a request body, of a WebSocket message), ahead of
   * receive(): life too, and while the batch takes long, the heartbeat pings more often.
   */
  receiving(): void;
  /** Ends the session: close frame to the link if `notify`, 'close' event, removal. Idempotent. */
  close(info: CloseInfo, notify?: boolean): void;
}

export interface SessionDeps {
  readonly id: string;
  readonly options: ResolvedOptions;
  /** Runs `flush` soon, once per tick for all sessions, so a burst leaves as one batch. */
  readonly schedule: (flush: () => void) => void;
  /**
   * The session ended; forget it. `byApp`: how session.close() ended it, which a client that was
   * away when it did has still to hear.
   */
  readonly onClosed: (core: SessionCore, byApp?: CloseInfo) => void;
  /** The client sent its first frame after the hello (see SessionCore.confirmed). */
  readonly onConfirmed?: (core: SessionCore) => void;
  /**
   * A message of the client's found no `message` listener, and was dropped (acknowledged, as any
   * delivered one), in a session that never had one: called for the first such message only.
   */
  readonly onUnheard?: (core: SessionCore) => void;
  /** The server's heartbeat, shared by every session; a session of its own when absent. */
  readonly heartbeats?: Heartbeats;
}

const ackLine = (seq: number) => encodeFrame({ type: "ack", seq });

/** A buffer transferred away (postMessage, structuredClone) reads as empty: slice() alone tells. */
function isDetached(buffer: ArrayBufferLike): boolean {
  try {
    buffer.slice(0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * The payload's size when it is over `max`, else 0. A UTF-16 code unit is at most 3 bytes of
 * UTF-8, so most strings are cleared by their length without counting their bytes.
 */
function oversize(data: string | Uint8Array, max: number): number {
  if (typeof data !== "string") return data.byteLength > max ? data.byteLength : 0;
  if (data.length * 3 <= max) return 0;
  const bytes = payloadBytes(data);
  return bytes > max ? bytes : 0;
}

/**
 * The codes an application may close a session with, and a client may send in its close frame
 * (the app's close event sees no other): those a WebSocket close frame can carry, so
 * every transport delivers the same code, except 4001, with which the server tells a link that
 * another one took the session over (its queue is dropped as stale, and the client takes it as such).
 */
function validCloseCode(code: unknown): code is number {
  return typeof code === "number" && Number.isInteger(code) && isWebSocketCloseCode(code) && code !== CloseCode.TRANSPORT_REPLACED;
}

/**
 * The application's handle on a session: only the public API, delegating to the core. Sessions
 * are classes rather than closures because a server holds thousands of them, mostly idle: the
 * methods live once on the prototype, and a session costs its fields only.
 */
class SessionHandle implements Session {
  constructor(private readonly core: ServerSession) {}

  get id(): string {
    return this.core.id;
  }

  get transport(): TransportName | null {
    const link = this.core.link;
    return link ? link.transport : null;
  }

  send(data: string | Uint8Array): void {
    this.core.send(data);
  }

  close(code: number = CloseCode.NORMAL, reason = ""): void {
    if (!validCloseCode(code)) throw new LifelineServerError("INVALID_ARGUMENT", `close code must be 1000–1003, 1007–1014 or 3000–4999 but 4001, got ${String(code)}`);
    if (typeof reason !== "string") throw new LifelineServerError("INVALID_ARGUMENT", "close reason must be a string");
    this.core.close({ code, reason }, true, true);
  }

  on<K extends keyof SessionEvents>(event: K, listener: (payload: SessionEvents[K]) => void): () => void {
    // A misspelt name from JavaScript would otherwise wait for an event that never comes.
    if (event !== "message" && event !== "close") throw new LifelineServerError("INVALID_ARGUMENT", `unknown session event "${String(event)}" (known: message, close)`);
    // An app that listened and then stopped meant to: only a session never listened to is reported.
    if (event === "message") this.core.listened();
    return this.core.events.on(event, listener);
  }

  off<K extends keyof SessionEvents>(event: K, listener: (payload: SessionEvents[K]) => void): void {
    this.core.events.off(event, listener);
  }
}

class ServerSession implements SessionCore, Watched {
  readonly api: Session = new SessionHandle(this);
  readonly events: Emitter<SessionEvents> = createEmitter<SessionEvents>();
  readonly sent: ReplayBuffer;
  link: Link | null = null;
  closed = false;
  attempt: number | undefined = undefined;
  connectionId: string | undefined = undefined;
  parts = false;
  confirmed = false;
  lastActivityMs = 0;
  batchSinceMs: number | undefined = undefined;
  nextPingAtMs = 0;
  private resumeTimer: TimerId | undefined = undefined;
  // Outgoing frames for the current link not written yet (made on the first one), and whether
  // an ack is owed.
  private pending: string[] | undefined = undefined;
  private ackOwed = false;
  private flushScheduled = false;
  private lastDelivered = 0;
  private pingId = 0;
  // Encoded length of the replay the current link started with, and sent.ackedChars then.
  private replayedChars = 0;
  private ackedCharsAtAttach = 0;
  private readonly options: ResolvedOptions;
  private readonly schedule: (flush: () => void) => void;
  private readonly onClosed: (core: SessionCore, byApp?: CloseInfo) => void;
  private readonly onConfirmed: ((core: SessionCore) => void) | undefined;
  // Let go once called: it reports the first unheard message only.
  private onUnheard: ((core: SessionCore) => void) | undefined;
  private readonly heartbeats: Heartbeats;

  constructor(
    readonly id: string,
    deps: SessionDeps,
  ) {
    this.options = deps.options;
    this.schedule = deps.schedule;
    this.onClosed = deps.onClosed;
    this.onConfirmed = deps.onConfirmed;
    this.onUnheard = deps.onUnheard;
    this.heartbeats = deps.heartbeats ?? createHeartbeats({ clock: deps.options.clock, intervalMs: deps.options.pingIntervalMs, timeoutMs: deps.options.pingTimeoutMs });
    this.sent = createReplayBuffer(deps.options.replayMaxMessages, deps.options.replayMaxBytes);
  }

  get maxUnsentBytes(): number {
    // A replay's UTF-8 is at most its chars plus its payload bytes (only unescaped non-ASCII
    // takes more than one byte a char), and options.maxUnsentBytes is twice the most payload
    // bytes: room for the replay and as much again. The allowance shrinks only as the client
    // acknowledges (the replay goes first), not when sends evict replayed entries still on
    // their way; a link that replayed nothing (a client that never read) has none.
    return this.options.maxUnsentBytes + Math.max(0, this.replayedChars - (this.sent.ackedChars - this.ackedCharsAtAttach));
  }

  private queue(line: string): void {
    (this.pending ??= []).push(line);
  }

  /**
   * Adds the lines of one replay buffer entry to `lines`. A message sent in parts is kept as one
   * entry, its frames joined by "\n" (JSON never holds a raw newline); the link needs them apart,
   * so that it can cut its pieces between them. Only an entry longer than a part can hold several.
   */
  private pushLines(entry: string, lines: string[]): void {
    if (this.parts && entry.length > MESSAGE_PART_CHARS) lines.push(...entry.split("\n"));
    else lines.push(entry);
  }

  private takePending(): string[] {
    const lines = this.pending ?? [];
    this.pending = undefined;
    return lines;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.link || this.closed) return;
    if (this.ackOwed) {
      this.queue(ackLine(this.lastDelivered));
      this.ackOwed = false;
    }
    if (this.pending) this.link.write(this.takePending());
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || !this.link) return;
    this.flushScheduled = true;
    this.schedule(() => this.flush());
  }

  /** Forgets the current link and its link-scoped state; returns it. */
  private release(): Link | null {
    const previous = this.link;
    this.link = null;
    this.heartbeats.unwatch(this);
    return previous;
  }

  send(data: string | Uint8Array): void {
    if (this.closed) throw new LifelineServerError("SESSION_CLOSED", `session ${this.id} is closed`);
    // Not instanceof: a Uint8Array made in another realm (a vm context) has another constructor.
    if (typeof data !== "string" && Object.prototype.toString.call(data) !== "[object Uint8Array]") {
      throw new LifelineServerError("INVALID_ARGUMENT", "send() takes a string or a Uint8Array");
    }
    if (typeof data !== "string" && !data.byteLength && isDetached(data.buffer)) {
      throw new LifelineServerError("INVALID_ARGUMENT", "send() got a Uint8Array whose buffer was transferred away (detached)");
    }
    const { maxMessageBytes } = this.options;
    const bytes = payloadBytes(data);
    if (bytes > maxMessageBytes) {
      throw new LifelineServerError("MESSAGE_TOO_LARGE", `message of ${bytes} bytes is over maxMessageSize (${maxMessageBytes})`);
    }
    // Encoded now: the replay buffer keeps the wire form, and bytes the caller changes
    // after send() returns do not change what was sent.
    const line = encodeMessageBatch(this.sent.lastSeq + 1, data, this.parts ? MESSAGE_PART_CHARS : undefined);
    this.sent.push(line, bytes);
    if (this.link) {
      this.pushLines(line, (this.pending ??= []));
      this.scheduleFlush();
    }
  }

  /** `byApp`: session.close() asked for it (see SessionDeps.onClosed). */
  close(info: CloseInfo, notify = true, byApp = false): void {
    if (this.closed) return;
    this.closed = true;
    this.stopResumeTimer();
    const previous = this.release();
    if (previous) {
      // What was queued before close() still goes out, ahead of the close frame.
      if (notify && this.ackOwed) this.queue(ackLine(this.lastDelivered));
      if (notify) previous.end(info, this.takePending());
      else previous.end();
    }
    this.pending = undefined;
    this.onClosed(this, byApp ? info : undefined);
    this.events.emit("close", { code: info.code, reason: info.reason });
    this.events.clear();
  }

  ping(): void {
    this.queue(encodeFrame({ type: "ping", id: ++this.pingId }));
    this.scheduleFlush();
  }

  expire(): void {
    const info = { code: CloseCode.HEARTBEAT_TIMEOUT, reason: "heartbeat timeout" };
    const previous = this.release();
    previous?.end(info);
    if (previous) this.detached(info);
  }

  private stopResumeTimer(): void {
    if (this.resumeTimer !== undefined) this.options.clock.clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
  }

  private detached(info: CloseInfo): void {
    this.pending = undefined;
    this.ackOwed = false;
    const reason = `resume window expired after the link ended (${info.reason || info.code})`;
    const { resumeWindowMs, pingIntervalMs, pingTimeoutMs } = this.options;
    // A tracked client answers its welcome at once (protocol.md, Race candidates). A session it
    // never answered was most likely dropped before its welcome came (a close() while
    // connecting, a race candidate whose link died), so it waits one heartbeat window at most:
    // long enough for a client whose answer was lost with the link to come back.
    const windowMs = this.confirmed || this.connectionId === undefined ? resumeWindowMs : Math.min(resumeWindowMs, pingIntervalMs + pingTimeoutMs);
    if (windowMs === 0) return this.close({ code: info.code, reason }, false);
    this.resumeTimer = this.options.clock.setTimeout(() => {
      this.resumeTimer = undefined;
      this.close({ code: info.code, reason }, false);
    }, windowMs);
  }

  private refuse(code: number, reason: string): Refusal {
    this.close({ code, reason });
    return { code, reason };
  }

  /** Why `frame` may not arrive in an open session, or undefined. Shared by receive and check. */
  private violation(frame: Frame): Refusal | undefined {
    switch (frame.type) {
      case "message": {
        const max = this.options.maxMessageBytes;
        const bytes = oversize(frame.data, max);
        return bytes ? { code: CloseCode.MESSAGE_TOO_LARGE, reason: `message of ${bytes} bytes is over maxMessageBytes (${max})` } : undefined;
      }
      case "ack":
        return frame.seq > this.sent.lastSeq ? { code: CloseCode.PROTOCOL_ERROR, reason: `ack ${frame.seq} is ahead of the last message sent (${this.sent.lastSeq})` } : undefined;
      case "hello":
      case "welcome":
        return { code: CloseCode.PROTOCOL_ERROR, reason: `unexpected ${frame.type} frame in an open session` };
      case "part":
        return { code: CloseCode.PROTOCOL_ERROR, reason: "message parts go from the server to the client only" };
      case "close":
        // The app's close event sees only codes session.close() itself could send.
        return validCloseCode(frame.code) ? undefined : { code: CloseCode.PROTOCOL_ERROR, reason: `close code ${frame.code} is not one a client may send` };
      default:
        return undefined;
    }
  }

  resumable(helloAck: number): "ok" | "ahead" | "lost" {
    if (this.closed) return "lost";
    if (helloAck > this.sent.lastSeq) return "ahead";
    return this.sent.after(helloAck) ? "ok" : "lost";
  }

  attach(next: Link, resumed: boolean, helloAck: number): void {
    if (this.closed) return next.end({ code: CloseCode.SERVER_ERROR, reason: "session closed" });
    const { options } = this;
    this.stopResumeTimer();
    this.release()?.end({ code: CloseCode.TRANSPORT_REPLACED, reason: "transport replaced by a newer link" });
    // Frames queued for the old link are link-scoped (acks, pongs, pings) or messages that
    // the replay below resends, so they are dropped; welcome carries the ack.
    this.pending = undefined;
    this.ackOwed = false;
    if (resumed) this.sent.ack(helloAck);
    const welcome = encodeFrame({
      type: "welcome",
      version: PROTOCOL_VERSION,
      sessionId: this.id,
      resumed,
      ack: this.lastDelivered,
      pingIntervalMs: options.pingIntervalMs,
      pingTimeoutMs: options.pingTimeoutMs,
      maxMessageBytes: options.maxMessageBytes,
      resumeWindowMs: options.resumeWindowMs,
      pingFirst: true,
    });
    this.link = next;
    this.heartbeats.watch(this);
    const replay: string[] = [];
    this.replayedChars = 0;
    this.ackedCharsAtAttach = this.sent.ackedChars;
    if (resumed) {
      for (const entry of this.sent.after(helloAck) ?? []) {
        this.pushLines(entry, replay);
        this.replayedChars += entry.length;
      }
    }
    // A WebSocket message arrives whole or not at all: the welcome goes alone, so that a client
    // on a slow link has it, and its race decided, before a replay that could take longer than
    // its connect timeout. A stream's lines arrive one by one anyway; a poll answer holds both.
    if (next.transport === "websocket" && replay.length) next.write([welcome]);
    else replay.unshift(welcome);
    next.write(replay);
  }

  detach(from: Link, info: CloseInfo): void {
    if (this.closed || from !== this.link) return;
    this.release();
    this.detached(info);
  }

  receive(frames: readonly Frame[], from?: Link): Refusal | undefined {
    if (this.closed || (from && from !== this.link)) return undefined;
    if (!this.confirmed && frames.length) {
      this.confirmed = true;
      this.onConfirmed?.(this);
    }
    if (this.link) this.lastActivityMs = this.options.clock.now();
    this.batchSinceMs = undefined;
    // One pong per batch, for its last ping (the probe its sender waits for): a pong for each
    // ping would queue as many frames as the batch carried. It goes where the first ping sits,
    // ahead of what the app sends while the batch is read, so it measures the round trip alone.
    let pingId: number | undefined;
    for (const frame of frames) if (frame.type === "ping") pingId = frame.id;
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      const refused = this.violation(frame);
      if (refused) return this.refuse(refused.code, refused.reason);
      switch (frame.type) {
        case "message": {
          // Only the next seq is delivered: lower ones are duplicates of resent messages,
          // higher ones arrived out of order and come again on resume (never acknowledged).
          if (frame.seq !== this.lastDelivered + 1) break;
          this.lastDelivered = frame.seq;
          this.ackOwed = true;
          if (this.onUnheard && !this.events.has("message")) {
            const report = this.onUnheard;
            this.onUnheard = undefined;
            report(this);
          }
          this.events.emit("message", frame.data);
          if (this.closed) return undefined;
          break;
        }
        case "ack":
          this.sent.ack(frame.seq);
          break;
        case "ping":
          // A pong belongs to the link; with none (an HTTP send while detached) it has nowhere to go.
          if (pingId !== undefined && this.link) this.queue(encodeFrame({ type: "pong", id: pingId }));
          pingId = undefined;
          break;
        case "pong":
          break;
        case "close":
          this.close({ code: frame.code, reason: frame.reason }, false);
          return undefined;
        default:
          // hello and welcome were refused above.
          break;
      }
    }
    if (this.ackOwed || this.pending) this.scheduleFlush();
    return undefined;
  }

  listened(): void {
    this.onUnheard = undefined;
  }

  check(frames: readonly Frame[]): Refusal | undefined {
    if (this.closed) return undefined;
    for (const frame of frames) {
      const refused = this.violation(frame);
      if (refused) return refused;
      // receive() reads nothing after a close frame.
      if (frame.type === "close") return undefined;
    }
    return undefined;
  }

  touch(): void {
    if (this.link) this.lastActivityMs = this.options.clock.now();
  }

  receiving(): void {
    if (!this.link) return;
    this.lastActivityMs = this.options.clock.now();
    if (this.batchSinceMs !== undefined) return;
    this.batchSinceMs = this.lastActivityMs;
    this.heartbeats.uploading(this);
  }
}

export function createSession(deps: SessionDeps): SessionCore {
  return new ServerSession(deps.id, deps);
}
