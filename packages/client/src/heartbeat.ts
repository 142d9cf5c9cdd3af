import type { Clock, TimerId } from "./clock.js";

export interface HeartbeatSettings {
  readonly clock: Clock;
  /** The server pings at least this often. */
  readonly intervalMs: number;
  /** Extra silence tolerated before the link is dead. */
  readonly timeoutMs: number;
  /**
   * The link carried nothing for `silentMs`, counted from the last activity: intervalMs +
   * timeoutMs, less after suspect(), more after a late wake (the time the device slept counts).
   */
  onExpired(silentMs: number): void;
  /** The timer woke up far too late to judge (throttled or suspended): ask the peer for a sign of life. */
  onProbe(): void;
}

export interface Heartbeat {
  /** Something arrived: the link is alive now. */
  activity(): void;
  /** The link may have died unseen (the app was in the background): it has `timeout` to show life. */
  suspect(): void;
  stop(): void;
}

/** How late a timer may fire before its silence says more about us than about the link. */
const LATE_WAKE_MS = 1_000;

/**
 * Deadline-based liveness. The deadline is `last activity + interval + timeout`; one timer
 * wakes the code at the deadline, and the decision compares clock.now() with it, so a timer
 * that fires late (background tabs throttle timers to once a minute; a sleeping laptop stops
 * them) cannot be mistaken for a dead link by counting ticks. When the timer was very late, the
 * silence is ours, not the link's: probe with a ping and give the link `timeout` to answer.
 */
export function createHeartbeat(settings: HeartbeatSettings): Heartbeat {
  const { clock, intervalMs, timeoutMs } = settings;
  let lastActivity = clock.now();
  let deadline = lastActivity + intervalMs + timeoutMs;
  let wakeAt = 0;
  let timer: TimerId | undefined;
  let stopped = false;
  // A late timer earns one probe; still silent at the next late wake, the link is dead.
  let probing = false;

  const arm = (at: number) => {
    clock.clearTimeout(timer);
    wakeAt = at;
    timer = clock.setTimeout(wake, Math.max(0, at - clock.now()));
  };

  function judge(lateness: number) {
    const now = clock.now();
    // The wall clock was set back past the last activity (timers run on the system's own time):
    // count the silence from now, or a dead link would go unnoticed for as long as it was set back.
    if (lastActivity > now) {
      deadline -= lastActivity - now;
      lastActivity = now;
    }
    if (now < deadline) return arm(deadline);
    if (lateness > LATE_WAKE_MS && !probing) {
      probing = true;
      deadline = now + timeoutMs;
      arm(deadline);
      return settings.onProbe();
    }
    stopped = true;
    timer = undefined;
    settings.onExpired(now - lastActivity);
  }

  function wake() {
    timer = undefined;
    if (!stopped) judge(clock.now() - wakeAt);
  }

  arm(deadline);
  return {
    activity() {
      lastActivity = clock.now();
      deadline = lastActivity + intervalMs + timeoutMs;
      probing = false;
    },
    suspect() {
      if (stopped) return;
      deadline = Math.min(deadline, clock.now() + timeoutMs);
      arm(deadline);
    },
    stop() {
      stopped = true;
      clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
