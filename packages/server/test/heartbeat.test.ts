import { describe, expect, it } from "vitest";
import { createHeartbeats } from "../src/heartbeat.js";
import type { HeartbeatConfig, Watched } from "../src/heartbeat.js";
import { createManualClock } from "@lifeline/testkit";

/** One link watched with callbacks, as a session is. */
function startHeartbeat(config: HeartbeatConfig & { onPing(): void; onExpired(): void }) {
  const heartbeats = createHeartbeats(config);
  const link: Watched = { lastActivityMs: 0, batchSinceMs: undefined, nextPingAtMs: 0, ping: config.onPing, expire: config.onExpired };
  heartbeats.watch(link);
  return {
    /** A whole batch (or a poll) arrived. */
    activity: () => {
      link.lastActivityMs = config.clock.now();
      link.batchSinceMs = undefined;
    },
    /** Part of a batch arrived. */
    receiving: () => {
      link.lastActivityMs = config.clock.now();
      if (link.batchSinceMs !== undefined) return;
      link.batchSinceMs = link.lastActivityMs;
      heartbeats.uploading(link);
    },
    stop: () => heartbeats.unwatch(link),
  };
}

/**
 * Timers that run on (the system's monotonic time) and a wall clock read by now(), which can be
 * set back, as Date.now() can.
 */
function settableClock() {
  const timers = createManualClock();
  let offset = 0;
  const clock = { now: () => timers.now() + offset, setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout };
  return { timers, clock, setBack: (ms: number) => void (offset -= ms) };
}

/** startHeartbeat on a settableClock, logging pings and expiries at the timers' time. */
function setupSettable(intervalMs: number, timeoutMs: number) {
  const { timers, clock, setBack } = settableClock();
  const log: string[] = [];
  const elapsed = () => timers.now() - 1_000_000;
  const heartbeat = startHeartbeat({ clock, intervalMs, timeoutMs, onPing: () => log.push(`ping@${elapsed()}`), onExpired: () => log.push(`expired@${elapsed()}`) });
  /** When a log entry happened. */
  const at = (entry: string | undefined) => Number(entry?.split("@")[1]);
  return { timers, setBack, log, heartbeat, at };
}

function setup(intervalMs = 100, timeoutMs = 50) {
  const clock = createManualClock();
  const log: string[] = [];
  const heartbeat = startHeartbeat({
    clock,
    intervalMs,
    timeoutMs,
    onPing: () => log.push(`ping@${clock.now() - 1_000_000}`),
    onExpired: () => log.push(`expired@${clock.now() - 1_000_000}`),
  });
  return { clock, log, heartbeat };
}

describe("heartbeat", () => {
  it("pings every interval while activity continues", () => {
    const { clock, log, heartbeat } = setup();
    for (let i = 0; i < 6; i++) {
      clock.advance(50);
      heartbeat.activity();
    }
    expect(log).toEqual(["ping@100", "ping@200", "ping@300"]);
  });

  // The client's check after a foreground or network change waits for its ping, which over
  // WebSocket travels behind a batch still going up; it gives us the timeout to show life.
  it("pings every half timeout while a batch takes longer than that to arrive, then on the interval again", () => {
    // The defaults: sweeps up to 1 s late, so these pings are due 4 s apart.
    const { clock, log, heartbeat } = setup(15_000, 10_000);
    clock.advance(1000);
    heartbeat.receiving(); // a batch starts to arrive at 1000
    clock.advance(6000);
    heartbeat.receiving();
    clock.advance(7000);
    heartbeat.activity(); // and is whole at 14000
    clock.advance(16_000);
    expect(log).toEqual(["ping@5000", "ping@9000", "ping@13000", "ping@28000"]);
  });

  it("pings on the interval alone when each batch arrives within half the timeout", () => {
    const { clock, log, heartbeat } = setup(15_000, 10_000);
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      heartbeat.receiving();
      clock.advance(2000);
      heartbeat.activity();
    }
    expect(log).toEqual(["ping@15000", "ping@30000"]);
  });

  it("expires after interval + timeout of silence, once, and stops its timer", () => {
    const { clock, log } = setup();
    clock.advance(149);
    expect(log).toEqual(["ping@100"]);
    clock.advance(1);
    expect(log).toEqual(["ping@100", "expired@150"]);
    clock.advance(1000);
    expect(log).toHaveLength(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it("measures the silence from the last activity, not from ticks", () => {
    const { clock, log, heartbeat } = setup();
    clock.advance(120);
    heartbeat.activity(); // at 120: dead at 270
    clock.advance(149);
    expect(log).toEqual(["ping@100", "ping@200"]);
    clock.advance(1);
    expect(log.at(-1)).toBe("expired@270");
  });

  it("a clock set back delays neither pings nor the expiry of a silent link by as much", () => {
    const { timers, setBack, log, heartbeat, at } = setupSettable(100, 50);
    timers.advance(60);
    heartbeat.activity();
    setBack(60_000); // a minute; the client goes silent
    timers.advance(400);
    // Pinged within an interval of its time, and judged silent within two windows of the jump:
    // not a minute later.
    expect(log[0]).toMatch(/^ping@/);
    expect(at(log[0])).toBeLessThanOrEqual(200);
    expect(log.at(-1)).toMatch(/^expired@/);
    expect(at(log.at(-1))).toBeLessThanOrEqual(60 + 2 * 150 + 25);
    expect(timers.pendingTimers).toBe(0);
    heartbeat.stop();
  });

  it("does not let a batch arriving after the clock was set back hold the sweep back", () => {
    const { timers, setBack, log, heartbeat, at } = setupSettable(1000, 400);
    timers.advance(500);
    setBack(3_600_000); // an hour
    heartbeat.receiving(); // and a batch starts to arrive, then nothing more
    timers.advance(3000);
    // Pinged while the batch arrives, and judged silent within about two windows of the jump.
    expect(log[0]).toMatch(/^ping@/);
    expect(at(log[0])).toBeLessThanOrEqual(800);
    expect(log.at(-1)).toMatch(/^expired@/);
    expect(at(log.at(-1))).toBeLessThanOrEqual(500 + 2 * 1400 + 100);
    heartbeat.stop();
  });

  it("pings on time a link watched after the clock was set back", () => {
    const { timers, clock, setBack } = settableClock();
    const heartbeats = createHeartbeats({ clock, intervalMs: 100, timeoutMs: 50 });
    const pings: number[] = [];
    const watched = (): Watched => ({ lastActivityMs: 0, batchSinceMs: undefined, nextPingAtMs: 0, ping: () => pings.push(timers.now() - 1_000_000), expire: () => undefined });
    const first = watched();
    heartbeats.watch(first);
    timers.advance(100); // a sweep: it pings
    heartbeats.unwatch(first);
    setBack(60_000);
    const second = watched();
    heartbeats.watch(second);
    timers.advance(150);
    expect(pings).toEqual([100, 200]);
    heartbeats.unwatch(second);
    expect(timers.pendingTimers).toBe(0);
  });

  it("stop() cancels everything", () => {
    const { clock, log, heartbeat } = setup();
    heartbeat.stop();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(10_000);
    expect(log).toEqual([]);
  });
});

describe("the server-wide heartbeat sweep", () => {
  it("leaves no timer armed when the last link is unwatched from inside a sweep", () => {
    const clock = createManualClock();
    const heartbeats = createHeartbeats({ clock, intervalMs: 1000, timeoutMs: 500 });
    const log: string[] = [];
    const a: Watched = { lastActivityMs: 0, batchSinceMs: undefined, nextPingAtMs: 0, ping: () => log.push("ping a"), expire: () => log.push("expire a") };
    const b: Watched = {
      lastActivityMs: 0,
      batchSinceMs: undefined,
      nextPingAtMs: 0,
      ping: () => log.push("ping b"),
      // Its expiry ends the other link too (a 'close' listener that closes the server, say).
      expire: () => {
        log.push("expire b");
        heartbeats.unwatch(a);
      },
    };
    heartbeats.watch(a);
    heartbeats.watch(b);
    clock.advance(600);
    a.lastActivityMs = clock.now();
    clock.advance(900);
    expect(log).toEqual(["ping a", "ping b", "expire b"]);
    expect(clock.pendingTimers).toBe(0);
  });
});
