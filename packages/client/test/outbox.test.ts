import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { createOutbox, toPayload } from "../src/outbox.js";

describe("outbox", () => {
  it("numbers messages from 1 and hands each out once per link", () => {
    const outbox = createOutbox(10, 1000);
    expect(outbox.push("a", 1)).toBe(1);
    expect(outbox.push("b", 1)).toBe(2);
    expect(outbox.takeUnsent().map((f) => [f.seq, f.data])).toEqual([[1, "a"], [2, "b"]]);
    expect(outbox.takeUnsent()).toEqual([]);
    outbox.push("c", 1);
    expect(outbox.takeUnsent().map((f) => f.seq)).toEqual([3]);
  });

  it("trims on ack and resends everything unacknowledged after a rewind", () => {
    const outbox = createOutbox(10, 1000);
    for (const s of ["a", "b", "c", "d"]) outbox.push(s, 1);
    outbox.takeUnsent();
    outbox.ack(2);
    expect(outbox.size).toBe(2);
    expect(outbox.bytes).toBe(2);
    outbox.rewind(3);
    expect(outbox.takeUnsent().map((f) => f.data)).toEqual(["d"]);
  });

  it("renumbers what is left for a new session and returns it", () => {
    const outbox = createOutbox(10, 1000);
    for (const s of ["a", "b", "c"]) outbox.push(s, 1);
    outbox.takeUnsent();
    outbox.ack(1);
    expect(outbox.renumber()).toEqual({ kept: ["b", "c"], dropped: [] });
    expect(outbox.takeUnsent().map((f) => [f.seq, f.data])).toEqual([[1, "b"], [2, "c"]]);
    expect(outbox.push("d", 1)).toBe(3);
  });

  it("throws BUFFER_FULL at the count and byte limits, and keeps what it has", () => {
    const byCount = createOutbox(2, 1000);
    byCount.push("a", 1);
    byCount.push("b", 1);
    expect(() => byCount.push("c", 1)).toThrow(expect.objectContaining({ code: "BUFFER_FULL" }));
    expect(byCount.size).toBe(2);
    byCount.ack(1);
    expect(byCount.push("c", 1)).toBe(3);

    const byBytes = createOutbox(100, 10);
    byBytes.push("x".repeat(6), 6);
    expect(() => byBytes.push("y".repeat(5), 5)).toThrow(expect.objectContaining({ code: "BUFFER_FULL" }));
    expect(byBytes.bytes).toBe(6);
  });

  it("refuses a message larger than the whole byte limit with MESSAGE_TOO_LARGE, even when empty: waiting cannot make room", () => {
    const outbox = createOutbox(100, 10);
    expect(() => outbox.push("z".repeat(11), 11)).toThrow(expect.objectContaining({ code: "MESSAGE_TOO_LARGE", message: "message over buffer.maxBytes (10)" }));
    expect(outbox.size).toBe(0);
    expect(outbox.push("z".repeat(10), 10)).toBe(1);
  });

  it("stays correct across compaction of a long acked prefix", () => {
    const outbox = createOutbox(100_000, 10_000_000);
    for (let i = 1; i <= 5000; i++) outbox.push(String(i), 1);
    expect(outbox.takeUnsent()).toHaveLength(5000);
    for (let i = 1; i <= 4000; i += 7) outbox.ack(i);
    outbox.ack(4000);
    expect(outbox.size).toBe(1000);
    outbox.rewind(4000);
    const again = outbox.takeUnsent();
    expect(again[0]?.seq).toBe(4001);
    expect(again.at(-1)?.seq).toBe(5000);
  });

  it("lets go of a message once it is acknowledged, long before compaction", async () => {
    setFlagsFromString("--expose-gc");
    const collectGarbage = runInNewContext("gc") as () => void;
    const outbox = createOutbox(10_000, 1 << 30);
    const pushed = (() => {
      const payload = new Uint8Array(1 << 20);
      outbox.push(payload, payload.byteLength);
      return new WeakRef(payload);
    })();
    outbox.push("still in flight", 15);
    outbox.takeUnsent();
    outbox.ack(1);
    // A WeakRef holds its target until the current job ends.
    await new Promise((resolve) => setTimeout(resolve, 0));
    collectGarbage();
    expect(pushed.deref()).toBeUndefined();
    expect(outbox.unacknowledged()).toEqual(["still in flight"]);
  });

  it("lists what is unacknowledged in order, sent or not", () => {
    const outbox = createOutbox(10, 1000);
    outbox.push("a", 1);
    outbox.push("b", 1);
    outbox.push("c", 1);
    outbox.takeUnsent();
    outbox.ack(1);
    outbox.push("d", 1);
    expect(outbox.unacknowledged()).toEqual(["b", "c", "d"]);
    outbox.ack(3);
    expect(outbox.unacknowledged()).toEqual(["d"]);
  });
});

describe("toPayload", () => {
  it("copies bytes from an ArrayBuffer or view of another realm (an iframe, a vm context)", () => {
    const buffer = runInNewContext("new Uint8Array([1, 2, 3]).buffer") as ArrayBuffer;
    expect(buffer instanceof ArrayBuffer).toBe(false);
    expect(toPayload(buffer)).toEqual(new Uint8Array([1, 2, 3]));
    expect(toPayload(runInNewContext("new Uint16Array([258])"))).toEqual(new Uint8Array(new Uint16Array([258]).buffer));
  });
});
