import { describe, expect, it } from "vitest";
import { publicState, transition } from "../../src/connection/state.js";
import type { ConnectionEvent, MachineState } from "../../src/connection/state.js";

const events: Record<string, ConnectionEvent> = {
  welcome: { type: "welcome" },
  lostRetry: { type: "linkLost", retryDelayMs: 250 },
  lostFinal: { type: "linkLost", retryDelayMs: null },
  retryDue: { type: "retryDue" },
  wake: { type: "wake" },
  close: { type: "close" },
};

// Expected [next state, effect types] per state and event; null = ignored.
const attempting: Record<string, [MachineState, string[]] | null> = {
  welcome: ["open", ["announceOpen"]],
  lostRetry: ["backoff", ["closeLink", "scheduleRetry"]],
  lostFinal: ["closed", ["closeLink", "finish"]],
  retryDue: null,
  wake: null,
  close: ["closed", ["closeLink", "finish"]],
};

const table: Record<MachineState, Record<string, [MachineState, string[]] | null>> = {
  connecting: attempting,
  retrying: attempting,
  open: {
    welcome: null,
    lostRetry: ["backoff", ["closeLink", "scheduleRetry"]],
    lostFinal: ["closed", ["closeLink", "finish"]],
    retryDue: null,
    wake: null,
    close: ["closed", ["closeLink", "finish"]],
  },
  backoff: {
    welcome: null,
    lostRetry: null,
    lostFinal: null,
    retryDue: ["retrying", ["openLink"]],
    wake: ["retrying", ["cancelRetry", "openLink"]],
    close: ["closed", ["cancelRetry", "finish"]],
  },
  closed: { welcome: null, lostRetry: null, lostFinal: null, retryDue: null, wake: null, close: null },
};

describe("transition", () => {
  for (const [state, row] of Object.entries(table) as [MachineState, (typeof table)[MachineState]][]) {
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

  it("shows both phases of a retry, its wait and its attempts, as one public reconnecting", () => {
    expect(publicState("backoff")).toBe("reconnecting");
    expect(publicState("retrying")).toBe("reconnecting");
    for (const state of ["connecting", "open", "closed"] as const) expect(publicState(state)).toBe(state);
  });

  it("carries the retry delay into the scheduleRetry effect", () => {
    expect(transition("open", { type: "linkLost", retryDelayMs: 1234 })?.effects).toContainEqual({ type: "scheduleRetry", delayMs: 1234 });
  });
});
