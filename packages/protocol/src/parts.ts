import { bytesToBase64 } from "./base64.js";
import { encodeFrame } from "./codec.js";

/**
 * Longest piece of a message's payload (its text, or the base64 of its bytes) one part carries,
 * in UTF-16 units. A client sees a WebSocket message or a poll answer only once all of it has
 * arrived, and its heartbeat counts only what it has seen, so one long message sent whole
 * outlasts the heartbeat on a slow link, and again on every resume. Parts this short fit the
 * reference server's smallest pieces (64 KiB, WebSocket) even if JSON makes every character six
 * (`\u0000`): each piece that arrives is life for the client, and the client's ack of what
 * arrived is life for the server (over streaming, where the client sees each line as it comes,
 * that is once per part).
 */
export const MESSAGE_PART_CHARS = 8 * 1024;

/**
 * Message `seq` as a batch (frames joined by "\n"): one message frame, or, when `partChars` is
 * given and the payload (base64 for binary) is longer, parts of at most that many characters.
 * Text is never cut inside a surrogate pair.
 */
export function encodeMessageBatch(seq: number, data: string | Uint8Array, partChars?: number): string {
  const binary = typeof data !== "string";
  // Base64 makes 4 characters of every 3 bytes, padded.
  if (partChars === undefined || (binary ? Math.ceil(data.length / 3) * 4 : data.length) <= partChars) return encodeFrame({ type: "message", seq, data });
  const payload = binary ? bytesToBase64(data) : data;
  const lines: string[] = [];
  for (let offset = 0; offset < payload.length; ) {
    let end = Math.min(offset + partChars, payload.length);
    // A high surrogate at the end would leave its low half to the next part.
    if (end < payload.length && end - offset > 1 && isHighSurrogate(payload.charCodeAt(end - 1))) end--;
    lines.push(encodeFrame({ type: "part", seq, offset, total: payload.length, binary, payload: payload.slice(offset, end) }));
    offset = end;
  }
  return lines.join("\n");
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
