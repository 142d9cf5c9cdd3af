/**
 * Runs queued flushes with as little delay as batching allows. The first flush of an event-loop
 * turn runs in a microtask, right after the callback that queued it: a lone reply (an echo, a
 * pong) leaves at once. Whatever is queued later in the same turn waits for one setImmediate at
 * the end of the turn, so under load everything a session queues (a burst of send() calls, acks
 * for a batch of messages) leaves in one write, and a thousand busy sessions cost one timer.
 */
export interface FlushQueue {
  schedule(flush: () => void): void;
  /** Drops what is queued and cancels the pending turn. */
  clear(): void;
}

export function createFlushQueue(onError: (error: unknown) => void): FlushQueue {
  let queue: (() => void)[] = [];
  // A run is already on its way (microtask or end of turn).
  let scheduled = false;
  // Set while this turn has flushed once: later flushes wait for its end.
  let turn: ReturnType<typeof setImmediate> | undefined;
  const run = () => {
    scheduled = false;
    const flushes = queue;
    queue = [];
    for (const flush of flushes) {
      // One failing session must not hold back every other session's frames.
      try {
        flush();
      } catch (error) {
        onError(error);
      }
    }
  };
  const endTurn = () => {
    turn = undefined;
    if (scheduled) run();
  };
  return {
    schedule(flush) {
      queue.push(flush);
      if (scheduled) return;
      scheduled = true;
      if (turn !== undefined) return;
      queueMicrotask(run);
      turn = setImmediate(endTurn);
    },
    clear() {
      queue = [];
      scheduled = false;
      if (turn !== undefined) clearImmediate(turn);
      turn = undefined;
    },
  };
}
