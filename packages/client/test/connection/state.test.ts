import { describe, expect, it } from "vitest";
import { transition } from "../../src/connection/state.js";
import type { ConnectionEvent, ConnectionState } from "../../src/connection/state.js";

const events: Record<string, ConnectionEvent> = {
  welcome: { type: "welcome" },
  lostRetry: { type: "linkLost", retryDelayMs: 250 },
  lostFinal: { type: "linkLost", retryDelayMs: null },
  retryDue: { type: "retryDue" },
  wake: { type: "wake" },
  close: { type: "close" },
};

// Expected [next state, effect types] per state and event; null = ignored.
const table: Record<ConnectionState, Record<string, [ConnectionState, string[]] | null>> = {
  connecting: {
    welcome: ["open", ["announceOpen"]],
    lostRetry: ["reconnecting", ["closeLink", "scheduleRetry"]],
    lostFinal: ["closed", ["closeLink", "finish"]],
    retryDue: null,
    wake: null,
    close: ["closed", ["closeLink", "finish"]],
  },
  open: {
    welcome: null,
    lostRetry: ["reconnecting", ["closeLink", "scheduleRetry"]],
    lostFinal: ["closed", ["closeLink", "finish"]],
    retryDue: null,
    wake: null,
    close: ["closed", ["closeLink", "finish"]],
  },
  reconnecting: {
    welcome: null,
    lostRetry: null,
    lostFinal: null,
    retryDue: ["connecting", ["openLink"]],
    wake: ["connecting", ["cancelRetry", "openLink"]],
    close: ["closed", ["cancelRetry", "finish"]],
  },
  closed: { welcome: null, lostRetry: null, lostFinal: null, retryDue: null, wake: null, close: null },
};

describe("transition", () => {
  for (const [state, row] of Object.entries(table) as [ConnectionState, (typeof table)[ConnectionState]][]) {
    for (const [name, expected] of Object.entries(row)) {
      it(`${state} + ${name} → ${expected ? expected[0] : "ignored"}`, () => {
        const result = transition(state, events[name]!);
        if (expected === null) expect(result).toBeNull();
        else {
          expect(result?.state).toBe(expected[0]);
          expect(result?.effects.map((e) => e.type)).toEqual(expected[1]);
        }
      });
    }
  }

  it("carries the retry delay into the scheduleRetry effect", () => {
    expect(transition("open", { type: "linkLost", retryDelayMs: 1234 })?.effects).toContainEqual({ type: "scheduleRetry", delayMs: 1234 });
  });
});
