import { CloseCode, PROTOCOL_VERSION, encodeFrame, payloadBytes } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import type { TimerId } from "./clock.js";
import { createEmitter } from "./emitter.js";
import { LifelineServerError } from "./errors.js";
import type { Heartbeat } from "./heartbeat.js";
import { startHeartbeat } from "./heartbeat.js";
import type { CloseInfo, Link, TransportName } from "./link.js";
import type { ResolvedOptions } from "./options.js";
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
  /** Sends a close frame (after anything still queued), ends the link and removes the session. */
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
  /** Whether a hello with this ack can resume: "ahead" is a protocol error, "lost" means a new session. */
  resumable(helloAck: number): "ok" | "ahead" | "lost";
  /** Moves the session to `link` (ending the previous one with 4001) and sends welcome (+ replay). */
  attach(link: Link, resumed: boolean, helloAck: number): void;
  /** `link` was lost; the session waits resumeWindow for a hello. Ignored for a stale link. */
  detach(link: Link, info: CloseInfo): void;
  /** Handles frames from the client. Frames from a link that is no longer current are ignored. */
  receive(frames: readonly Frame[], from?: Link): Refusal | undefined;
  /**
   * Whether receive(frames) would refuse them, without side effects: undefined means it would
   * accept every frame (as long as nothing happens to the session in between).
   */
  check(frames: readonly Frame[]): Refusal | undefined;
  /** The client showed signs of life (a poll, a request). */
  touch(): void;
  /** Ends the session: close frame to the link if `notify`, 'close' event, removal. Idempotent. */
  close(info: CloseInfo, notify?: boolean): void;
}

export interface SessionDeps {
  readonly id: string;
  readonly options: ResolvedOptions;
  /** Runs `flush` soon, once per tick for all sessions, so a burst leaves as one batch. */
  readonly schedule: (flush: () => void) => void;
  /** The session ended; forget it. */
  readonly onClosed: (core: SessionCore) => void;
}

const ackLine = (seq: number) => encodeFrame({ type: "ack", seq });

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

function validCloseCode(code: unknown): code is number {
  return typeof code === "number" && Number.isInteger(code) && code >= 1000 && code <= 4999;
}

export function createSession({ id, options, schedule, onClosed }: SessionDeps): SessionCore {
  const { clock } = options;
  const events = createEmitter<SessionEvents>();
  const sent = createReplayBuffer(options.replayMaxMessages, options.replayMaxBytes);
  let link: Link | null = null;
  let heartbeat: Heartbeat | undefined;
  let resumeTimer: TimerId | undefined;
  let closed = false;
  // Outgoing frames for the current link not written yet, and whether an ack is owed.
  let pending: string[] = [];
  let ackOwed = false;
  let flushScheduled = false;
  let lastDelivered = 0;
  let pingId = 0;

  function flush() {
    flushScheduled = false;
    if (!link || closed) return;
    if (ackOwed) {
      pending.push(ackLine(lastDelivered));
      ackOwed = false;
    }
    if (!pending.length) return;
    const lines = pending;
    pending = [];
    link.write(lines);
  }
  const scheduleFlush = () => {
    if (flushScheduled || !link) return;
    flushScheduled = true;
    schedule(flush);
  };

  /** Forgets the current link and its link-scoped state; returns it. */
  const release = (): Link | null => {
    const previous = link;
    link = null;
    heartbeat?.stop();
    heartbeat = undefined;
    return previous;
  };

  function close(info: CloseInfo, notify = true) {
    if (closed) return;
    closed = true;
    if (resumeTimer !== undefined) clock.clearTimeout(resumeTimer);
    resumeTimer = undefined;
    const previous = release();
    if (previous) {
      // What was queued before close() still goes out, ahead of the close frame.
      if (notify && ackOwed) pending.push(ackLine(lastDelivered));
      if (notify) previous.end(info, pending);
      else previous.end();
    }
    pending = [];
    onClosed(core);
    events.emit("close", { code: info.code, reason: info.reason });
    events.clear();
  }

  function expire() {
    const previous = release();
    previous?.end({ code: CloseCode.HEARTBEAT_TIMEOUT, reason: "heartbeat timeout" });
    if (previous) detached({ code: CloseCode.HEARTBEAT_TIMEOUT, reason: "heartbeat timeout" });
  }

  function detached(info: CloseInfo) {
    pending = [];
    ackOwed = false;
    const reason = `resume window expired after the link ended (${info.reason || info.code})`;
    if (options.resumeWindowMs === 0) return close({ code: info.code, reason }, false);
    resumeTimer = clock.setTimeout(() => {
      resumeTimer = undefined;
      close({ code: info.code, reason }, false);
    }, options.resumeWindowMs);
  }

  function refuse(code: number, reason: string): Refusal {
    close({ code, reason });
    return { code, reason };
  }

  /** Why `frame` may not arrive in an open session, or undefined. Shared by receive and check. */
  function violation(frame: Frame): Refusal | undefined {
    switch (frame.type) {
      case "message": {
        const bytes = oversize(frame.data, options.maxMessageBytes);
        return bytes ? { code: CloseCode.MESSAGE_TOO_LARGE, reason: `message of ${bytes} bytes is over maxMessageBytes (${options.maxMessageBytes})` } : undefined;
      }
      case "ack":
        return frame.seq > sent.lastSeq ? { code: CloseCode.PROTOCOL_ERROR, reason: `ack ${frame.seq} is ahead of the last message sent (${sent.lastSeq})` } : undefined;
      case "hello":
      case "welcome":
        return { code: CloseCode.PROTOCOL_ERROR, reason: `unexpected ${frame.type} frame in an open session` };
      default:
        return undefined;
    }
  }

  const api: Session = {
    id,
    get transport() {
      return link ? link.transport : null;
    },
    send(data) {
      if (closed) throw new LifelineServerError("SESSION_CLOSED", `session ${id} is closed`);
      if (typeof data !== "string" && !(data instanceof Uint8Array)) {
        throw new LifelineServerError("INVALID_ARGUMENT", "send() takes a string or a Uint8Array");
      }
      const bytes = payloadBytes(data);
      if (bytes > options.maxMessageBytes) {
        throw new LifelineServerError("MESSAGE_TOO_LARGE", `message of ${bytes} bytes is over maxMessageSize (${options.maxMessageBytes})`);
      }
      // Encoded now: the replay buffer keeps the wire form, and bytes the caller changes
      // after send() returns do not change what was sent.
      const line = encodeFrame({ type: "message", seq: sent.lastSeq + 1, data });
      sent.push(line, bytes);
      if (link) {
        pending.push(line);
        scheduleFlush();
      }
    },
    close(code = CloseCode.NORMAL, reason = "") {
      if (!validCloseCode(code)) throw new LifelineServerError("INVALID_ARGUMENT", `close code must be an integer from 1000 to 4999, got ${String(code)}`);
      if (typeof reason !== "string") throw new LifelineServerError("INVALID_ARGUMENT", "close reason must be a string");
      close({ code, reason });
    },
    on: events.on,
    off: events.off,
  };

  const core: SessionCore = {
    id,
    api,
    get link() {
      return link;
    },
    get closed() {
      return closed;
    },
    resumable(helloAck) {
      if (closed) return "lost";
      if (helloAck > sent.lastSeq) return "ahead";
      return sent.after(helloAck) ? "ok" : "lost";
    },
    attach(next, resumed, helloAck) {
      if (closed) return next.end({ code: CloseCode.SERVER_ERROR, reason: "session closed" });
      if (resumeTimer !== undefined) clock.clearTimeout(resumeTimer);
      resumeTimer = undefined;
      release()?.end({ code: CloseCode.TRANSPORT_REPLACED, reason: "transport replaced by a newer link" });
      // Frames queued for the old link are link-scoped (acks, pongs, pings) or messages that
      // the replay below resends, so they are dropped; welcome carries the ack.
      pending = [];
      ackOwed = false;
      if (resumed) sent.ack(helloAck);
      const welcome = encodeFrame({
        type: "welcome",
        version: PROTOCOL_VERSION,
        sessionId: id,
        resumed,
        ack: lastDelivered,
        pingIntervalMs: options.pingIntervalMs,
        pingTimeoutMs: options.pingTimeoutMs,
        maxMessageBytes: options.maxMessageBytes,
        resumeWindowMs: options.resumeWindowMs,
      });
      link = next;
      heartbeat = startHeartbeat({
        clock,
        intervalMs: options.pingIntervalMs,
        timeoutMs: options.pingTimeoutMs,
        onPing: () => {
          pending.push(encodeFrame({ type: "ping", id: ++pingId }));
          scheduleFlush();
        },
        onExpired: expire,
      });
      next.write([welcome, ...(resumed ? (sent.after(helloAck) ?? []) : [])]);
    },
    detach(from, info) {
      if (closed || from !== link) return;
      release();
      detached(info);
    },
    receive(frames, from) {
      if (closed || (from && from !== link)) return undefined;
      heartbeat?.activity();
      for (const frame of frames) {
        const refused = violation(frame);
        if (refused) return refuse(refused.code, refused.reason);
        switch (frame.type) {
          case "message": {
            // Only the next seq is delivered: lower ones are duplicates of resent messages,
            // higher ones arrived out of order and come again on resume (never acknowledged).
            if (frame.seq !== lastDelivered + 1) break;
            lastDelivered = frame.seq;
            ackOwed = true;
            events.emit("message", frame.data);
            if (closed) return undefined;
            break;
          }
          case "ack":
            sent.ack(frame.seq);
            break;
          case "ping":
            // A pong belongs to the link; with none (an HTTP send while detached) it has nowhere to go.
            if (link) pending.push(encodeFrame({ type: "pong", id: frame.id }));
            break;
          case "pong":
            break;
          case "close":
            close({ code: frame.code, reason: frame.reason }, false);
            return undefined;
          default:
            // hello and welcome were refused above.
            break;
        }
      }
      if (ackOwed || pending.length) scheduleFlush();
      return undefined;
    },
    check(frames) {
      if (closed) return undefined;
      for (const frame of frames) {
        const refused = violation(frame);
        if (refused) return refused;
        // receive() reads nothing after a close frame.
        if (frame.type === "close") return undefined;
      }
      return undefined;
    },
    touch() {
      heartbeat?.activity();
    },
    close,
  };
  return core;
}
