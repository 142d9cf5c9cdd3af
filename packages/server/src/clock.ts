/** Timer handle as returned by the clock's setTimeout. */
export type TimerId = unknown;

/**
 * Source of time and timers. Every time-dependent part of the server takes one, so tests drive
 * time by hand. Deadlines are timestamps compared with now(); timers only wake the code up.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/** The real clock. Reads the globals at call time, so fake timers installed later still apply. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (id) => globalThis.clearTimeout(id as ReturnType<typeof setTimeout>),
};
