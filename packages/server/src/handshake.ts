import { CloseCode, PROTOCOL_VERSION } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import type { ServerContext } from "./context.js";
import type { CloseInfo, Link } from "./link.js";
import type { Refusal, SessionCore } from "./session.js";

/** A hello the server accepted: the session it names (or a new one) and the frames after it. */
export interface Accepted {
  readonly session: SessionCore;
  readonly resumed: boolean;
  readonly helloAck: number;
  readonly rest: readonly Frame[];
}

/** A refusal; `status`, when set, is the HTTP status to answer with instead of the code's own. */
export type HandshakeResult = { readonly accepted: Accepted } | { readonly refused: CloseInfo & { readonly status?: number } };

const refused = (code: number, reason: string): HandshakeResult => ({ refused: { code, reason } });

/** What a hello's cid must look like to be tracked (docs/protocol.md, Race candidates). */
const CONNECTION_ID = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * Reads the hello that opens every link (the first frame of the first batch) and picks the
 * session: the live one it names when its replay buffer still holds everything the client
 * lacks, otherwise a new one. An unknown or expired sid is not an error (docs/protocol.md §1).
 */
export function handshake(ctx: ServerContext, frames: readonly Frame[]): HandshakeResult {
  const hello = frames[0];
  if (!hello || hello.type !== "hello") return refused(CloseCode.PROTOCOL_ERROR, "the first frame must be hello");
  if (hello.version !== PROTOCOL_VERSION) {
    return refused(CloseCode.UNSUPPORTED_VERSION, `protocol version ${hello.version} is not supported (this server speaks ${PROTOCOL_VERSION})`);
  }
  if (ctx.closing()) return refused(CloseCode.GOING_AWAY, "server shutting down");
  const rest = frames.slice(1);
  const existing = hello.sessionId === undefined ? undefined : ctx.registry.get(hello.sessionId);
  // The app closed this session while its client was away (or its close frame was lost with the
  // link): the client hears it now, instead of going on in a new session as if nothing happened.
  const closedByApp = existing || hello.sessionId === undefined ? undefined : ctx.registry.closedByApp(hello.sessionId);
  if (closedByApp) return { refused: { ...closedByApp, status: 410 } };
  if (existing) {
    // A candidate of an attempt that lost (or a sibling that came second) must not take the
    // session from the link the client kept.
    if (hello.attempt !== undefined && existing.attempt !== undefined && hello.attempt <= existing.attempt) {
      return refused(CloseCode.TRANSPORT_REPLACED, `attempt ${hello.attempt} is not newer than attempt ${existing.attempt}, which holds the session`);
    }
    const check = existing.resumable(hello.ack);
    if (check === "ahead") return refused(CloseCode.PROTOCOL_ERROR, `hello.ack ${hello.ack} is ahead of the last message the server sent`);
    if (check === "ok") {
      existing.attempt = hello.attempt;
      return { accepted: { session: existing, resumed: true, helloAck: hello.ack, rest } };
    }
    // A probe's client still uses the session on another link, which may yet deliver what the
    // replay buffer lost (a burst on its way down): the probe fails, the session goes on.
    if (hello.probe) return refused(CloseCode.TRANSPORT_REPLACED, "an upgrade probe resumes or nothing: messages it lacks were dropped from the replay buffer");
    // The client moves on to a new session, so the old one can only end.
    existing.close({ code: CloseCode.TRANSPORT_REPLACED, reason: "could not resume: messages the client lacks were dropped from the replay buffer" });
    ctx.log.info(`[session] ${existing.id} could not be resumed from ack ${hello.ack}; starting a new session`);
  }
  // Nor does a probe naming no live session start one: its client would never use it.
  if (hello.probe) return refused(CloseCode.TRANSPORT_REPLACED, "an upgrade probe resumes or nothing: no such session");
  // An id of another shape is not tracked: it costs memory for the session's whole life.
  const connectionId = hello.connectionId !== undefined && CONNECTION_ID.test(hello.connectionId) ? hello.connectionId : undefined;
  // Race candidates are told apart by attempt number: without one on both sides, nothing to judge.
  if (connectionId !== undefined && hello.attempt !== undefined) {
    for (const other of ctx.registry.ofConnection(connectionId)) {
      if (other.attempt === undefined) continue;
      const newer = hello.attempt > other.attempt;
      // The client already went on with a session of this connection: this hello is a candidate
      // of the same race (or an older one) arriving late.
      if (other.confirmed && !newer) return refused(CloseCode.TRANSPORT_REPLACED, "this connection already went on with another session");
      // A session of an earlier attempt that the client never used: it gave up on it.
      if (!other.confirmed && newer) other.close({ code: CloseCode.TRANSPORT_REPLACED, reason: "abandoned by a newer attempt of its connection" });
    }
  }
  const session = ctx.registry.create(connectionId);
  session.attempt = hello.attempt;
  session.parts = hello.parts === true;
  // Frames sent along with the hello that break the rules refuse the new session before anyone
  // hears of it (no 'connection', and an HTTP status that says why).
  const violation = session.check(rest);
  if (violation) {
    session.close(violation, false);
    return { refused: violation };
  }
  return { accepted: { session, resumed: false, helloAck: 0, rest } };
}

/**
 * Puts an accepted session on its new link: welcome (and replay) first, then 'connection' for
 * a new session so the application can listen before any message, then the frames that came
 * with the hello.
 */
export function startLink(ctx: ServerContext, { session, resumed, helloAck, rest }: Accepted, link: Link): Refusal | undefined {
  session.attach(link, resumed, helloAck);
  if (!resumed) ctx.announce(session.api);
  return rest.length ? session.receive(rest, link) : undefined;
}
