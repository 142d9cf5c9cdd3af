import type { Clock, TimerId } from "./clock.js";

/**
 * A link the heartbeat watches. The deadlines are plain fields of the watched object (the
 * session), so watching a link allocates nothing but its entry in the set.
 */
export interface Watched {
  /** When something last arrived from the client; the owner sets it on activity. */
  lastActivityMs: number;
  /**
   * When the first bytes of a batch still on its way arrived, else undefined; the owner sets
   * it, and clears it when the batch is whole.
   */
  batchSinceMs: number | undefined;
  /** When the next ping is due; kept by the heartbeat. */
  nextPingAtMs: number;
  /** Time to send a ping. */
  ping(): void;
  /** Nothing arrived for intervalMs + timeoutMs. The link is unwatched before this runs. */
  expire(): void;
}

/** Pings every watched link on a schedule and expires links that went silent. */
export interface Heartbeats {
  /** Starts watching `link`: activity now, first ping after intervalMs. */
  watch(link: Watched): void;
  /** Stops watching; no callback for `link` runs afterwards. Idempotent. */
  unwatch(link: Watched): void;
  /** The first bytes of a batch arrived for `link` (batchSinceMs is set): see pingDueAt. */
  uploading(link: Watched): void;
}

export interface HeartbeatConfig {
  readonly clock: Clock;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/**
 * One timer for every link of a server (the ws README's one-interval-for-all-clients idea),
 * instead of a timer and its closures per session. Each wake sweeps the links, pings or
 * expires those due, and arms the timer for the earliest deadline left. Deadlines are
 * timestamps compared with clock.now(), so a late timer cannot stretch the silence allowed,
 * and activity costs one assignment. So that thousands of links with scattered deadlines do
 * not cost one sweep each, sweeps are at least a quarter of the shorter period apart (at most
 * 1 s): a ping or an expiry is that late at worst, well inside the timeout the peer allows.
 */
export function createHeartbeats({ clock, intervalMs, timeoutMs }: HeartbeatConfig): Heartbeats {
  const links = new Set<Watched>();
  const spacingMs = Math.min(1_000, Math.min(intervalMs, timeoutMs) / 4);
  const silenceMs = intervalMs + timeoutMs;
  let timer: TimerId | undefined;
  let wakeAt = Infinity;
  let lastSweep = -Infinity;

  // Pings while a batch arrives are due this often, so that with a sweep up to spacingMs late
  // they are at most half the timeout apart.
  const batchPingMs = timeoutMs / 2 - spacingMs;

  /**
   * When `link` is to be pinged: every intervalMs, and at least every half timeoutMs while a
   * batch takes longer than that to arrive. The client checks its link after a foreground or
   * network change by a ping, and gives us its timeout to show life; over WebSocket that ping
   * waits behind the batch, so a large message on a slow uplink would cost a healthy link
   * without our pings.
   */
  const pingDueAt = ({ batchSinceMs, nextPingAtMs }: Watched) =>
    batchSinceMs === undefined ? nextPingAtMs : Math.min(nextPingAtMs, Math.max(batchSinceMs, nextPingAtMs - intervalMs) + batchPingMs);

  const arm = (deadline: number) => {
    // min(): a clock set back since the last sweep must not push the next one out by as much.
    const at = Math.max(deadline, Math.min(lastSweep, clock.now()) + spacingMs);
    if (at >= wakeAt) return;
    if (timer !== undefined) clock.clearTimeout(timer);
    wakeAt = at;
    timer = clock.setTimeout(sweep, Math.max(0, at - clock.now()));
  };

  function sweep() {
    timer = undefined;
    wakeAt = Infinity;
    const now = (lastSweep = clock.now());
    let next = Infinity;
    // Deleting the entry being visited is safe in a Set iteration.
    for (const link of links) {
      // The clock was set back (timers run on the system's own time): what lies in the future
      // counts from now, or the link would go unpinged and unjudged for as long as it was set back.
      if (link.lastActivityMs > now) link.lastActivityMs = now;
      if (link.batchSinceMs !== undefined && link.batchSinceMs > now) link.batchSinceMs = now;
      if (link.nextPingAtMs > now + intervalMs) link.nextPingAtMs = now + intervalMs;
      const deadAt = link.lastActivityMs + silenceMs;
      if (now >= deadAt) {
        links.delete(link);
        link.expire();
        continue;
      }
      if (now >= pingDueAt(link)) {
        link.nextPingAtMs = now + intervalMs;
        link.ping();
      }
      if (links.has(link)) next = Math.min(next, deadAt, pingDueAt(link));
    }
    if (links.size && next !== Infinity) arm(next);
  }

  return {
    watch(link) {
      const now = clock.now();
      link.lastActivityMs = now;
      link.batchSinceMs = undefined;
      link.nextPingAtMs = now + intervalMs;
      links.add(link);
      arm(Math.min(link.nextPingAtMs, now + silenceMs));
    },
    uploading(link) {
      // Capped: after the clock was set back, a deadline from before would hold the sweep back
      // (for every link) by as much.
      if (links.has(link)) arm(Math.min(pingDueAt(link), clock.now() + batchPingMs));
    },
    unwatch(link) {
      if (!links.delete(link) || links.size || timer === undefined) return;
      // Nothing left to watch: no timer may keep the process (or a test's clock) busy.
      clock.clearTimeout(timer);
      timer = undefined;
      wakeAt = Infinity;
    },
  };
}
