import { describe, expect, it } from "vitest";
import { createTransportHealth, SHORT_LIVED_MS } from "../../src/connection/health.js";
import type { TransportFactory, TransportName } from "../../src/transports/transport.js";
import { createManualClock } from "@lifeline/testkit";

const factory = (name: TransportName) => ({ name }) as TransportFactory;
const all = [factory("websocket"), factory("streaming"), factory("polling")];
const names = (factories: readonly TransportFactory[]) => factories.map((f) => f.name);

function setup() {
  // Timers run on the system's monotonic time, Date.now() on the wall clock, which can be set back.
  const timers = createManualClock();
  const wall = { offset: 0 };
  const health = createTransportHealth({ now: () => timers.now() + wall.offset, setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout });
  const demote = (name: TransportName) => {
    health.lost(name, SHORT_LIVED_MS - 1, false);
    return health.lost(name, SHORT_LIVED_MS - 1, false);
  };
  return { timers, wall, health, demote };
}

describe("transport health", () => {
  it("demotes after two short-lived links for a minute, then twice as long, and orders the demoted transport out", () => {
    const { timers, health, demote } = setup();
    expect(demote("websocket")).toBe(true);
    expect(health.demotedForMs("websocket")).toBe(60_000);
    // Tried last, not left out: the others may not be able to connect at all.
    expect(names(health.order(all, "websocket"))).toEqual(["streaming", "polling", "websocket"]);
    timers.advance(60_000);
    expect(health.demotedForMs("websocket")).toBe(0);
    expect(names(health.order(all, undefined))).toEqual(["websocket", "streaming", "polling"]);
    // Once demoted, one more short-lived link is enough, and it lasts twice as long.
    expect(health.lost("websocket", 500, false)).toBe(true);
    expect(health.demotedForMs("websocket")).toBe(120_000);
  });

  it("counts no strike for a blameless loss (the device's or the page's doing), though a long one still clears the strikes", () => {
    const { health } = setup();
    expect(health.lost("websocket", 500, false)).toBe(false); // one strike
    expect(health.lost("websocket", 500, true)).toBe(false);
    expect(health.lost("websocket", 500, true)).toBe(false);
    expect(health.demotedForMs("websocket")).toBe(0);
    // A link that lived long breaks the row, whatever ended it: one more strike is no demotion.
    expect(health.lost("websocket", SHORT_LIVED_MS, true)).toBe(false);
    expect(health.lost("websocket", 500, false)).toBe(false);
    expect(health.lost("websocket", 500, false)).toBe(true);
  });

  it("puts demoted transports after the healthy ones, the one whose demotion ends soonest first, whatever is preferred", () => {
    const { timers, health, demote } = setup();
    demote("polling");
    timers.advance(1000);
    demote("websocket");
    expect(names(health.order(all, "polling"))).toEqual(["streaming", "polling", "websocket"]);
    timers.advance(1000);
    demote("streaming");
    expect(names(health.order(all, "streaming"))).toEqual(["polling", "websocket", "streaming"]);
    // Polling died again (one loss is enough now): its demotion starts over, so it goes last. The
    // preferred one (the last link's transport, which just died) is no reason to start with it.
    expect(health.lost("polling", 500, false)).toBe(true);
    expect(names(health.order(all, "polling"))).toEqual(["websocket", "streaming", "polling"]);
  });

  it("demotes a transport lost while still demoted for as long again, not longer (a flapping network demotes them all)", () => {
    const { timers, health, demote } = setup();
    demote("websocket");
    timers.advance(30_000);
    expect(health.lost("websocket", 500, false)).toBe(true);
    expect(health.demotedForMs("websocket")).toBe(60_000);
    // Failing again once the demotion has ended: twice as long.
    timers.advance(60_000);
    expect(health.lost("websocket", 500, false)).toBe(true);
    expect(health.demotedForMs("websocket")).toBe(120_000);
  });

  it("is stretched by a wall clock set back by at most its own length, and one that ended stays ended", () => {
    const { timers, wall, health, demote } = setup();
    demote("websocket");
    timers.advance(10_000);
    wall.offset = -3600_000; // an NTP step or a phone correcting its time: an hour back
    expect(health.demotedForMs("websocket")).toBe(60_000);
    timers.advance(59_999);
    expect(health.demotedForMs("websocket")).toBe(1);
    timers.advance(1);
    expect(health.demotedForMs("websocket")).toBe(0);
    expect(names(health.order(all, undefined))[0]).toBe("websocket");
    wall.offset -= 3600_000; // set back once more: the ended demotion does not come back
    expect(health.demotedForMs("websocket")).toBe(0);
  });

  it("counts a link whose uptime a wall clock set back spoiled neither for nor against its transport", () => {
    const { health, demote } = setup();
    demote("websocket");
    expect(health.lost("websocket", -3_590_000, false)).toBe(false); // up ten seconds, the clock set back an hour
    expect(health.lost("websocket", 500, false)).toBe(true); // a real short-lived link still counts
    expect(health.lost("streaming", 500, false)).toBe(false); // a strike
    expect(health.lost("streaming", Number.NaN, false)).toBe(false);
    expect(health.lost("streaming", 500, false)).toBe(true); // the strike was not forgiven
  });
});
