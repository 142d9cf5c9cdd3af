/**
 * Base64 for binary payloads on text transports. The native btoa/atob (browsers, Node 16+,
 * React Native 0.74+) do the heavy work; a small fallback covers runtimes without them. Both
 * paths go through a "binary string" (one char per byte), so they produce the same output.
 */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// Stricter than atob, which also accepts whitespace and missing padding: the wire format is
// canonical, so anything else is a malformed frame.
const CANONICAL = /^[A-Za-z0-9+/]*={0,2}$/;
// fromCharCode.apply takes its arguments on the stack: keep each call well under engine limits.
const CHUNK = 0x2000;

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return typeof btoa === "function" ? btoa(binary) : encodeFallback(binary);
}

/** Decodes standard base64 (with padding). Returns undefined when the text is not valid base64. */
export function base64ToBytes(text: string): Uint8Array | undefined {
  if (text.length % 4 || !CANONICAL.test(text)) return undefined;
  const binary = typeof atob === "function" ? atob(text) : decodeFallback(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function encodeFallback(binary: string): string {
  let out = "";
  for (let i = 0; i < binary.length; i += 3) {
    // Past the end charCodeAt gives NaN, and NaN & 255 is 0: the missing bytes read as zeros.
    const n = (binary.charCodeAt(i) << 16) | ((binary.charCodeAt(i + 1) & 255) << 8) | (binary.charCodeAt(i + 2) & 255);
    out +=
      ALPHABET[n >> 18]! +
      ALPHABET[(n >> 12) & 63]! +
      (i + 1 < binary.length ? ALPHABET[(n >> 6) & 63]! : "=") +
      (i + 2 < binary.length ? ALPHABET[n & 63]! : "=");
  }
  return out;
}

/** Expects canonical input (checked by the caller). */
function decodeFallback(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    // "=" is not in the alphabet (-1 & 63): its bits only reach bytes the padding drops below.
    for (let j = 0; j < 4; j++) n = (n << 6) | (ALPHABET.indexOf(text[i + j]!) & 63);
    out += String.fromCharCode(n >> 16, (n >> 8) & 255, n & 255);
  }
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return out.slice(0, out.length - padding);
}
