import type { Clock } from "@lifeline/protocol";

/** A clock that only moves when the test says so. Timers fire in deadline order during advance(). */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  /** Moves time without running timers, as a suspended process experiences it. */
  jump(ms: number): void;
  readonly pendingTimers: number;
}

export function createManualClock(start = 1_000_000): ManualClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const due = () => {
    let best: [number, { at: number; fn: () => void }] | undefined;
    for (const entry of timers) if (entry[1].at <= now && (!best || entry[1].at < best[1].at)) best = entry;
    return best;
  };
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(id) {
      timers.delete(id as number);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const upcoming = [...timers.values()].filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!upcoming) break;
        now = Math.max(now, upcoming.at);
        let entry;
        while ((entry = due())) {
          timers.delete(entry[0]);
          entry[1].fn();
        }
      }
      now = end;
    },
    jump(ms) {
      now += ms;
    },
    get pendingTimers() {
      return timers.size;
    },
  };
}
