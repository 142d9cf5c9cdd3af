import { describe, expect, it, vi } from "vitest";
import { createHeartbeat } from "../src/heartbeat.js";
import { createManualClock } from "@lifeline/testkit";

const setup = () => {
  const clock = createManualClock();
  const onExpired = vi.fn();
  const onProbe = vi.fn();
  const heartbeat = createHeartbeat({ clock, intervalMs: 1000, timeoutMs: 500, onExpired, onProbe });
  return { clock, onExpired, onProbe, heartbeat };
};

describe("heartbeat", () => {
  it("expires after interval + timeout of silence, not before", () => {
    const { clock, onExpired, heartbeat } = setup();
    clock.advance(1499);
    expect(onExpired).not.toHaveBeenCalled();
    clock.advance(1);
    expect(onExpired).toHaveBeenCalledTimes(1);
    expect(onExpired).toHaveBeenCalledWith(1500);
    expect(clock.pendingTimers).toBe(0);
    heartbeat.stop();
  });

  it("after suspect(), expires once the link stays silent for timeout and reports the silence it saw", () => {
    const { clock, onExpired, heartbeat } = setup();
    clock.advance(200);
    heartbeat.activity();
    clock.advance(100);
    heartbeat.suspect(); // back in the foreground: 500 ms to show life
    clock.advance(499);
    expect(onExpired).not.toHaveBeenCalled();
    clock.advance(1);
    expect(onExpired).toHaveBeenCalledWith(600);
  });

  it("is not fooled for long by a wall clock set back: a dead link still expires within two windows", () => {
    // Timers run on the system's monotonic time, Date.now() on the wall clock, which can be set back.
    const timers = createManualClock();
    let offset = 0;
    const clock = { now: () => timers.now() + offset, setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout };
    const onExpired = vi.fn();
    const heartbeat = createHeartbeat({ clock, intervalMs: 1000, timeoutMs: 500, onExpired, onProbe: vi.fn() });
    timers.advance(500);
    heartbeat.activity();
    offset = -60_000; // set back a minute; the link dies now
    timers.advance(999); // a window after the activity: not yet
    expect(onExpired).not.toHaveBeenCalled();
    timers.advance(2001); // two windows after the jump
    expect(onExpired).toHaveBeenCalledTimes(1);
    expect(timers.pendingTimers).toBe(0);
    heartbeat.stop();
  });

  it("moves the deadline on every activity", () => {
    const { clock, onExpired, heartbeat } = setup();
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      heartbeat.activity();
    }
    expect(onExpired).not.toHaveBeenCalled();
    clock.advance(1500);
    expect(onExpired).toHaveBeenCalledTimes(1);
  });

  it("treats a timer that fires very late as suspension: probes instead of expiring", () => {
    const { clock, onExpired, onProbe, heartbeat } = setup();
    clock.jump(60_000); // the process slept; the timer could not run
    clock.advance(0);
    expect(onExpired).not.toHaveBeenCalled();
    expect(onProbe).toHaveBeenCalledTimes(1);
    heartbeat.activity(); // the pong arrives: the link is alive
    clock.advance(1499);
    expect(onExpired).not.toHaveBeenCalled();
    clock.advance(1);
    expect(onExpired).toHaveBeenCalledTimes(1);
  });

  it("expires after the probe when nothing answers", () => {
    const { clock, onExpired, onProbe } = setup();
    clock.jump(60_000);
    clock.advance(0);
    expect(onProbe).toHaveBeenCalledTimes(1);
    clock.advance(500);
    expect(onExpired).toHaveBeenCalledTimes(1);
  });

  it("a link still silent at the next late wake is dead: throttled timers cannot hide it forever", () => {
    const { clock, onExpired, onProbe } = setup();
    clock.jump(60_000);
    clock.advance(0);
    expect(onProbe).toHaveBeenCalledTimes(1);
    // Throttled again (a background tab): the probe's timer also fires a minute late.
    clock.jump(60_000);
    clock.advance(0);
    expect(onProbe).toHaveBeenCalledTimes(1);
    expect(onExpired).toHaveBeenCalledTimes(1);
  });

  it("stop() clears its timer and nothing fires afterwards", () => {
    const { clock, onExpired, onProbe, heartbeat } = setup();
    heartbeat.stop();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(10_000);
    clock.jump(60_000);
    clock.advance(0);
    expect(onExpired).not.toHaveBeenCalled();
    expect(onProbe).not.toHaveBeenCalled();
  });
});
