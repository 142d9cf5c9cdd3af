import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";

/** Network conditions read when each chunk arrives, so changes apply to existing connections too. */
export interface LaneConditions {
  readonly latencyMs: number;
  /** Bytes per second this direction may carry; null for unlimited. */
  readonly bytesPerSecond: number | null;
}

export interface LaneCounters {
  delivered(bytes: number): void;
  dropped(bytes: number): void;
}

/** One direction of a proxied connection: bytes read from one socket and written to the other. */
export interface Lane {
  /** From now on, drop every byte and the FIN, including what is already queued. Irreversible. */
  blackhole(): void;
  /** Stops reading and forgets the queue and its timer; the sockets are the caller's to close. */
  dispose(): void;
}

/** An item queued for delivery; `null` stands for the source's FIN. */
interface Pending {
  readonly chunk: Buffer | null;
  readonly deliverAt: number;
}

/** How much a lane queues before it stops reading, as TCP's window would stop the sender. */
const MAX_QUEUED_BYTES = 64 * 1024;
/** Throttled chunks are split into slices this long, so throughput is smooth, not bursty. */
const SLICE_MS = 50;

/**
 * Moves bytes from `source` to `sink` in order, each chunk held back by the latency and by the
 * throttle (modelled as a serial link: a chunk occupies the link for bytes / rate seconds, then
 * travels for latencyMs). With neither set and nothing queued, bytes pass through at once.
 * Backpressure is kept end to end: the lane pauses the source while the queue is full or the
 * sink's buffer is, so a throttled proxy slows the sender down instead of eating memory.
 */
export function createLane(
  source: Socket,
  sink: Socket,
  conditions: () => LaneConditions,
  counters: LaneCounters,
): Lane {
  const queue: Pending[] = [];
  let queuedBytes = 0;
  let linkFreeAt = 0;
  let lastDeliverAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let waitingForDrain = false;
  let dropping = false;
  let disposed = false;

  function enqueue(chunk: Buffer | null, now: number) {
    const { latencyMs, bytesPerSecond } = conditions();
    const sliceBytes = bytesPerSecond === null ? Infinity : Math.max(1, Math.floor((bytesPerSecond * SLICE_MS) / 1000));
    let offset = 0;
    do {
      const slice = chunk === null ? null : chunk.subarray(offset, offset + sliceBytes);
      const length = slice === null ? 0 : slice.length;
      offset += length;
      const sentAt = Math.max(now, linkFreeAt);
      linkFreeAt = bytesPerSecond === null ? sentAt : sentAt + (length * 1000) / bytesPerSecond;
      // Latency may shrink at runtime; never let a later chunk overtake an earlier one.
      lastDeliverAt = Math.max(lastDeliverAt, linkFreeAt + latencyMs);
      queue.push({ chunk: slice, deliverAt: lastDeliverAt });
      queuedBytes += length;
    } while (chunk !== null && offset < chunk.length);
  }

  function flush() {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.deliverAt <= now) {
      const { chunk } = queue.shift()!;
      if (chunk === null) {
        if (!sink.destroyed) sink.end();
        continue;
      }
      queuedBytes -= chunk.length;
      deliver(chunk);
    }
    const next = queue[0];
    if (next !== undefined) timer = setTimeout(flush, Math.max(0, next.deliverAt - now));
    updateFlow();
  }

  function deliver(chunk: Buffer) {
    if (sink.destroyed || !sink.writable) return counters.dropped(chunk.length);
    counters.delivered(chunk.length);
    if (!sink.write(chunk) && !waitingForDrain) {
      waitingForDrain = true;
      sink.once("drain", onDrain);
    }
  }

  function onDrain() {
    waitingForDrain = false;
    updateFlow();
  }

  function updateFlow() {
    if (disposed) return;
    const full = !dropping && (waitingForDrain || queuedBytes > MAX_QUEUED_BYTES);
    if (full) source.pause();
    else source.resume();
  }

  function onData(chunk: Buffer) {
    if (dropping) return counters.dropped(chunk.length);
    const now = performance.now();
    const { latencyMs, bytesPerSecond } = conditions();
    if (queue.length === 0 && latencyMs <= 0 && bytesPerSecond === null) return deliver(chunk);
    enqueue(chunk, now);
    if (timer === undefined) flush();
    else updateFlow();
  }

  function onEnd() {
    // A dead path carries no FIN either.
    if (dropping) return;
    enqueue(null, performance.now());
    if (timer === undefined) flush();
  }

  function forgetQueue() {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    counters.dropped(queuedBytes);
    queue.length = 0;
    queuedBytes = 0;
  }

  source.on("data", onData);
  source.on("end", onEnd);

  return {
    blackhole() {
      dropping = true;
      forgetQueue();
      updateFlow();
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      forgetQueue();
      source.off("data", onData);
      source.off("end", onEnd);
      sink.off("drain", onDrain);
    },
  };
}
