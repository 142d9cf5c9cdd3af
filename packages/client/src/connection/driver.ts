import { CloseCode, PROTOCOL_VERSION, isRetryable, payloadBytes } from "@lifeline/protocol";
import type { ClientFrame, Frame, HelloFrame, WelcomeFrame } from "@lifeline/protocol";
import type { TimerId } from "../clock.js";
import { createEmitter } from "../emitter.js";
import { resolveCapabilities } from "../env.js";
import { LifelineError, linkClose } from "../errors.js";
import { createHeartbeat } from "../heartbeat.js";
import type { Heartbeat } from "../heartbeat.js";
import { createInbox } from "../inbox.js";
import { createPartJoiner } from "../message-parts.js";
import { watchNetwork } from "../network.js";
import type { ResolvedOptions } from "../options.js";
import { createOutbox, toPayload } from "../outbox.js";
import type { Payload } from "../outbox.js";
import type { LinkClose, Transport, TransportName } from "../transports/transport.js";
import type { Connection, ConnectionEvents } from "../types.js";
import type { Endpoint } from "../url.js";
import type { Fallback, FallbackFactory } from "./fallback.js";
import { publicState, transition } from "./state.js";
import { createUplink } from "./uplink.js";
import type { ConnectionEvent, Effect, MachineState } from "./state.js";
import { openFirstTransport } from "./select.js";
import type { LinkRequest } from "./select.js";

/** A link must stay open this long before the retry count starts again from 1. */
const MIN_UPTIME_MS = 5_000;

/**
 * Renewed links kept with their uploads going (see `renewed`); the oldest is closed past this.
 * Each renewal sends an unacknowledged upload again alongside, so one that outlasts eight of them
 * shares the uplink with as many copies of itself: it would hardly arrive anyway.
 */
const MAX_RENEWED_LINKS = 8;

/**
 * Runs one connection: feeds events to the pure state machine, carries out its effects, and
 * routes frames between the transport and the outbox/inbox. The generation number drops
 * callbacks from links that are no longer current. Which transport to try first, and whether
 * to move to another while open, is up to `fallback` (see fallback.ts). Returns the app's
 * Connection.
 */
export function createDriver(endpoint: Endpoint, options: ResolvedOptions, fallback?: FallbackFactory): Connection {
  const { clock } = options;
  const events = createEmitter<ConnectionEvents>(["open", "message", "statechange", "transport", "error", "close"]);
  const caps = resolveCapabilities(options.given);
  const outbox = createOutbox(options.maxMessages, options.maxBytes);
  const inbox = createInbox();
  const parts = createPartJoiner();

  let state: MachineState = "connecting";
  let generation = 0;
  let link: Transport | undefined;
  // Links their transport renewed (LinkClose.renew), oldest first: a POST of theirs on the way
  // up goes on (the new link sends the same messages again, from their first byte), so an upload
  // slower than a renewal still arrives. Each is closed with the connection, or sooner as the
  // oldest of more than MAX_RENEWED_LINKS.
  const renewed: Transport[] = [];
  let cancelAttempt: (() => void) | undefined;
  let heartbeat: Heartbeat | undefined;
  let retryTimer: TimerId | undefined;
  let sessionId: string | null = null;
  // The session's server answers a ping before hello (WelcomeFrame.pingFirst): a hello that
  // would move the session waits for proof that the new link carries frames both ways.
  let holdHello = false;
  // Unknown until the first welcome: until then send() queues what the buffer takes, and the
  // welcome takes out (and reports) what is over the server's limit.
  let maxMessageBytes = Infinity;
  let rtt: number | null = null;
  let pingId = 0;
  let pingSentAt = 0;
  let pingIntervalMs = 0;
  let rttTimer: TimerId | undefined;
  let attempt = 0;
  let linkAttempts = 0;
  let openedAt = 0;
  // When the current outage began: connect(), then each loss of an open link (RetryContext.elapsedMs).
  let lostAt = clock.now();
  let lastError: LifelineError | undefined;
  // The generation of the open link pinged because the app came back to the foreground or the
  // network changed, until it answers a ping (0: none). Frames queued before it died (messages,
  // the server's close after our silence in the back/forward cache) are no answer. See linkLost.
  let suspectGeneration = 0;
  let closeInfo = { code: CloseCode.NORMAL as number, reason: "closed by client" };
  let openInfo: ConnectionEvents["open"] | undefined;
  // The transport of the last link that opened: fallback judges it and events name it.
  let lastTransport: TransportName | null = null;
  let candidateFailures: string[] = [];
  // Names this connection in every hello (cid), so the server can end the sessions that race
  // candidates we dropped started. Random, not a secret.
  const connectionId = Math.random().toString(36).slice(2).padEnd(8, "0") + clock.now().toString(36);
  const log = options.log;
  const uplink = createUplink({
    clock,
    outbox,
    inbox,
    target: () => (state === "open" ? link : undefined),
    maxBytes: () => maxMessageBytes,
  });

  function dispatch(event: ConnectionEvent, reason: string, error?: LifelineError): void {
    const next = transition(state, event);
    if (!next) return;
    const from = publicState(state);
    state = next.state;
    const to = publicState(state);
    // A retry starting or failing is no change to the app (it is still reconnecting): only the
    // log says so.
    if (to === from) log?.(`${state === "retrying" ? "retrying" : "retry failed"}: ${reason}`);
    else events.emit("statechange", { from, to, reason, ...(error && { error }) });
    for (const effect of next.effects) {
      // A listener (or an effect) moved the connection on, close() say: the rest is stale.
      if (state !== next.state) return;
      run(effect);
    }
  }

  function run(effect: Effect): void {
    switch (effect.type) {
      case "openLink":
        return openLink();
      case "closeLink":
        return closeLink();
      case "scheduleRetry":
        log?.(`retry in ${Math.round(effect.delayMs)} ms`);
        retryTimer = clock.setTimeout(() => dispatch({ type: "retryDue" }, "retry due"), effect.delayMs);
        return;
      case "cancelRetry":
        clock.clearTimeout(retryTimer);
        retryTimer = undefined;
        return;
      case "announceOpen":
        events.emit("open", openInfo!);
        return uplink.schedule();
      case "finish":
        for (const old of renewed.splice(0)) old.close();
        unwatchNetwork();
        if (lastError && closeInfo.code !== CloseCode.NORMAL) events.emit("error", lastError);
        events.emit("close", { ...closeInfo, unacknowledged: outbox.unacknowledged() });
        // Nothing is emitted after close: the app's listeners go, and so do the calls still due
        // of an emit under way (an `open` whose first listener called close()).
        return events.clear();
    }
  }

  /** The retry delay for a lost link (0 when `atOnce`, if it may retry), or null when the connection should close. */
  function retryDelay(info: LinkClose, error: LifelineError, atOnce: boolean): number | null {
    if (info.final || !isRetryable(info.code)) return null;
    // A healthy link renewed by its transport: not a retry, whatever the policy says.
    if (info.renew) return 0;
    const policy = options.retryPolicy;
    if (!policy) {
      lastError = new LifelineError("RECONNECT_FAILED", `lost (${error.message}); reconnect is off`, { cause: error });
      return null;
    }
    // Another link of ours took the session (a race candidate we dropped reached the server
    // late): nothing is wrong with the network, so take it back at once.
    const replaced = state === "open" && info.code === CloseCode.TRANSPORT_REPLACED;
    const delay = policy.nextDelayMs({ attempt: ++attempt, elapsedMs: replaced ? 0 : clock.now() - lostAt, reason: error });
    if (delay === null) {
      lastError = new LifelineError("RECONNECT_FAILED", `gave up after ${attempt - 1} retries: ${error.message}`, { cause: error });
      return null;
    }
    return replaced || atOnce ? 0 : delay;
  }

  /**
   * The link is gone. `blameless` when the cause was on this device (it went offline): then the
   * loss says nothing about the transport, so the fallback counts no strike.
   */
  function linkLost(info: LinkClose, blameless = false): void {
    const error = info.error ?? linkClose(info.code, info.reason).error!;
    lastError = error;
    // Pinged as the app came back or the network changed, and dead before it answered: the link
    // fell to the page's stay in the back/forward cache, or to a network the device left, not to
    // its transport; and the signal asked for a retry without waiting. (Gone offline, it waits
    // for its retry like any loss: nothing could connect now.)
    const signalled = !blameless && state === "open" && suspectGeneration === generation;
    if (state === "open") {
      const uptime = clock.now() - openedAt;
      log?.(`${lastTransport} link lost after ${uptime} ms: ${info.reason}`);
      if (uptime >= MIN_UPTIME_MS) attempt = 0;
      lostAt = clock.now();
      if (lastTransport && info.code !== CloseCode.TRANSPORT_REPLACED && !info.renew) plugin?.lost(lastTransport, uptime, blameless || signalled);
    }
    closeInfo = { code: info.code, reason: info.reason };
    dispatch({ type: "linkLost", retryDelayMs: retryDelay(info, error, signalled) }, info.reason || error.message, lastError);
  }

  /** A hello with a new attempt number, larger than any before it. */
  const newHello = (): HelloFrame => ({ type: "hello", version: PROTOCOL_VERSION, ...(sessionId && { sessionId }), ack: inbox.lastSeq, attempt: ++linkAttempts, connectionId, parts: true });

  function linkRequest(): LinkRequest {
    // Every candidate of one request shares the attempt number: the server keeps the first
    // that reaches it and refuses the rest, so the race is decided in one place.
    return { endpoint, hello: newHello(), holdHello, caps, clock, connectTimeoutMs: options.connectTimeoutMs, fallbackDelayMs: options.fallbackDelayMs };
  }

  function announceTransport(to: TransportName, reason: string): void {
    const from = lastTransport;
    lastTransport = to;
    if (from !== to) {
      log?.(`transport ${from ?? "none"} → ${to}: ${reason}`);
      events.emit("transport", { from, to, reason });
    }
  }

  function openLink(): void {
    // Starting again while an attempt is under way abandons that one.
    cancelAttempt?.();
    const current = ++generation;
    const supported = options.factories.filter((f) => {
      // A custom transport whose check throws cannot run here; throwing on would leave the
      // connection in `connecting` for good, with nothing said.
      try {
        return f.isSupported(caps);
      } catch (error) {
        log?.(`${f.name}: isSupported threw ${String(error)}`);
        return false;
      }
    });
    const candidates = plugin ? plugin.order(supported, lastTransport) : supported;
    candidateFailures = [];
    log?.(`trying ${candidates.map((f) => f.name).join(", ") || "nothing (no transport can run here)"}`);
    cancelAttempt = openFirstTransport({
      ...linkRequest(),
      // A resume's candidate refused because a sibling holds the session may try a newer attempt.
      ...(sessionId && { newerHello: newHello }),
      log,
      factories: candidates,
      onCandidateFailed(name, reason) {
        log?.(`${name} failed: ${reason}`);
        candidateFailures.push(`${name}: ${reason}`);
      },
      onOpen(transport, welcome, rest) {
        if (current !== generation) return transport.close();
        cancelAttempt = undefined;
        link = transport;
        // Leaving the last transport though it did not fail here: it was demoted.
        const left = lastTransport !== transport.name && lastTransport && plugin?.demotion(lastTransport);
        const why = candidateFailures.length ? candidateFailures.join("; ") : left || (lastTransport ? "reconnected" : "connected");
        announceTransport(transport.name, why);
        // A listener (of 'transport', or of 'error' or 'open' in welcomed()) may have closed the
        // connection: then nothing more happens on this link.
        if (current === generation) welcomed(transport.name, welcome);
        if (current === generation) receive(rest);
      },
      onFrames(frames) {
        if (current === generation) receive(frames);
      },
      onClose(info) {
        if (current !== generation) return;
        cancelAttempt = undefined;
        if (link && info.code === CloseCode.TRANSPORT_REPLACED && plugin?.defer(info)) return detachLink();
        if (info.renew && link && renewed.push(link) > MAX_RENEWED_LINKS) renewed.shift()!.close();
        link = undefined;
        linkLost(info);
      },
    });
  }

  /** Adopts a probe that resumed the session as the link, in place of the fallback one. */
  function switchTo(transport: Transport, welcome: WelcomeFrame, rest: readonly Frame[]): number | undefined {
    if (state !== "open") return undefined;
    generation++;
    detachLink();
    link = transport;
    const current = generation;
    announceTransport(transport.name, "upgraded: the WebSocket probe carried frames both ways");
    if (current === generation) welcomed(transport.name, welcome);
    if (current !== generation) return undefined;
    receive(rest);
    uplink.schedule();
    return generation;
  }

  /**
   * Lets go of the link without ending the connection; only a close frame already sent still goes
   * up (HttpLink.close).
   */
  function detachLink(): void {
    // A message half come down goes with its link: the next one gets it again from its first part.
    parts.clear();
    clock.clearTimeout(rttTimer);
    rttTimer = undefined;
    heartbeat?.stop();
    link?.close();
    link = undefined;
  }

  function closeLink(): void {
    generation++;
    uplink.reset();
    plugin?.stop();
    cancelAttempt?.();
    cancelAttempt = undefined;
    detachLink();
    heartbeat = undefined;
  }

  function welcomed(name: TransportName, welcome: WelcomeFrame): void {
    const current = generation;
    const previous = sessionId;
    sessionId = welcome.sessionId;
    holdHello = !!welcome.pingFirst;
    maxMessageBytes = welcome.maxMessageBytes;
    let resent: Payload[] = [];
    if (welcome.resumed) outbox.rewind(welcome.ack);
    else {
      inbox.reset();
      const { kept, dropped } = outbox.renumber(maxMessageBytes);
      resent = kept;
      // Queued before the server's limit was known, and over it: say so instead of sending them.
      if (dropped.length) {
        const message = `${dropped.length} queued message(s) over the server's limit of ${maxMessageBytes} bytes not sent`;
        events.emit("error", new LifelineError("MESSAGE_TOO_LARGE", message, { messages: dropped }));
        if (current !== generation) return;
      }
    }
    const sessionLost = !welcome.resumed && previous !== null;
    // Copies of the bytes, as send() makes them: the app may change what it is given, and these
    // are still to go up.
    openInfo = { transport: name, resumed: welcome.resumed, sessionLost, resent: sessionLost ? resent.map(toPayload) : [] };
    openedAt = clock.now();
    pingIntervalMs = welcome.pingIntervalMs;
    heartbeat = createHeartbeat({
      clock,
      intervalMs: welcome.pingIntervalMs,
      timeoutMs: welcome.pingTimeoutMs,
      onExpired: (silentMs) => linkLost(linkClose(CloseCode.HEARTBEAT_TIMEOUT, `no data from the server for ${silentMs} ms`)),
      onProbe: ping,
    });
    ping();
    dispatch({ type: "welcome" }, welcome.resumed ? "session resumed" : "session started");
    if (current === generation) plugin?.opened(name);
  }

  function ping(): void {
    pingSentAt = clock.now();
    uplink.control({ type: "ping", id: ++pingId });
  }

  const missing = () => linkLost(linkClose(CloseCode.ABNORMAL, `message ${inbox.lastSeq + 1} missing`));

  function receive(frames: readonly Frame[]): void {
    const current = generation;
    let partArrived = false;
    heartbeat?.activity();
    // Acks first: a message listener may close the connection, and the close event must not list
    // as unacknowledged what an ack later in this same batch confirms.
    for (const frame of frames) if (frame.type === "ack") outbox.ack(frame.seq);
    for (const frame of frames) {
      if (current !== generation) return;
      switch (frame.type) {
        case "part": {
          partArrived = true;
          // A part of a message we have: the server is resending it (after a resume).
          if (frame.seq <= inbox.lastSeq) break;
          // A part of a later message means one before it was lost on the way, as below.
          const data = frame.seq > inbox.lastSeq + 1 ? CloseCode.ABNORMAL : parts.add(frame);
          if (data === CloseCode.ABNORMAL) return missing();
          if (typeof data === "number") return linkLost(linkClose(data, `message ${frame.seq}: parts do not fit together`));
          if (data !== undefined && inbox.accept(frame.seq)) events.emit("message", data);
          break;
        }
        case "message":
          if (inbox.accept(frame.seq)) events.emit("message", frame.data);
          // Something before it was lost on the way (a poll answered into a dying socket):
          // resume, and the server replays everything after what we acknowledge.
          else if (frame.seq > inbox.lastSeq + 1) return missing();
          break;
        case "ping":
          uplink.control({ type: "pong", id: frame.id });
          break;
        case "pong": {
          if (frame.id !== pingId) break;
          suspectGeneration = 0;
          const measured = clock.now() - pingSentAt;
          // A wall clock set back meanwhile spoils this measurement: keep the last one.
          if (measured >= 0) rtt = measured;
          // Keep rtt current: measure again one ping interval later.
          clock.clearTimeout(rttTimer);
          rttTimer = clock.setTimeout(ping, pingIntervalMs);
          break;
        }
        case "close": {
          const info = linkClose(frame.code, frame.reason || "closed by server");
          if (frame.code === CloseCode.TRANSPORT_REPLACED && plugin?.defer(info)) return detachLink();
          linkLost(info);
          return;
        }
        default:
          // hello/welcome after the handshake mean nothing; ignore rather than fail.
          break;
      }
    }
    // A part completes no message, so no ack would go up: repeat the last one, so the server
    // hears from us while a long message comes down (an ack owed anyway does the same).
    if (partArrived && !inbox.unacked) uplink.control({ type: "ack", seq: inbox.lastSeq });
    uplink.schedule();
  }

  const api: Connection = {
    get state() {
      return publicState(state);
    },
    // While an upgrade is being adopted there is briefly no link: the connection is still on
    // the transport it last opened.
    get transport() {
      return state === "open" ? lastTransport : null;
    },
    get id() {
      return sessionId;
    },
    get rtt() {
      return rtt;
    },
    get bufferedMessages() {
      return outbox.size;
    },
    send(data) {
      if (state === "closed") throw new LifelineError("CLOSED", "send() after close");
      const payload = toPayload(data);
      const bytes = payloadBytes(payload);
      if (bytes > maxMessageBytes) {
        throw new LifelineError("MESSAGE_TOO_LARGE", `${bytes} bytes > limit ${maxMessageBytes}`);
      }
      outbox.push(payload, bytes);
      uplink.schedule();
    },
    on: events.on,
    off: events.off,
    close() {
      if (state === "closed") return;
      closeInfo = { code: CloseCode.NORMAL, reason: "closed by client" };
      lastError = undefined;
      // What is still queued and the goodbye go up together, so the server ends the session
      // now (over HTTP in one POST, which can outlive a page that is going away).
      if (state === "open" && link) uplink.flush([{ type: "close", code: CloseCode.NORMAL, reason: "closed by client" }]);
      // In any other state too: called from a listener in the middle of a transition, a link or
      // attempt may still be up.
      closeLink();
      dispatch({ type: "close" }, "closed by client");
    },
  };

  // `&&`, not `?.()`: terser then drops the whole argument from the core bundles, which pass none.
  const plugin: Fallback | undefined = fallback && fallback(
    {
      endpoint,
      caps,
      get transport() {
        return api.transport;
      },
      get generation() {
        return generation;
      },
      linkRequest,
      adopt: switchTo,
      receive,
      lost(info) {
        link = undefined;
        linkLost(info);
      },
    },
    options,
  );

  /** Retries now when waiting, and starts an attempt under way again (it began on a network that is gone). */
  function retryNow(why: string): void {
    if (state === "backoff") dispatch({ type: "wake" }, why);
    else if (state === "connecting" || state === "retrying") {
      log?.(`connecting again: ${why}`);
      openLink();
    }
  }

  /** While open, the link must show life soon or be replaced. */
  function recheck(): void {
    if (state !== "open") return;
    suspectGeneration = generation;
    heartbeat?.suspect();
    ping();
  }

  // Listeners go on last: creating the fallback validates its options and may throw.
  const unwatchNetwork = watchNetwork(options.network, {
    online: () => retryNow("the device is back online"),
    offline() {
      if (state !== "open") return;
      linkLost(linkClose(CloseCode.ABNORMAL, "the device went offline"), true);
    },
    // Timers may have been frozen. An attempt under way goes on: the network is the same (an iOS
    // app flips between inactive and active for every banner or prompt).
    foreground() {
      if (state === "backoff") dispatch({ type: "wake" }, "the app is back in the foreground");
      recheck();
    },
    // The socket may be bound to a network the device has left, and an attempt under way too.
    networkChanged() {
      retryNow("the network changed");
      recheck();
    },
  });

  // Start on the next microtask, so listeners added right after connect() see every event.
  Promise.resolve().then(() => {
    if (state === "connecting") openLink();
  });

  return api;
}
