/**
 * Base64 for binary payloads on text transports. Written here rather than using btoa/atob or
 * Buffer so the same bytes come out in browsers, React Native and Node alike.
 */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

let decodeTable: Uint8Array | undefined;

export function bytesToBase64(bytes: Uint8Array): string {
  let out = "";
  const length = bytes.length;
  let i = 0;
  // Build the string in slices: one string per 3 bytes would be slow for megabyte payloads.
  let chunk: string[] = [];
  for (; i + 2 < length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    chunk.push(ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!);
    if (chunk.length === 4096) {
      out += chunk.join("");
      chunk = [];
    }
  }
  out += chunk.join("");
  const rest = length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + "==";
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + "=";
  }
  return out;
}

/** Decodes standard base64 (with padding). Returns undefined when the text is not valid base64. */
export function base64ToBytes(text: string): Uint8Array | undefined {
  if (!decodeTable) {
    decodeTable = new Uint8Array(128).fill(255);
    for (let i = 0; i < 64; i++) decodeTable[ALPHABET.charCodeAt(i)] = i;
  }
  const table = decodeTable;
  if (text.length % 4 !== 0) return undefined;
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const bytes = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const a = table[text.charCodeAt(i)] ?? 255;
    const b = table[text.charCodeAt(i + 1)] ?? 255;
    const last = i + 4 === text.length;
    const cc = text.charCodeAt(i + 2);
    const dc = text.charCodeAt(i + 3);
    const c = last && cc === 61 && padding === 2 ? 0 : (table[cc] ?? 255);
    const d = last && dc === 61 && padding >= 1 ? 0 : (table[dc] ?? 255);
    if ((a | b | c | d) > 63) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    bytes[o++] = n >> 16;
    if (o < bytes.length) bytes[o++] = (n >> 8) & 255;
    if (o < bytes.length) bytes[o++] = n & 255;
  }
  return bytes;
}
