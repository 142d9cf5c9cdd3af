// Base64 for binary payloads on text transports, through a "binary string", one char per byte.

import { base64ToBinary, binaryToBase64 } from "./base64-binary.js";

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
  return binaryToBase64(binary);
}

/** The bytes of canonical base64 text, or undefined for anything else. */
export function base64ToBytes(text: string): Uint8Array | undefined {
  if (text.length % 4 || !CANONICAL.test(text)) return undefined;
  const binary = base64ToBinary(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
