import type { IncomingMessage, ServerResponse } from "node:http";
import { CloseCode, encodeFrame } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import type { TimerId } from "../clock.js";
import type { ServerContext } from "../context.js";
import { handshake, startLink } from "../handshake.js";
import { answer, refusal, refuse } from "../http.js";
import { shiftPiece } from "../link.js";
import type { Link } from "../link.js";
import { NOT_READING } from "../session.js";
import type { SessionCore } from "../session.js";

/** Long-polling endpoints: `POST P/poll` opens, `GET P/poll?sid=S` waits for frames. */
export interface PollingTransport {
  /** Opens a polling link for the hello batch in the body; answers at once with welcome. */
  open(req: IncomingMessage, res: ServerResponse, frames: readonly Frame[]): void;
  /**
   * A held poll for session `sid`. With `attempt`, only the link opened by that hello attempt
   * may take it: a poll of an older link is answered at once (4001), from its own leftovers or
   * with 409, so that it cannot take frames meant for the link that holds the session now.
   */
  poll(req: IncomingMessage, res: ServerResponse, sid: string, attempt: number | undefined): void;
  /** Forgets undelivered final frames and their timers. */
  close(): void;
}

interface PollLink extends Link {
  /** Holds `res` until frames arrive; answers it at once when some are waiting. */
  hold(res: ServerResponse): void;
}

/**
 * When a link ends with no poll held, its last frames (messages sent just before a close, the
 * close frame itself) wait for the session's next poll: for pingInterval + pingTimeout, and
 * for at most this many sessions at once.
 */
const MAX_LEFTOVERS = 10_000;

export function createPollingTransport(ctx: ServerContext): PollingTransport {
  const { options, registry } = ctx;
  const { clock } = options;
  const links = new WeakMap<Link, PollLink>();
  const leftovers = new Map<string, { readonly lines: string[]; readonly timer: TimerId; readonly attempt: number | undefined }>();
  // Both sides named their attempt and they differ: the poll is not the link's.
  const otherLink = (attempt: number | undefined, linkAttempt: number | undefined) =>
    attempt !== undefined && linkAttempt !== undefined && attempt !== linkAttempt;

  const dropLeftover = (sid: string) => {
    const entry = leftovers.get(sid);
    if (!entry) return undefined;
    clock.clearTimeout(entry.timer);
    leftovers.delete(sid);
    return entry.lines;
  };
  // One piece per poll, like a live link's answers: the client polls again for the rest, and
  // the rest waits as long again (a large backlog on a slow link takes a while to hand out).
  const takeLeftover = (sid: string, attempt: number | undefined) => {
    const entry = leftovers.get(sid);
    if (!entry || otherLink(attempt, entry.attempt)) return undefined;
    const piece = shiftPiece(entry.lines);
    if (entry.lines.length) keepLeftover(sid, entry.lines, entry.attempt);
    else dropLeftover(sid);
    return piece;
  };
  const keepLeftover = (sid: string, lines: string[], attempt: number | undefined) => {
    dropLeftover(sid);
    if (leftovers.size >= MAX_LEFTOVERS) dropLeftover(leftovers.keys().next().value!);
    const timer = clock.setTimeout(() => leftovers.delete(sid), options.pingIntervalMs + options.pingTimeoutMs);
    leftovers.set(sid, { lines, timer, attempt });
  };

  function createPollLink(session: SessionCore): PollLink {
    const sid = session.id;
    // The hello attempt that opened this link (the handshake gave it the session).
    const attempt = session.attempt;
    let held: ServerResponse | undefined;
    let queue: string[] = [];
    let queuedChars = 0;
    let ended = false;
    const push = (line: string) => {
      queue.push(line);
      queuedChars += line.length;
    };
    const take = () => {
      const lines = queue;
      queue = [];
      queuedChars = 0;
      return lines;
    };
    // What one poll answer carries: the rest waits for the next poll, which comes at once.
    const takePiece = () => {
      const lines = shiftPiece(queue);
      for (const line of lines) queuedChars -= line.length;
      return lines;
    };
    const release = () => {
      const res = held;
      held = undefined;
      // A poll whose socket was just reset is gone even before its 'close' event: frames
      // written to it would be lost while the link still looked alive.
      return res && !res.destroyed && !res.writableEnded && !res.socket?.destroyed ? res : undefined;
    };
    const link: PollLink = {
      transport: "polling",
      write(lines) {
        if (ended) return;
        for (const line of lines) push(line);
        const res = release();
        if (res) return answer(res, takePiece());
        if (queuedChars > session.maxUnsentBytes) {
          // Nobody is collecting these frames; the messages among them stay in the replay buffer.
          ctx.log.warn(`[long-polling] session ${sid}: ${NOT_READING.reason}`);
          ended = true;
          take();
          session.detach(link, NOT_READING);
          keepLeftover(sid, [encodeFrame({ type: "close", ...NOT_READING })], attempt);
        }
      },
      end(close, last = []) {
        if (ended) return;
        ended = true;
        // 4001: the client went on with another link or another session. What is queued is
        // link-scoped (acks, pings), replayed on the newer link, or of a session the client
        // left: only the close frame is worth its poll.
        if (close?.code === CloseCode.TRANSPORT_REPLACED) take();
        else for (const line of last) push(line);
        if (close) push(encodeFrame({ type: "close", code: close.code, reason: close.reason }));
        const res = release();
        if (res) answer(res, takePiece());
        if (queue.length) keepLeftover(sid, take(), attempt);
      },
      hold(res) {
        // One poll per session: a newer one takes over and the older gets an empty answer.
        const previous = release();
        if (previous) answer(previous, []);
        if (ended || queue.length) return answer(res, takePiece());
        held = res;
        res.on("close", () => {
          if (held === res) held = undefined;
        });
      },
    };
    return link;
  }

  return {
    open(req, res, frames) {
      const result = handshake(ctx, frames);
      if ("refused" in result) return refuse(res, refusal(result.refused.code, result.refused.reason, result.refused.status));
      const { session } = result.accepted;
      const link = createPollLink(session);
      links.set(link, link);
      // The open request is the first poll: welcome (and any replay) answers it at once.
      link.hold(res);
      startLink(ctx, result.accepted, link);
    },
    poll(req, res, sid, attempt) {
      const session = registry.get(sid);
      const link = session?.link && links.get(session.link);
      if (session && link && !otherLink(attempt, session.attempt)) {
        req.socket.setTimeout(0);
        session.touch();
        return link.hold(res);
      }
      const lines = takeLeftover(sid, attempt);
      if (lines) return answer(res, lines);
      if (link) return refuse(res, refusal(CloseCode.TRANSPORT_REPLACED, "this poll belongs to an older link of the session", 409));
      if (session) return refuse(res, refusal(CloseCode.TRANSPORT_REPLACED, "this session has no polling link; resume it with hello", 409));
      refuse(res, refusal(CloseCode.SESSION_NOT_FOUND, "unknown session"));
    },
    close() {
      for (const sid of [...leftovers.keys()]) dropLeftover(sid);
    },
  };
}
