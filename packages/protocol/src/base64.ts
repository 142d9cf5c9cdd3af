/**
 * Base64 for binary payloads on text transports. Browsers, Node 16+ and Hermes (React Native
 * 0.74+) have btoa/atob, which are fast; an engine without them (React Native on JavaScriptCore,
 * or older Hermes) gets the same conversion in plain JS, slower but correct. Both go through a
 * "binary string", one char per byte.
 */
// Stricter than atob, which also accepts whitespace and missing padding: the wire format is
// canonical, so anything else is a malformed frame.
const CANONICAL = /^[A-Za-z0-9+/]*={0,2}$/;
// fromCharCode.apply takes its arguments on the stack: keep each call well under engine limits.
const CHUNK = 0x2000;
const DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** btoa in plain JS, for a binary string. */
function encodeBinary(binary: string): string {
  let text = "";
  for (let i = 0; i < binary.length; i += 3) {
    // Past the end charCodeAt gives NaN, which shifts and ORs as 0.
    const bits = (binary.charCodeAt(i) << 16) | (binary.charCodeAt(i + 1) << 8) | binary.charCodeAt(i + 2);
    for (let shift = 18; shift >= 0; shift -= 6) text += DIGITS[(bits >> shift) & 63];
  }
  // The digits made of bits past the end become padding.
  const padding = (3 - (binary.length % 3)) % 3;
  return text.slice(0, text.length - padding) + "==".slice(2 - padding);
}

/** atob in plain JS, for canonical base64. */
function decodeBinary(text: string): string {
  let binary = "";
  for (let i = 0; i < text.length; i += 4) {
    let bits = 0;
    // "=" is not a digit: its -1 gives bits that are cut off below with the bytes they make.
    for (let j = 0; j < 4; j++) bits = (bits << 6) | (DIGITS.indexOf(text[i + j]!) & 63);
    binary += String.fromCharCode(bits >> 16, (bits >> 8) & 255, bits & 255);
  }
  // One byte less for each "=" (canonical text has them only at its end).
  return binary.slice(0, binary.length + 1 - text.split("=").length);
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return typeof btoa == "function" ? btoa(binary) : encodeBinary(binary);
}

/** The bytes of canonical base64 text, or undefined for anything else. */
export function base64ToBytes(text: string): Uint8Array | undefined {
  if (text.length % 4 || !CANONICAL.test(text)) return undefined;
  const binary = typeof atob == "function" ? atob(text) : decodeBinary(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
