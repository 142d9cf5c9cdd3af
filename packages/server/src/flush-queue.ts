/**
 * Runs queued flushes once per event-loop turn, all of them in one setImmediate. Everything a
 * session queues during a turn (a burst of send() calls, acks for a batch of messages, a pong)
 * leaves in one write, and a thousand busy sessions cost one timer, not a thousand.
 */
export interface FlushQueue {
  schedule(flush: () => void): void;
  /** Drops what is queued and cancels the pending turn. */
  clear(): void;
}

export function createFlushQueue(onError: (error: unknown) => void): FlushQueue {
  let queue: (() => void)[] = [];
  let handle: ReturnType<typeof setImmediate> | undefined;
  const run = () => {
    handle = undefined;
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
  return {
    schedule(flush) {
      queue.push(flush);
      handle ??= setImmediate(run);
    },
    clear() {
      queue = [];
      if (handle !== undefined) clearImmediate(handle);
      handle = undefined;
    },
  };
}
