import type { Frame } from "@lifeline/protocol";
import type { Clock, TimerId } from "../clock.js";
import type { Inbox } from "../inbox.js";
import type { Outbox } from "../outbox.js";

/**
 * An ack with nothing else to carry it costs a write of its own: it waits this long for company
 * (a reply usually follows a message), unless this many messages are owed an ack already.
 */
const ACK_DELAY_MS = 20;
const ACK_EVERY = 64;

export interface UplinkSettings {
  readonly clock: Clock;
  readonly outbox: Outbox;
  readonly inbox: Inbox;
  /** Where batches go now: the open link, or undefined while there is none. */
  target(): { send(frames: readonly Frame[]): void } | undefined;
  /** The server's message limit: no batch carries more (see maxBodyBytes in the protocol). */
  maxBytes(): number;
}

/** What goes up the link, and when: control frames, the ack and the outbox, in bounded batches. */
export interface Uplink {
  /** Queues a ping, a pong or a repeated ack (for message parts) for the next batch. */
  control(frame: Frame): void;
  /** Something may be ready: everything queued in this tick leaves as one batch. */
  schedule(): void;
  /**
   * Sends what is ready now (a lone ack still waits for company), with `last` (the close frame)
   * at the end of the final batch.
   */
  flush(last?: readonly Frame[]): void;
  /**
   * The link is gone: its pings, pongs and repeated acks are dropped (on a new session an ack of
   * the old one would be ahead of the server), and the held ack goes with the next link's first
   * batch.
   */
  reset(): void;
}

export function createUplink({ clock, outbox, inbox, target, maxBytes }: UplinkSettings): Uplink {
  let control: Frame[] = [];
  let queued = false;
  let ackTimer: TimerId | undefined;

  const sendAck = () => {
    ackTimer = undefined;
    const link = target();
    const ack = link ? inbox.takeAck() : 0;
    if (ack) link!.send([{ type: "ack", seq: ack }]);
  };

  function flush(last: readonly Frame[] = []): void {
    queued = false;
    const link = target();
    if (!link) return;
    let messages = outbox.takeUnsent(maxBytes());
    if (!control.length && !messages.length && !last.length && inbox.unacked < ACK_EVERY) {
      if (inbox.unacked && ackTimer === undefined) ackTimer = clock.setTimeout(sendAck, ACK_DELAY_MS);
      return;
    }
    let batch = control;
    control = [];
    const ack = inbox.takeAck();
    if (ack) batch.push({ type: "ack", seq: ack });
    batch = batch.concat(messages);
    while ((messages = outbox.takeUnsent(maxBytes())).length) {
      link.send(batch);
      batch = messages;
    }
    batch.push(...last);
    link.send(batch);
  }

  function schedule(): void {
    if (queued) return;
    queued = true;
    // One WebSocket message or one POST for everything sent in the same tick.
    Promise.resolve().then(() => flush());
  }

  return {
    control(frame) {
      control.push(frame);
      schedule();
    },
    schedule,
    flush,
    reset() {
      control = [];
      clock.clearTimeout(ackTimer);
      ackTimer = undefined;
    },
  };
}
