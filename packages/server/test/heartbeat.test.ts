import { describe, expect, it } from "vitest";
import { createHeartbeats } from "../src/heartbeat.js";
import type { HeartbeatConfig, Watched } from "../src/heartbeat.js";
import { createManualClock } from "@lifeline/testkit";

/** One link watched with callbacks, as a session is. */
function startHeartbeat(config: HeartbeatConfig & { onPing(): void; onExpired(): void }) {
  const heartbeats = createHeartbeats(config);
  const link: Watched = { lastActivityMs: 0, nextPingAtMs: 0, ping: config.onPing, expire: config.onExpired };
  heartbeats.watch(link);
  return {
    activity: () => void (link.lastActivityMs = config.clock.now()),
    stop: () => heartbeats.unwatch(link),
  };
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
    const a: Watched = { lastActivityMs: 0, nextPingAtMs: 0, ping: () => log.push("ping a"), expire: () => log.push("expire a") };
    const b: Watched = {
      lastActivityMs: 0,
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
