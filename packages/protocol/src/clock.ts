/** Timer handle as returned by the clock's setTimeout. */
export type TimerId = unknown;

/**
 * Source of time and timers. Every time-dependent part of client and server takes one, so tests
 * drive time by hand. Deadlines are compared with now(); timers only wake the code up.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/**
 * The real clock. It reads the globals at call time (not at import), so fake timers installed
 * after import still apply, and importing the module touches nothing.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (id) => globalThis.clearTimeout(id as ReturnType<typeof setTimeout>),
};
