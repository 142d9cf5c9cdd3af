/**
 * Messages a session sent and the client has not acknowledged yet, kept already encoded so a
 * replay costs no second encoding. Seqs are contiguous: push() appends seq last+1, ack() and
 * eviction trim from the front, so an entry is found by arithmetic, not by search.
 *
 * Bounded by count and payload bytes: on overflow the oldest entries go (the newest one always
 * stays). A client that still needed an evicted message cannot resume; it gets a new session.
 */
export interface ReplayBuffer {
  /** Appends the message with seq lastSeq + 1. */
  push(line: string, bytes: number): number;
  /** Drops every entry with seq ≤ `seq`. */
  ack(seq: number): void;
  /**
   * The encoded messages the client lacks when it says it has everything up to `seq`, oldest
   * first: those after `seq`, or after the highest ack if that is later (an ack sent on another
   * link after this position was taken). Undefined when some of them were evicted, so the
   * client's position cannot be honoured.
   */
  after(seq: number): string[] | undefined;
  /** Highest seq ever pushed (0 before the first push). */
  readonly lastSeq: number;
  readonly size: number;
  readonly bytes: number;
}

interface Entry {
  readonly line: string;
  readonly bytes: number;
}

export function createReplayBuffer(maxMessages: number, maxBytes: number): ReplayBuffer {
  let entries: Entry[] = [];
  // Index of the oldest live entry; entries before it are dead and compacted away in bulk,
  // which keeps trimming O(1) amortised instead of an O(n) shift() per ack.
  let head = 0;
  let firstSeq = 1;
  let lastSeq = 0;
  let ackedSeq = 0;
  let bytes = 0;

  const size = () => entries.length - head;
  const dropFront = (count: number) => {
    for (let i = 0; i < count; i++) bytes -= entries[head + i]!.bytes;
    head += count;
    firstSeq += count;
    if (head === entries.length) {
      entries = [];
      head = 0;
    } else if (head > 1024 && head * 2 > entries.length) {
      entries = entries.slice(head);
      head = 0;
    }
  };

  return {
    push(line, entryBytes) {
      entries.push({ line, bytes: entryBytes });
      bytes += entryBytes;
      lastSeq++;
      let excess = 0;
      let excessBytes = bytes;
      while (size() - excess > 1 && (size() - excess > maxMessages || excessBytes > maxBytes)) {
        excessBytes -= entries[head + excess]!.bytes;
        excess++;
      }
      if (excess) dropFront(excess);
      return lastSeq;
    },
    ack(seq) {
      ackedSeq = Math.max(ackedSeq, Math.min(seq, lastSeq));
      const count = ackedSeq - firstSeq + 1;
      if (count > 0) dropFront(count);
    },
    after(position) {
      if (position > lastSeq) return undefined;
      const seq = Math.max(position, ackedSeq);
      if (seq + 1 < firstSeq) return undefined;
      const out: string[] = [];
      for (let i = head + (seq + 1 - firstSeq); i < entries.length; i++) out.push(entries[i]!.line);
      return out;
    },
    get lastSeq() {
      return lastSeq;
    },
    get size() {
      return size();
    },
    get bytes() {
      return bytes;
    },
  };
}
