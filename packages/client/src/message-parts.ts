import { base64ToBytes } from "@lifeline/protocol";
import type { MessagePartFrame } from "@lifeline/protocol";

/**
 * Joins a long server message sent in parts (docs/protocol.md, Message parts): its parts come in
 * order, each with its offset in the message's payload and the payload's total length.
 */
export interface PartJoiner {
  /**
   * Adds a part. Returns the whole message once its last part is in, undefined while more are to
   * come, and false when the part does not continue the message (one before it was lost on the
   * way, or the parts disagree): the parts kept are dropped.
   */
  add(part: MessagePartFrame): string | Uint8Array | undefined | false;
  /** Forgets the parts kept: the link they came on is gone, and the server sends the message again. */
  clear(): void;
}

export function createPartJoiner(): PartJoiner {
  let seq = 0;
  let binary = false;
  let length = 0;
  let pieces: string[] = [];
  const clear = () => {
    seq = length = 0;
    pieces = [];
  };
  return {
    add(part) {
      // The first part starts a message over, whatever came before it.
      if (!part.offset) {
        clear();
        seq = part.seq;
        binary = part.binary;
      } else if (part.seq !== seq || part.offset !== length || part.binary !== binary) {
        clear();
        return false;
      }
      pieces.push(part.payload);
      length += part.payload.length;
      if (length < part.total) return undefined;
      // Joined once at the end: repeated += would copy the message over and over where the
      // engine does not keep ropes.
      const payload = length === part.total && pieces.join("");
      clear();
      return payload === false ? false : binary ? (base64ToBytes(payload) ?? false) : payload;
    },
    clear,
  };
}
