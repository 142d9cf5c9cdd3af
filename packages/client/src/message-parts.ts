import { CloseCode, base64ToBytes } from "@lifeline/protocol";
import type { MessagePartFrame } from "@lifeline/protocol";

/**
 * Joins a long server message sent in parts (docs/protocol.md, Message parts): its parts come in
 * order, each with its offset in the message's payload and the payload's total length.
 */
export interface PartJoiner {
  /**
   * Adds a part. Returns the whole message once its last part is in, undefined while more are to
   * come, or, when the part does not fit, the close code the link ends with (the parts kept are
   * dropped): ABNORMAL when one before it was lost on the way, so a resume gets the message again;
   * PROTOCOL_ERROR when the parts themselves are wrong (they disagree on the kind or the total,
   * pass the total, or carry bad base64), which a resume would only repeat.
   */
  add(part: MessagePartFrame): string | Uint8Array | undefined | number;
  /** Forgets the parts kept: the link they came on is gone, and the server sends the message again. */
  clear(): void;
}

export function createPartJoiner(): PartJoiner {
  let seq = 0;
  let binary = false;
  let total = 0;
  let length = 0;
  let pieces: string[] = [];
  const clear = () => {
    seq = length = 0;
    pieces = [];
  };
  const fail = (code: number) => {
    clear();
    return code;
  };
  return {
    add(part) {
      // The first part starts a message over, whatever came before it.
      if (!part.offset) {
        clear();
        ({ seq, binary, total } = part);
      } else if (part.seq !== seq || part.offset !== length) return fail(CloseCode.ABNORMAL);
      else if (part.binary !== binary || part.total !== total) return fail(CloseCode.PROTOCOL_ERROR);
      pieces.push(part.payload);
      length += part.payload.length;
      if (length < total) return undefined;
      if (length > total) return fail(CloseCode.PROTOCOL_ERROR);
      // Joined once at the end: repeated += would copy the message over and over where the
      // engine does not keep ropes.
      const payload = pieces.join("");
      clear();
      return binary ? (base64ToBytes(payload) ?? CloseCode.PROTOCOL_ERROR) : payload;
    },
    clear,
  };
}
