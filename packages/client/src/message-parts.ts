import type { MessageFrame, MessagePartFrame } from "@lifeline/protocol";

/**
 * Joins a long server message sent in parts (docs/protocol.md, Message parts): its parts come
 * in order with its seq, and the message frame with that seq ends them.
 */
export interface PartJoiner {
  /** Keeps a part; a part of another message than the one kept so far starts over. */
  add(part: MessagePartFrame): void;
  /** The whole data of `message`: the parts kept for its seq, then its own data. Forgets the parts. */
  complete(message: MessageFrame): string | Uint8Array;
  /** Forgets the parts kept: the link they came on is gone, and the server sends the message again whole. */
  clear(): void;
}

export function createPartJoiner(): PartJoiner {
  let seq = 0;
  let parts: (string | Uint8Array)[] = [];
  const clear = () => {
    seq = 0;
    parts = [];
  };
  return {
    add(part) {
      if (part.seq !== seq) clear();
      seq = part.seq;
      parts.push(part.data);
    },
    complete({ seq: of, data }) {
      if (!parts.length) return data;
      const kept = parts;
      const ours = of === seq;
      clear();
      if (!ours) return data;
      kept.push(data);
      return typeof data === "string" ? kept.join("") : concat(kept as Uint8Array[]);
    },
    clear,
  };
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.length;
  }
  return whole;
}
