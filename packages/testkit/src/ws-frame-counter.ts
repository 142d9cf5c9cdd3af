/**
 * Counts WebSocket frames in one direction of a connection's byte stream (RFC 6455 §5.2),
 * without keeping payloads. Every frame counts: data, continuation and control frames alike.
 */
export interface WsFrameCounter {
  /**
   * Feeds the next chunk of the stream, which may hold part of a frame or several frames.
   * Returns, for each frame that ends inside this chunk, the offset just past its last byte.
   */
  push(chunk: Uint8Array): number[];
  /** Frames completed so far. */
  readonly frames: number;
}

/** The longest header: 2 fixed bytes, an 8-byte extended length and a 4-byte mask key. */
const MAX_HEADER_BYTES = 14;

/** Creates a counter positioned at the start of a frame. */
export function createWsFrameCounter(): WsFrameCounter {
  const header = new Uint8Array(MAX_HEADER_BYTES);
  let headerLength = 0;
  let headerNeeded = 2;
  let payloadLeft = 0;
  let inPayload = false;
  let frames = 0;

  function push(chunk: Uint8Array): number[] {
    const ends: number[] = [];
    let offset = 0;
    for (;;) {
      if (!inPayload) {
        while (headerLength < headerNeeded && offset < chunk.length) header[headerLength++] = chunk[offset++]!;
        if (headerLength < headerNeeded) break;
        // The first two bytes tell how long the rest of the header is.
        const size = headerSize(header);
        if (headerNeeded < size) {
          headerNeeded = size;
          continue;
        }
        payloadLeft = payloadLength(header);
        inPayload = true;
        headerLength = 0;
        headerNeeded = 2;
      }
      const taken = Math.min(payloadLeft, chunk.length - offset);
      offset += taken;
      payloadLeft -= taken;
      if (payloadLeft > 0) break;
      inPayload = false;
      frames += 1;
      ends.push(offset);
    }
    return ends;
  }

  return {
    push,
    get frames() {
      return frames;
    },
  };
}

function headerSize(header: Uint8Array): number {
  const second = header[1]!;
  const lengthCode = second & 0x7f;
  const extendedBytes = lengthCode === 126 ? 2 : lengthCode === 127 ? 8 : 0;
  const maskBytes = second & 0x80 ? 4 : 0;
  return 2 + extendedBytes + maskBytes;
}

function payloadLength(header: Uint8Array): number {
  const lengthCode = header[1]! & 0x7f;
  if (lengthCode < 126) return lengthCode;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (lengthCode === 126) return view.getUint16(2);
  // 64-bit lengths beyond 2^53 cannot occur in practice; the high word is weighted exactly.
  return view.getUint32(2) * 2 ** 32 + view.getUint32(6);
}
