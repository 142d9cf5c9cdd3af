import { describe, expect, it } from "vitest";
import {
  CloseCode,
  FrameError,
  PROTOCOL_VERSION,
  base64ToBytes,
  bytesToBase64,
  closeCodeName,
  createLineSplitter,
  decodeBatch,
  decodeFrame,
  decodeServerBatch,
  decodeServerFrame,
  encodeBatch,
  encodeClientBatch,
  encodeClientFrame,
  encodeFrame,
  encodeMessageBatch,
  isRetryable,
  MESSAGE_PART_CHARS,
  payloadBytes,
  type Frame,
} from "@lifeline/protocol";

const roundTrip = (frame: Frame) => decodeFrame(encodeFrame(frame));

describe("codec", () => {
  it("encodes each frame type to its documented wire form", () => {
    expect(encodeFrame({ type: "message", seq: 7, data: "hi" })).toBe('["m",7,"hi"]');
    expect(encodeFrame({ type: "message", seq: 8, data: new Uint8Array([0, 255, 16]) })).toBe('["b",8,"AP8Q"]');
    expect(encodeFrame({ type: "ack", seq: 3 })).toBe('["a",3]');
    expect(encodeFrame({ type: "ping", id: 1 })).toBe('["p",1]');
    expect(encodeFrame({ type: "pong", id: 1 })).toBe('["P",1]');
    expect(encodeFrame({ type: "close", code: 1000, reason: "bye" })).toBe('[\"c\",1000,\"bye\"]');
    expect(encodeFrame({ type: "hello", version: 1, ack: 0 })).toBe('["h",{"v":1,"ack":0}]');
    expect(encodeFrame({ type: "hello", version: 1, sessionId: "abc", ack: 4 })).toBe('["h",{"v":1,"sid":"abc","ack":4}]');
    expect(encodeFrame({ type: "hello", version: 1, ack: 0, attempt: 3, connectionId: "k9" })).toBe('["h",{"v":1,"ack":0,"att":3,"cid":"k9"}]');
    expect(encodeFrame({ type: "hello", version: 1, ack: 0, parts: true })).toBe('["h",{"v":1,"ack":0,"pt":true}]');
    expect(encodeFrame({ type: "hello", version: 1, sessionId: "abc", ack: 4, probe: true })).toBe('["h",{"v":1,"sid":"abc","ack":4,"pr":true}]');
    expect(encodeFrame({ type: "part", seq: 5, offset: 0, total: 4, binary: false, payload: "ab" })).toBe('["M",5,0,4,"ab"]');
    expect(encodeFrame({ type: "part", seq: 6, offset: 4, total: 8, binary: true, payload: "AP8Q" })).toBe('["B",6,4,8,"AP8Q"]');
  });

  it("round-trips every frame type", () => {
    const frames: Frame[] = [
      { type: "hello", version: PROTOCOL_VERSION, ack: 0 },
      { type: "hello", version: PROTOCOL_VERSION, sessionId: "s-1", ack: 12 },
      { type: "hello", version: PROTOCOL_VERSION, ack: 0, attempt: 2, connectionId: "c-1" },
      { type: "hello", version: PROTOCOL_VERSION, ack: 0, parts: true },
      { type: "hello", version: PROTOCOL_VERSION, sessionId: "s-1", ack: 3, probe: true },
      {
        type: "welcome",
        version: 1,
        sessionId: "s-1",
        resumed: true,
        ack: 3,
        pingIntervalMs: 15000,
        pingTimeoutMs: 10000,
        maxMessageBytes: 1024,
        resumeWindowMs: 60000,
      },
      { type: "welcome", version: 1, sessionId: "s-2", resumed: false, ack: 0, pingIntervalMs: 1, pingTimeoutMs: 1, maxMessageBytes: 1, resumeWindowMs: 0, pingFirst: true },
      { type: "message", seq: 1, data: "plain" },
      { type: "message", seq: 2, data: "ünïcödé ✓ 😀 \n newline\u2028" },
      { type: "message", seq: 3, data: new Uint8Array([1, 2, 3, 250]) },
      { type: "message", seq: 4, data: "x", position: { channel: "news", epoch: "e1", offset: 99 } },
      { type: "part", seq: 5, offset: 0, total: 30, binary: false, payload: "first half 😀" },
      { type: "part", seq: 6, offset: 3, total: 6, binary: true, payload: "CQ" },
      { type: "ack", seq: 9 },
      { type: "ping", id: 5 },
      { type: "pong", id: 5 },
      { type: "close", code: CloseCode.MESSAGE_TOO_LARGE, reason: "too big" },
    ];
    for (const frame of frames) expect(roundTrip(frame)).toEqual(frame);
  });

  it("keeps binary payloads byte for byte, for every length remainder and all byte values", () => {
    for (let length = 0; length < 300; length++) {
      const bytes = new Uint8Array(length);
      for (let i = 0; i < length; i++) bytes[i] = (i * 97 + length) & 255;
      const decoded = roundTrip({ type: "message", seq: 1, data: bytes });
      expect(decoded).toEqual({ type: "message", seq: 1, data: bytes });
    }
  });

  it("matches a reference base64 implementation on a megabyte of data", () => {
    const bytes = new Uint8Array(1024 * 1024 + 1);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 8)) & 255;
    const encoded = bytesToBase64(bytes);
    expect(encoded).toBe(Buffer.from(bytes).toString("base64"));
    const decoded = base64ToBytes(encoded);
    // Buffer.equals: a deep equality walk over a megabyte is needlessly slow.
    expect(decoded && Buffer.from(decoded).equals(Buffer.from(bytes))).toBe(true);
  });

  it("reads a close frame without its reason (or with a null one) as one with an empty reason", () => {
    expect(decodeFrame('["c",1000]')).toEqual({ type: "close", code: 1000, reason: "" });
    expect(decodeFrame('["c",1000,null]')).toEqual({ type: "close", code: 1000, reason: "" });
  });

  it("rejects malformed input with FrameError", () => {
    for (const bad of ["", "{", "{}", "[]", "[1]", '["m"]', '["m",-1,"x"]', '["m",1.5,"x"]', '["m",1,2]', '["b",1,"@@@@"]', '["b",1,"abc"]', '["a","1"]', '["h",null]', '["h",{"v":1,"cid":5}]', '["w",{"v":1}]', '["M",1,"ab"]', '["M",1,"0",2,"ab"]', '["M",1,0,-2,"ab"]', '["B",1,0,3,null]', '["c",1000,5]', '["c",1000,{}]']) {
      expect(() => decodeFrame(bad), bad).toThrow(FrameError);
    }
  });

  it("has direction codecs for a client that agree with the full codec", () => {
    const hello: Frame = { type: "hello", version: 1, sessionId: "abc", ack: 4, attempt: 2 };
    const sent: Frame[] = [hello, { type: "message", seq: 1, data: new Uint8Array([1, 2]) }, { type: "ack", seq: 3 }, { type: "close", code: 1000, reason: "bye" }];
    for (const frame of sent) expect(encodeClientFrame(frame as never)).toBe(encodeFrame(frame));
    expect(encodeClientBatch(sent as never)).toBe(encodeBatch(sent));

    const welcome: Frame = { type: "welcome", version: 1, sessionId: "abc", resumed: true, ack: 2, pingIntervalMs: 100, pingTimeoutMs: 50, maxMessageBytes: 1024, resumeWindowMs: 1000 };
    const received: Frame[] = [welcome, { type: "message", seq: 5, data: "hi", position: { channel: "c", epoch: "e", offset: 9 } }, { type: "pong", id: 7 }];
    for (const frame of received) expect(decodeServerFrame(encodeFrame(frame))).toEqual(frame);
    expect(decodeServerBatch(encodeBatch(received))).toEqual(received);
    // A hello is not something a server sends: unknown to the client's decoder, like any new type.
    expect(decodeServerFrame(encodeFrame(hello))).toBeUndefined();
    for (const bad of ["{", '["w",{"v":1}]', '["b",1,"abc"]']) expect(() => decodeServerFrame(bad), bad).toThrow(FrameError);
  });

  it("writes pingFirst only when set, and reads anything but true as absent", () => {
    const base = { type: "welcome", version: 1, sessionId: "s", resumed: false, ack: 0, pingIntervalMs: 1, pingTimeoutMs: 1, maxMessageBytes: 1, resumeWindowMs: 0 } as const;
    expect(encodeFrame(base)).not.toContain("pingFirst");
    expect(encodeFrame({ ...base, pingFirst: true })).toContain('"pingFirst":true');
    const wire = encodeFrame(base).replace(/}]$/, ',"pingFirst":"yes"}]');
    expect(decodeFrame(wire)).toEqual(base);
  });

  it("ignores well-formed frames of unknown types, so new frame types are not breaking", () => {
    expect(decodeFrame('["z",{"future":true}]')).toBeUndefined();
    expect(decodeBatch('["z",1]\n["a",2]')).toEqual([{ type: "ack", seq: 2 }]);
  });
});

describe("message parts", () => {
  const decodeAll = (batch: string) => decodeBatch(batch);

  it("sends a payload up to the part size as one message frame, and nothing in parts without partChars", () => {
    expect(encodeMessageBatch(3, "x".repeat(10), 10)).toBe(`["m",3,"${"x".repeat(10)}"]`);
    expect(encodeMessageBatch(3, "x".repeat(11))).toBe(`["m",3,"${"x".repeat(11)}"]`);
    expect(encodeMessageBatch(4, new Uint8Array(6), 8)).toBe('["b",4,"AAAAAAAA"]');
    expect(encodeMessageBatch(4, new Uint8Array(7), 8)).toBe('["B",4,0,12,"AAAAAAAA"]\n["B",4,8,12,"AA=="]');
    expect(encodeMessageBatch(5, "", 8)).toBe('["m",5,""]');
  });

  /** The payload of one message's parts, checked for what every receiver relies on: order, offsets, total. */
  function payloadOf(batch: string, seq: number, binary: boolean) {
    const frames = decodeAll(batch);
    const total = (frames[0] as { total: number }).total;
    let offset = 0;
    for (const frame of frames) {
      expect(frame).toMatchObject({ type: "part", seq, offset, total, binary });
      offset += (frame as { payload: string }).payload.length;
    }
    expect(offset).toBe(total);
    return frames.map((f) => (f as { payload: string }).payload);
  }

  it("cuts a long text into parts of at most partChars, with their offsets, never inside a surrogate pair", () => {
    const text = "ab😀cd😀😀e".repeat(50);
    for (const partChars of [1, 2, 3, 7, 64]) {
      const pieces = payloadOf(encodeMessageBatch(9, text, partChars), 9, false);
      expect(pieces.length).toBeGreaterThan(1);
      expect(pieces.join("")).toBe(text);
      for (const piece of pieces) {
        expect(piece.length).toBeLessThanOrEqual(Math.max(partChars, 2));
        // Each piece is well-formed UTF-16 on its own, unless a single unit was asked for.
        if (partChars > 1) expect(piece).not.toMatch(/[\ud800-\udbff]$|^[\udc00-\udfff]/);
      }
    }
  });

  it("cuts the base64 of long binary data into parts of at most partChars characters", () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 13) & 255);
    const pieces = payloadOf(encodeMessageBatch(2, bytes, 64), 2, true);
    expect(pieces).toHaveLength(Math.ceil(1336 / 64));
    expect(pieces.every((piece) => piece.length <= 64)).toBe(true);
    expect(pieces.join("")).toBe(Buffer.from(bytes).toString("base64"));
  });

  it("keeps every part within the reference server's 64 KiB WebSocket piece at the default part size, even when JSON escapes every character", () => {
    const frames = encodeMessageBatch(1, "\u0000".repeat(3 * MESSAGE_PART_CHARS), MESSAGE_PART_CHARS).split("\n");
    expect(frames).toHaveLength(3);
    expect(Buffer.byteLength(frames[0]!)).toBeGreaterThan(6 * MESSAGE_PART_CHARS);
    for (const line of frames) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(64 * 1024);
  });
});

describe("batch", () => {
  it("joins frames with newlines and splits them back", () => {
    const frames: Frame[] = [
      { type: "message", seq: 1, data: "a\nb" },
      { type: "ack", seq: 4 },
      { type: "message", seq: 2, data: new Uint8Array([10, 13]) },
    ];
    const text = encodeBatch(frames);
    expect(text.split("\n")).toHaveLength(3);
    expect(decodeBatch(text)).toEqual(frames);
    expect(decodeBatch("")).toEqual([]);
  });

  it("takes CRLF line ends and blank lines from a rewriting proxy in its stride", () => {
    const crlf = '["a",1]\r\n\r\n["m",1,"x"]\r\n\n';
    const expected: Frame[] = [
      { type: "ack", seq: 1 },
      { type: "message", seq: 1, data: "x" },
    ];
    expect(decodeBatch(crlf)).toEqual(expected);
    expect(decodeServerBatch(crlf)).toEqual(expected);
    const splitter = createLineSplitter();
    expect(splitter.push(crlf).map((line) => decodeFrame(line))).toEqual(expected);
  });

  it("reassembles lines split at arbitrary chunk boundaries", () => {
    const text = encodeBatch([
      { type: "message", seq: 1, data: "hello" },
      { type: "message", seq: 2, data: "wörld" },
      { type: "ack", seq: 1 },
    ]) + "\n";
    for (let size = 1; size <= text.length; size++) {
      const splitter = createLineSplitter();
      const lines: string[] = [];
      for (let i = 0; i < text.length; i += size) lines.push(...splitter.push(text.slice(i, i + size)));
      expect(lines.map((line) => decodeFrame(line))).toEqual(decodeBatch(text));
      expect(splitter.pendingLength).toBe(0);
    }
  });
});

describe("close codes and sizes", () => {
  it("groups close codes by what the client does next", () => {
    expect(isRetryable(CloseCode.GOING_AWAY)).toBe(true);
    expect(isRetryable(CloseCode.ABNORMAL)).toBe(true);
    expect(isRetryable(CloseCode.HEARTBEAT_TIMEOUT)).toBe(true);
    expect(isRetryable(CloseCode.SESSION_NOT_FOUND)).toBe(true);
    expect(isRetryable(CloseCode.NORMAL)).toBe(false);
    expect(isRetryable(CloseCode.PROTOCOL_ERROR)).toBe(false);
    expect(isRetryable(CloseCode.ORIGIN_NOT_ALLOWED)).toBe(false);
    expect(closeCodeName(4102)).toBe("MESSAGE_TOO_LARGE");
    expect(closeCodeName(4999)).toBeUndefined();
  });

  it("counts payload bytes as UTF-8", () => {
    expect(payloadBytes("abc")).toBe(3);
    expect(payloadBytes("é")).toBe(2);
    expect(payloadBytes("✓")).toBe(3);
    expect(payloadBytes("😀")).toBe(4);
    for (const s of ["ünïcödé ✓ 😀", "\ud800x", "a\udc00"]) expect(payloadBytes(s)).toBe(Buffer.byteLength(s));
    expect(payloadBytes(new Uint8Array(10))).toBe(10);
  });
});
