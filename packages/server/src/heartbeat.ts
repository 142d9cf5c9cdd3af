import type { Clock, TimerId } from "./clock.js";

/** Pings on a schedule and declares the link dead after a silence; see start heartbeat. */
export interface Heartbeat {
  /** Something arrived from the client: the link is alive. */
  activity(): void;
  /** Cancels the timer; no callback runs afterwards. Idempotent. */
  stop(): void;
}

export interface HeartbeatConfig {
  readonly clock: Clock;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Time to send a ping. */
  onPing(): void;
  /** Nothing arrived for intervalMs + timeoutMs. Runs once; the heartbeat is stopped by then. */
  onExpired(): void;
}

/**
 * One link's heartbeat. Deadlines are timestamps and the single timer only wakes the code up
 * to compare them with clock.now(), so a late or throttled timer cannot stretch the silence
 * allowed, and activity costs one assignment instead of a timer reset.
 */
export function startHeartbeat({ clock, intervalMs, timeoutMs, onPing, onExpired }: HeartbeatConfig): Heartbeat {
  let lastActivity = clock.now();
  let nextPingAt = lastActivity + intervalMs;
  let timer: TimerId | undefined;
  let stopped = false;

  const arm = () => {
    const wakeAt = Math.min(nextPingAt, lastActivity + intervalMs + timeoutMs);
    timer = clock.setTimeout(wake, Math.max(0, wakeAt - clock.now()));
  };
  function wake() {
    timer = undefined;
    if (stopped) return;
    const now = clock.now();
    if (now >= lastActivity + intervalMs + timeoutMs) {
      stopped = true;
      onExpired();
      return;
    }
    if (now >= nextPingAt) {
      nextPingAt = now + intervalMs;
      onPing();
    }
    if (!stopped) arm();
  }

  arm();
  return {
    activity() {
      lastActivity = clock.now();
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
