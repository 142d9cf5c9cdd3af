import { describe, expect, it } from "vitest";
import { createWsFrameCounter } from "@lifeline/testkit";

/** Builds one frame: FIN + opcode, then the length in its shortest form, then an optional mask key. */
function frame(payloadLength: number, options: { opcode?: number; masked?: boolean } = {}): Uint8Array {
  const extended = payloadLength < 126 ? 0 : payloadLength < 65_536 ? 2 : 8;
  const maskBytes = options.masked ? 4 : 0;
  const bytes = new Uint8Array(2 + extended + maskBytes + payloadLength).fill(0x61);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x80 | (options.opcode ?? 0x1);
  const maskBit = options.masked ? 0x80 : 0;
  if (extended === 0) bytes[1] = maskBit | payloadLength;
  else if (extended === 2) {
    bytes[1] = maskBit | 126;
    view.setUint16(2, payloadLength);
  } else {
    bytes[1] = maskBit | 127;
    view.setUint32(2, 0);
    view.setUint32(6, payloadLength);
  }
  return bytes;
}

const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]));

describe("createWsFrameCounter", () => {
  it("finds several frames in one chunk, with the offset where each ends", () => {
    const counter = createWsFrameCounter();
    const chunk = concat(frame(3), frame(0, { opcode: 0x9 }), frame(5));
    expect(counter.push(chunk)).toEqual([5, 7, 14]);
    expect(counter.frames).toBe(3);
  });

  it("follows frames split anywhere, one byte at a time", () => {
    const counter = createWsFrameCounter();
    const stream = concat(frame(200), frame(2), frame(70_000), frame(1, { masked: true }));
    const ends: number[] = [];
    stream.forEach((byte, index) => {
      for (const end of counter.push(Uint8Array.of(byte))) ends.push(index + end);
    });
    expect(counter.frames).toBe(4);
    // Each offset is just past a frame's last byte.
    expect(ends).toEqual([4 + 200, 208, 208 + 10 + 70_000, stream.length]);
  });

  it("reads 16-bit, 64-bit and masked lengths across chunk borders", () => {
    const counter = createWsFrameCounter();
    const stream = concat(frame(300, { masked: true }), frame(65_536), frame(126));
    const ends = [stream.subarray(0, 3), stream.subarray(3, 500), stream.subarray(500)].map((part) => counter.push(part));
    expect(ends).toEqual([[], [308 - 3], [308 + 65_546 - 500, 308 + 65_546 + 130 - 500]]);
    expect(counter.frames).toBe(3);
  });

  it("counts nothing for an empty chunk or a partial header", () => {
    const counter = createWsFrameCounter();
    expect(counter.push(new Uint8Array(0))).toEqual([]);
    expect(counter.push(Uint8Array.of(0x81))).toEqual([]);
    expect(counter.push(Uint8Array.of(0x00))).toEqual([1]);
    expect(counter.frames).toBe(1);
  });
});
