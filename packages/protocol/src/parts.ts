import { encodeFrame } from "./codec.js";

/**
 * Longest payload one frame of a message carries when the client joins parts: text in UTF-16
 * units, binary in base64 characters (24 KiB of bytes). A client sees a WebSocket message or a
 * poll answer only once all of it has arrived, and its heartbeat counts only what it has seen,
 * so one long message sent whole outlasts the heartbeat on a slow link, and again on every
 * resume. Parts this short always fit the server's pieces of 256 KiB, even if JSON makes every
 * character six (`\u0000`): each piece that arrives is life, and the client's ack of it is life
 * for the server.
 */
export const MESSAGE_PART_CHARS = 32 * 1024;

/**
 * Message `seq` as a batch (frames joined by "\n"): one message frame, or, when `partChars` is
 * given and the payload is longer, parts of at most that many characters followed by the
 * message frame with the rest. Text is never cut inside a surrogate pair.
 */
export function encodeMessageBatch(seq: number, data: string | Uint8Array, partChars?: number): string {
  const long = partChars !== undefined && (typeof data === "string" ? data.length : Math.ceil(data.length / 3) * 4) > partChars;
  if (!long) return encodeFrame({ type: "message", seq, data });
  const pieces = cut(data, partChars);
  const last = pieces.length - 1;
  return pieces.map((piece, i) => encodeFrame(i < last ? { type: "part", seq, data: piece } : { type: "message", seq, data: piece })).join("\n");
}

function cut(data: string | Uint8Array, chars: number): (string | Uint8Array)[] {
  const pieces: (string | Uint8Array)[] = [];
  if (typeof data === "string") {
    for (let start = 0; start < data.length; ) {
      let end = Math.min(start + chars, data.length);
      // A high surrogate at the end would leave its low half to the next part.
      if (end < data.length && end - start > 1 && isHighSurrogate(data.charCodeAt(end - 1))) end--;
      pieces.push(data.slice(start, end));
      start = end;
    }
    return pieces;
  }
  const step = Math.max(3, Math.floor(chars / 4) * 3);
  for (let start = 0; start < data.length; start += step) pieces.push(data.subarray(start, start + step));
  return pieces;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
