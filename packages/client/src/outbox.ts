import { FRAME_OVERHEAD_BYTES } from "@lifeline/protocol";
import type { MessageFrame } from "@lifeline/protocol";
import { LifelineError } from "./errors.js";

export type Payload = string | Uint8Array;

/**
 * What send() was given, as it is kept until acknowledged: text as is, binary copied (the caller
 * may reuse its buffer before the server has the message).
 * @throws LifelineError INVALID_ARGUMENT for anything else.
 */
export function toPayload(data: unknown): Payload {
  if (typeof data === "string") return data;
  let given = data === null ? "null" : typeof data;
  try {
    // Not instanceof: an ArrayBuffer made in another frame (realm) has another constructor.
    if (Object.prototype.toString.call(data) === "[object ArrayBuffer]") return new Uint8Array((data as ArrayBuffer).slice(0));
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  } catch (error) {
    // slice() throws a TypeError on a buffer transferred away (postMessage, structuredClone):
    // no bytes to send. Anything else (no memory for the copy) is not the caller's input.
    if ((error as Error)?.name !== "TypeError") throw error;
    given = "a detached buffer";
  }
  throw new LifelineError("INVALID_ARGUMENT", `send() takes a string or bytes, not ${given}`);
}

/**
 * Messages sent but not yet acknowledged by the server, in seq order. Seq numbers are given at
 * push; acks trim the front; a resume rewinds so everything unacknowledged goes out again.
 * Bounded by count and bytes: overflow is an error at the send() call, never a silent drop.
 */
export interface Outbox {
  /**
   * Adds a message and returns its seq.
   * @throws LifelineError BUFFER_FULL, or MESSAGE_TOO_LARGE for one larger than the whole byte limit
   */
  push(data: Payload, bytes: number): number;
  /**
   * Frames not yet sent on the current link, marked as sent: as many as fit in `maxBytes`,
   * counting each payload plus FRAME_OVERHEAD_BYTES (so the batch fits the server's body
   * limit, see maxBodyBytes), and always at least one.
   */
  takeUnsent(maxBytes?: number): MessageFrame[];
  /** The server has every message with seq ≤ `seq`. */
  ack(seq: number): void;
  /** After a resume: drop what the server has (≤ `seq`), send the rest again. */
  rewind(seq: number): void;
  /**
   * For a new session: numbers the remaining messages from 1 and returns them, except those over
   * the new server's `maxBytes`, which are removed and returned as `dropped`.
   */
  renumber(maxBytes?: number): { kept: Payload[]; dropped: Payload[] };
  /** Every message not yet acknowledged, in order. */
  unacknowledged(): Payload[];
  readonly size: number;
  readonly bytes: number;
}

interface Entry {
  seq: number;
  readonly data: Payload;
  readonly bytes: number;
}

/**
 * Takes an acknowledged entry's place until the array is compacted, so that its payload (up to
 * the server's message limit) is not held: compaction waits for 1024 of them.
 */
const ACKED: Entry = { seq: 0, data: "", bytes: 0 };

export function createOutbox(maxMessages: number, maxBytes: number): Outbox {
  let entries: Entry[] = [];
  // Index of the first live entry: acks advance it instead of shifting the array each time.
  let head = 0;
  // Index of the first entry not yet sent on the current link.
  let unsent = 0;
  let nextSeq = 1;
  let bytes = 0;

  const compact = () => {
    if (head > 1024 && head * 2 > entries.length) {
      entries = entries.slice(head);
      unsent -= head;
      head = 0;
    }
  };

  return {
    push(data, size) {
      // Larger than the whole buffer: waiting for acks (what BUFFER_FULL asks for) cannot help.
      if (size > maxBytes) throw new LifelineError("MESSAGE_TOO_LARGE", `message over buffer.maxBytes (${maxBytes})`);
      if (entries.length - head >= maxMessages || bytes + size > maxBytes) {
        throw new LifelineError("BUFFER_FULL", `send buffer full (${maxMessages} messages / ${maxBytes} bytes)`);
      }
      const seq = nextSeq++;
      entries.push({ seq, data, bytes: size });
      bytes += size;
      return seq;
    },
    takeUnsent(maxBytes = Infinity) {
      const frames: MessageFrame[] = [];
      for (let total = 0; unsent < entries.length; unsent++) {
        const entry = entries[unsent]!;
        total += entry.bytes + FRAME_OVERHEAD_BYTES;
        if (total > maxBytes && frames.length) break;
        frames.push({ type: "message", seq: entry.seq, data: entry.data });
      }
      return frames;
    },
    ack(seq) {
      while (head < entries.length && entries[head]!.seq <= seq) {
        bytes -= entries[head]!.bytes;
        entries[head++] = ACKED;
      }
      if (unsent < head) unsent = head;
      compact();
    },
    rewind(seq) {
      this.ack(seq);
      unsent = head;
    },
    renumber(maxBytes = Infinity) {
      const kept: Payload[] = [];
      const dropped: Payload[] = [];
      const live = entries.slice(head);
      entries = [];
      head = unsent = bytes = 0;
      for (const entry of live) {
        if (entry.bytes > maxBytes) dropped.push(entry.data);
        else {
          entries.push(entry);
          kept.push(entry.data);
          entry.seq = entries.length;
          bytes += entry.bytes;
        }
      }
      nextSeq = entries.length + 1;
      return { kept, dropped };
    },
    unacknowledged: () => entries.slice(head).map((entry) => entry.data),
    get size() {
      return entries.length - head;
    },
    get bytes() {
      return bytes;
    },
  };
}
