import type { Clock, TimerId } from "../clock.js";
import type { LinkClose, TransportFactory } from "../transports/transport.js";
import type { FallbackHost } from "./fallback.js";
import type { TransportHealth } from "./health.js";
import { openFirstTransport } from "./select.js";

/** The first probe runs this long after opening on a fallback; failures back off to the cap. */
const FIRST_PROBE_MS = 1_000;
const RETRY_PROBE_MS = 15_000;
const MAX_PROBE_MS = 5 * 60_000;

/** What the upgrade needs besides the driver. */
export interface UpgradeSettings {
  /** The WebSocket transport, which the probe opens. */
  readonly factory: TransportFactory;
  readonly clock: Clock;
  readonly health: TransportHealth;
  readonly log: ((message: string) => void) | undefined;
}

export interface Upgrader {
  /** Plans the next probe, when open on a fallback transport. */
  schedule(): void;
  /** Cancels the planned or running probe. */
  stop(): void;
  /**
   * The current link ended with TRANSPORT_REPLACED. When a probe is under way, the server moved
   * the session to it, so the probe's outcome decides: returns true and holds the loss until then.
   */
  defer(info: LinkClose): boolean;
}

/**
 * While connected over a transport the app ranks below WebSocket (streaming or polling by
 * default; adaptive.ts decides), tries WebSocket in the background and switches to it once it
 * works. The probe first proves that frames flow both ways (a ping the server answers; the
 * link request holds the hello when the server can), so a WebSocket that a middlebox breaks
 * once the server speaks fails unseen. Then its hello resumes the session, so the server moves
 * it over and replays what the client has not acknowledged; the client then adopts the probe as
 * its link.
 * No message is lost (replay), repeated (seq dedupe) or reordered (one ordered stream per link).
 */
export function createUpgrader(host: FallbackHost, { factory, clock, health, log }: UpgradeSettings): Upgrader {
  // Open on a transport worth upgrading from.
  const onFallback = () => host.transport !== null && host.transport !== "websocket";
  let timer: TimerId | undefined;
  let cancel: (() => void) | undefined;
  let failures = 0;
  let deferred: LinkClose | undefined;

  const failed = (reason: string) => {
    cancel = undefined;
    failures++;
    log?.(`websocket probe failed: ${reason}`);
    const lost = deferred;
    deferred = undefined;
    if (lost) host.lost(lost);
    else schedule();
  };

  function probe(): void {
    timer = undefined;
    if (!onFallback()) return;
    log?.("probing websocket");
    let adopted: number | undefined;
    const request = host.linkRequest();
    cancel = openFirstTransport({
      ...request,
      // It resumes the session or nothing: the server must not end it for this link.
      hello: { ...request.hello, probe: true },
      factories: [factory],
      onOpen(transport, welcome, rest) {
        cancel = undefined;
        adopted = welcome.resumed ? host.adopt(transport, welcome, rest) : undefined;
        if (adopted === undefined) {
          transport.close();
          return failed("the session was not resumed");
        }
        deferred = undefined;
        failures = 0;
      },
      onFrames(frames) {
        if (adopted === host.generation) host.receive(frames);
      },
      onClose(info) {
        if (adopted === undefined) failed(info.reason);
        else if (adopted === host.generation) host.lost(info);
      },
    });
  }

  function schedule(): void {
    if (timer !== undefined || cancel || !onFallback()) return;
    const backoff = failures ? Math.min(MAX_PROBE_MS, RETRY_PROBE_MS * 2 ** (failures - 1)) : FIRST_PROBE_MS;
    timer = clock.setTimeout(probe, Math.max(backoff, health.demotedForMs("websocket")));
  }

  return {
    schedule,
    stop() {
      clock.clearTimeout(timer);
      timer = undefined;
      cancel?.();
      cancel = undefined;
      deferred = undefined;
    },
    defer(info) {
      if (!cancel) return false;
      deferred = info;
      return true;
    },
  };
}
