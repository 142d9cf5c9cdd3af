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
  /** Payload bytes of the entries (what `maxBytes` bounds). */
  readonly bytes: number;
  /**
   * UTF-16 units of the entries as encoded: what a replay writes. JSON escapes can make it up
   * to 6 per payload byte (a control character becomes `\u0001`).
   */
  readonly chars: number;
  /** UTF-16 units of every entry ever dropped by ack(), not by eviction: a running total. */
  readonly ackedChars: number;
}

/**
 * Every session has one and most of them sit empty, so the class keeps its methods on the
 * prototype and its arrays exist only while entries do. Lines and their sizes sit in two
 * parallel arrays rather than an object per entry: one allocation less per message sent.
 */
class SentMessages implements ReplayBuffer {
  private lines: string[] | undefined = undefined;
  private sizes: number[] | undefined = undefined;
  // Index of the oldest live entry; entries before it are dead and compacted away in bulk,
  // which keeps trimming O(1) amortised instead of an O(n) shift() per ack.
  private head = 0;
  private firstSeq = 1;
  private ackedSeq = 0;
  lastSeq = 0;
  bytes = 0;
  chars = 0;
  ackedChars = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.lines ? this.lines.length - this.head : 0;
  }

  push(line: string, bytes: number): number {
    const lines = (this.lines ??= []);
    const sizes = (this.sizes ??= []);
    lines.push(line);
    sizes.push(bytes);
    this.bytes += bytes;
    this.chars += line.length;
    this.lastSeq++;
    const live = lines.length - this.head;
    let excess = 0;
    let excessBytes = this.bytes;
    while (live - excess > 1 && (live - excess > this.maxMessages || excessBytes > this.maxBytes)) {
      excessBytes -= sizes[this.head + excess]!;
      excess++;
    }
    if (excess) this.dropFront(excess);
    return this.lastSeq;
  }

  ack(seq: number): void {
    this.ackedSeq = Math.max(this.ackedSeq, Math.min(seq, this.lastSeq));
    const count = this.ackedSeq - this.firstSeq + 1;
    if (count > 0) {
      const before = this.chars;
      this.dropFront(count);
      this.ackedChars += before - this.chars;
    }
  }

  after(position: number): string[] | undefined {
    if (position > this.lastSeq) return undefined;
    const seq = Math.max(position, this.ackedSeq);
    if (seq + 1 < this.firstSeq) return undefined;
    return this.lines ? this.lines.slice(this.head + (seq + 1 - this.firstSeq)) : [];
  }

  private dropFront(count: number): void {
    const lines = this.lines!;
    const sizes = this.sizes!;
    for (let i = this.head; i < this.head + count; i++) {
      this.bytes -= sizes[i]!;
      this.chars -= lines[i]!.length;
    }
    this.head += count;
    this.firstSeq += count;
    if (this.head === lines.length) {
      this.lines = this.sizes = undefined;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > lines.length) {
      this.lines = lines.slice(this.head);
      this.sizes = sizes.slice(this.head);
      this.head = 0;
    }
  }
}

export function createReplayBuffer(maxMessages: number, maxBytes: number): ReplayBuffer {
  return new SentMessages(maxMessages, maxBytes);
}
