/**
 * Receive side: delivers each server message once and in order, and tracks what to acknowledge.
 * The server numbers messages 1, 2, 3…; anything at or below the last delivered seq is a
 * duplicate (a resend after resume), anything beyond the next means one was lost on the way:
 * it is not delivered, and the driver resumes so the server replays from the last ack.
 */
export interface Inbox {
  /** True when the message with this seq should be delivered now. */
  accept(seq: number): boolean;
  /** Highest seq delivered; sent in hello when resuming. */
  readonly lastSeq: number;
  /** Messages delivered and not yet acknowledged. */
  readonly unacked: number;
  /** The seq to acknowledge, or 0 when everything delivered is already acknowledged. Marks it acknowledged. */
  takeAck(): number;
  /** Forget everything: the session was replaced by a new one. */
  reset(): void;
}

export function createInbox(): Inbox {
  let lastSeq = 0;
  let ackedSeq = 0;
  return {
    accept(seq) {
      if (seq !== lastSeq + 1) return false;
      lastSeq = seq;
      return true;
    },
    get lastSeq() {
      return lastSeq;
    },
    get unacked() {
      return lastSeq - ackedSeq;
    },
    takeAck() {
      if (ackedSeq === lastSeq) return 0;
      return (ackedSeq = lastSeq);
    },
    reset() {
      lastSeq = ackedSeq = 0;
    },
  };
}
