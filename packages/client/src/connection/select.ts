import { CloseCode, PROTOCOL_VERSION, isRetryable } from "@lifeline/protocol";
import type { Frame, HelloFrame, WelcomeFrame } from "@lifeline/protocol";
import type { Clock, TimerId } from "../clock.js";
import type { Capabilities } from "../env.js";
import { LifelineError, linkClose, serverClose } from "../errors.js";
import type { LinkClose, Transport, TransportFactory, TransportName } from "../transports/transport.js";
import type { Endpoint } from "../url.js";

/** What every attempt to open a link shares: where, with which hello, within which times. */
export interface LinkRequest {
  readonly endpoint: Endpoint;
  readonly hello: HelloFrame;
  readonly caps: Capabilities;
  readonly clock: Clock;
  /** How long one candidate may take to complete the handshake. */
  readonly connectTimeoutMs: number;
  /** How long a candidate runs alone before the next one starts alongside it. */
  readonly fallbackDelayMs: number;
  /** The hello would move a live session, and the server can prove a link first (see TransportOpenOptions). */
  readonly holdHello?: boolean;
}

export interface SelectOptions extends LinkRequest {
  /** Candidates in order of preference, already filtered to what may run here. */
  readonly factories: readonly TransportFactory[];
  /**
   * A hello like `hello` with a newer attempt number, for a candidate refused because another
   * candidate of this race holds the session (see `failed`). Only for a race that resumes.
   */
  readonly newerHello?: () => HelloFrame;
  /** The debug log, for what the race decides on its own. */
  readonly log?: ((message: string) => void) | undefined;
  /** A transport completed the handshake; it is the caller's from now on. */
  onOpen(transport: Transport, welcome: WelcomeFrame, rest: readonly Frame[]): void;
  /** Frames on the opened transport. */
  onFrames(frames: readonly Frame[]): void;
  /**
   * The opened transport ended, or no candidate could open (error TRANSPORT_UNAVAILABLE, or named
   * after the last refusal when no failure was worth retrying).
   */
  onClose(info: LinkClose): void;
  /** A candidate failed before its handshake; for the log and for transport health. */
  onCandidateFailed?(name: TransportName, reason: string): void;
}

const noHandshake = (ms: number) => `no handshake in ${ms} ms`;

/** Close codes that refuse this client whatever the transport: trying the next one is pointless. */
const REFUSES_EVERY_TRANSPORT: readonly number[] = [CloseCode.UNSUPPORTED_VERSION, CloseCode.ORIGIN_NOT_ALLOWED];

/**
 * A close frame of the server's own in answer to a hello, with a code that is not retryable and
 * not its refusal of what this link sent (4100, 4102): the application closed the session while
 * the client was away (docs/protocol.md, Handshake and resume), so no other transport would fare
 * better, and waiting for one that fails in a retryable way would only hit it again.
 */
const closesSession = ({ fromServer, code }: LinkClose) => !!fromServer && !isRetryable(code) && code !== CloseCode.PROTOCOL_ERROR && code !== CloseCode.MESSAGE_TOO_LARGE;

interface Attempt {
  readonly factory: TransportFactory;
  readonly name: TransportName;
  readonly transport: Transport;
  timer: TimerId;
  readonly startedAt: number;
  /** How many candidates started before it: the earlier, the more preferred. */
  readonly rank: number;
}

/**
 * Opens the first candidate that proves it carries frames both ways: its hello reached the
 * server and the server's welcome came back. Candidates start in order; each one that fails
 * starts the next at once, and one that is merely slow gets company after fallbackDelayMs
 * (happy-eyeballs style), so a hung WebSocket upgrade or a buffered stream costs that delay,
 * not a whole timeout. The first welcome wins and every other attempt is closed.
 * Returns a function that abandons everything still pending.
 */
export function openFirstTransport(options: SelectOptions): () => void {
  const { clock, factories } = options;
  const attempts = new Set<Attempt>();
  const failures: string[] = [];
  // Later candidates, and one that tries again, go with the newest hello.
  let hello = options.hello;
  const triedNewer = new Set<TransportName>();
  // Candidates whose path has answered (see TransportHandlers.onAlive), welcome or not, and
  // those that made a step before that (onProgress).
  const alive = new Set<Attempt>();
  const progressed = new Set<Attempt>();
  let started = 0;
  let ranks = 0;
  let staggerTimer: TimerId | undefined;
  let done = false;

  const abandonAll = () => {
    clock.clearTimeout(staggerTimer);
    for (const attempt of attempts) {
      clock.clearTimeout(attempt.timer);
      attempt.transport.close();
    }
    attempts.clear();
  };

  const finish = (info: LinkClose) => {
    done = true;
    abandonAll();
    options.onClose(info);
  };

  // The failure that decides what happens next: a retryable one, if any candidate had one, so
  // the order in which candidates failed does not decide whether the connection retries.
  let decisive: LinkClose | undefined;

  const giveUp = () => {
    // Met first in Node without `ws` (no global WebSocket in Node 20): say what would help.
    const message = factories.length ? `no transport connected (${failures.join("; ")})` : "no transport can run here (pass WebSocket, fetch or XMLHttpRequest)";
    // No failure worth retrying (each candidate refused, as with a 4100 or a 413): the connection
    // ends, and its error names why, as it would on an open link.
    const cause = decisive && !isRetryable(decisive.code) ? decisive.error?.code : undefined;
    const error = new LifelineError(cause ?? "TRANSPORT_UNAVAILABLE", message, { cause: decisive?.error, closeCode: decisive?.code });
    finish({ code: decisive?.code ?? CloseCode.ABNORMAL, reason: message, error, final: !factories.length });
  };

  const startNext = () => {
    clock.clearTimeout(staggerTimer);
    staggerTimer = undefined;
    const factory = factories[started++];
    if (!factory) return;
    start(factory);
    // A candidate that failed inside open() has started the next one, and armed this timer.
    if (!done && started < factories.length && staggerTimer === undefined) staggerTimer = clock.setTimeout(startNext, options.fallbackDelayMs);
  };

  /** Ends a candidate that will not win; `report` says why to the caller too. */
  const drop = (attempt: Attempt, reason: string, report = true) => {
    attempts.delete(attempt);
    clock.clearTimeout(attempt.timer);
    attempt.transport.close();
    failures.push(`${attempt.name}: ${reason}`);
    if (report) options.onCandidateFailed?.(attempt.name, reason);
  };

  const failed = (attempt: Attempt, info: LinkClose) => {
    if (done || !attempts.has(attempt)) return;
    // Refused with 4001 before any welcome: another candidate of this race got its hello to the
    // server first and holds the session there, but its welcome has not come. When none of the
    // others still running shows life, that holder is gone (a proxy dropped it once its hello
    // got through) or silent (a buffering proxy holds its answers back until they end), and
    // only a newer attempt takes the session from it: this candidate, which the server does
    // answer, tries once more with one, and the others, on the older attempt, are given up (a
    // welcome of theirs could only come with the 4001 of their replacement). One that shows
    // life may merely be slow (a large replay on a slow link): it keeps the session, as it
    // would have without the refusal.
    const tryNewer =
      info.code === CloseCode.TRANSPORT_REPLACED && options.newerHello && !triedNewer.has(attempt.name) && ![...attempts].some((other) => other !== attempt && alive.has(other));
    drop(attempt, info.reason, !tryNewer);
    if (tryNewer) {
      triedNewer.add(attempt.name);
      hello = options.newerHello!();
      options.log?.(`${attempt.name} refused (${info.reason}): trying again with a newer attempt`);
      for (const older of attempts) drop(older, "given up for a newer attempt");
      return start(attempt.factory);
    }
    if (REFUSES_EVERY_TRANSPORT.includes(info.code) || closesSession(info)) return finish(info);
    if (!decisive || !isRetryable(decisive.code)) decisive = info;
    if (started < factories.length) startNext();
    else if (!attempts.size) giveUp();
  };

  function start(factory: TransportFactory): void {
    let opened = false;
    let attempt: Attempt | undefined;
    // A transport may fail inside open(), before `attempt` exists: remember that and fail after.
    let earlyFailure: LinkClose | undefined;
    const fail = (info: LinkClose) => (attempt ? failed(attempt, info) : (earlyFailure ??= info));
    let transport: Transport;
    try {
      transport = open();
    } catch (cause) {
      // A factory (or the fetch/XMLHttpRequest it was given) threw: that candidate failed.
      transport = { name: factory.name, send() {}, close() {} };
      earlyFailure ??= linkClose(CloseCode.ABNORMAL, "could not start", undefined, cause);
    }
    function open(): Transport {
      return factory.open({
        ...options.endpoint,
        hello,
        holdHello: options.holdHello,
        caps: options.caps,
        clock,
        handlers: {
          onFrames(frames) {
            if (opened) return options.onFrames(frames);
            if (done || !attempt) return;
            const [welcome, ...rest] = frames;
            if (welcome?.type === "close") {
              // Refused before the handshake (a disallowed Origin, say): the frame says why.
              return fail(serverClose(welcome));
            }
            if (welcome?.type !== "welcome" || welcome.version !== PROTOCOL_VERSION) {
              return fail(linkClose(CloseCode.PROTOCOL_ERROR, "no welcome"));
            }
            opened = true;
            done = true;
            attempts.delete(attempt);
            clock.clearTimeout(attempt.timer);
            // Candidates preferred to this one that were merely slow (a hung upgrade, a buffered
            // stream): the choice is theirs to explain, as much as a failure's.
            for (const slower of attempts) if (slower.rank < attempt.rank) drop(slower, noHandshake(clock.now() - slower.startedAt));
            abandonAll();
            options.onOpen(transport, welcome, rest);
          },
          onClose(info) {
            if (opened) options.onClose(info);
            else fail(info);
          },
          // The path answered: the handshake gets the whole timeout from here, since a held
          // hello (TransportOpenOptions.holdHello) has a round trip more to make than a first.
          onAlive: step(alive),
          onProgress: step(progressed),
        },
      });
    }
    /**
     * A step of a candidate towards its handshake (life, or progress before it), once each: the
     * handshake's timeout starts again. Only the race asks; an opened link calls onAlive on every chunk.
     */
    function step(seen: Set<Attempt>) {
      return () => {
        if (!attempt || opened || !attempts.has(attempt) || alive.has(attempt) || seen.has(attempt)) return;
        seen.add(attempt);
        clock.clearTimeout(attempt.timer);
        attempt.timer = timeout();
      };
    }
    const timeout = () => clock.setTimeout(() => failed(attempt!, linkClose(CloseCode.ABNORMAL, noHandshake(clock.now() - attempt!.startedAt), "TIMEOUT")), options.connectTimeoutMs);
    attempt = { factory, name: factory.name, transport, timer: timeout(), startedAt: clock.now(), rank: ranks++ };
    attempts.add(attempt);
    if (earlyFailure) failed(attempt, earlyFailure);
  }

  if (!factories.length) giveUp();
  else startNext();
  return () => {
    done = true;
    abandonAll();
  };
}
