/** Payload size in bytes as the limits count it: UTF-8 length for text, byte length for binary. */
export function payloadBytes(data: string | Uint8Array): number {
  if (typeof data !== "string") return data.byteLength;
  let bytes = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    // A surrogate pair is one 4-byte code point: the high half counts 3, its low half 1 more. (Past
    // the end charCodeAt gives NaN, which is no low half; a lone surrogate counts 3, as U+FFFD.)
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = data.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes++;
        i++;
      }
    }
  }
  return bytes;
}
