import { describe, expect, it } from "vitest";
import { createManualClock } from "@lifeline/testkit";
import { resolveOptions } from "../src/options.js";
import { createRecent, createRegistry } from "../src/registry.js";
import { createSession } from "../src/session.js";

function registryWithClock() {
  const clock = createManualClock();
  const options = resolveOptions({ clock, resumeWindow: 5000 });
  const registry = createRegistry((id, hooks) => createSession({ id, options, schedule: (flush) => flush(), ...hooks }), {
    clock,
    endedKeepMs: 1000,
    closedKeepMs: options.resumeWindowMs,
  });
  return { clock, registry };
}

describe("registry: sessions the application closed", () => {
  it("keeps a close that ends the client for the resume window, then forgets it", () => {
    const { clock, registry } = registryWithClock();
    const session = registry.create();
    session.api.close(4999, "kicked");
    expect(registry.get(session.id)).toBeUndefined();
    expect(registry.closedByApp(session.id)).toEqual({ code: 4999, reason: "kicked" });
    clock.advance(4999);
    expect(registry.closedByApp(session.id)).toEqual({ code: 4999, reason: "kicked" });
    clock.advance(1);
    expect(registry.closedByApp(session.id)).toBeUndefined();
  });

  it("keeps nothing for a code the client reconnects on, nor for a session that ended otherwise", () => {
    const { registry } = registryWithClock();
    for (const code of [1001, 1011, 4000, 4099]) {
      const session = registry.create();
      session.api.close(code, "come back");
      expect(registry.closedByApp(session.id), String(code)).toBeUndefined();
    }
    // Ended by the server itself (here a refusal), not by session.close().
    const refused = registry.create();
    refused.close({ code: 4100, reason: "protocol error" });
    expect(registry.closedByApp(refused.id)).toBeUndefined();
    expect(registry.closedByApp("never-seen")).toBeUndefined();
  });

  it("keeps at most 10,000 closes, forgetting the oldest first", () => {
    const { registry } = registryWithClock();
    const ids: string[] = [];
    for (let i = 0; i <= 10_000; i++) {
      const session = registry.create();
      ids.push(session.id);
      session.api.close(1000, "bye");
    }
    expect(registry.closedByApp(ids[0]!)).toBeUndefined();
    expect(registry.closedByApp(ids[1]!)).toEqual({ code: 1000, reason: "bye" });
    expect(registry.closedByApp(ids.at(-1)!)).toEqual({ code: 1000, reason: "bye" });
  });

  it("keeps the reason only as far as a WebSocket close frame carries it (123 bytes)", () => {
    const { registry } = registryWithClock();
    const session = registry.create();
    session.api.close(4999, "banned: " + "€".repeat(100));
    expect(registry.closedByApp(session.id)).toEqual({ code: 4999, reason: "banned: " + "€".repeat(38) }); // 8 + 38 × 3 = 122 bytes
  });

  it("keeps nothing when sessions cannot be resumed at all (resumeWindow 0)", () => {
    const clock = createManualClock();
    const options = resolveOptions({ clock, resumeWindow: 0 });
    const registry = createRegistry((id, hooks) => createSession({ id, options, schedule: (flush) => flush(), ...hooks }), { clock, endedKeepMs: 1000, closedKeepMs: 0 });
    const session = registry.create();
    session.api.close(4999, "kicked");
    expect(registry.closedByApp(session.id)).toBeUndefined();
  });
});

describe("createRecent", () => {
  it("lets go of expired entries when one is looked up, not only when one is stored", () => {
    const clock = createManualClock();
    const recent = createRecent<string>(clock, 1000);
    recent.set("a", "first");
    clock.advance(500);
    recent.set("b", "second");
    expect(recent.size).toBe(2);
    clock.advance(500);
    expect(recent.get("b")).toBe("second");
    expect(recent.size).toBe(1);
    clock.advance(500);
    expect(recent.get("never-seen")).toBeUndefined();
    expect(recent.size).toBe(0);
  });

  it("keeps an entry set again for its full time from then", () => {
    const clock = createManualClock();
    const recent = createRecent<number>(clock, 1000);
    recent.set("a", 1);
    recent.set("b", 2);
    clock.advance(900);
    recent.set("a", 3);
    clock.advance(200);
    expect(recent.get("b")).toBeUndefined();
    expect(recent.get("a")).toBe(3);
    clock.advance(800);
    expect(recent.get("a")).toBeUndefined();
  });
});
