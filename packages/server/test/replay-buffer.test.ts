import { describe, expect, it } from "vitest";
import { createReplayBuffer } from "../src/replay-buffer.js";

describe("replay buffer", () => {
  it("numbers entries from 1 and returns those after a position", () => {
    const buffer = createReplayBuffer(10, 1000);
    expect(buffer.push("a", 1)).toBe(1);
    expect(buffer.push("b", 1)).toBe(2);
    expect(buffer.push("c", 1)).toBe(3);
    expect(buffer.after(0)).toEqual(["a", "b", "c"]);
    expect(buffer.after(2)).toEqual(["c"]);
    expect(buffer.after(3)).toEqual([]);
    expect(buffer.after(4)).toBeUndefined();
  });

  it("counts the encoded length of what it holds and of what was acknowledged, through acks and eviction", () => {
    const buffer = createReplayBuffer(3, 1000);
    buffer.push("x".repeat(60), 10);
    buffer.push("y".repeat(6), 1);
    expect([buffer.bytes, buffer.chars]).toEqual([11, 66]);
    buffer.ack(1);
    expect([buffer.bytes, buffer.chars]).toEqual([1, 6]);
    expect(buffer.ackedChars).toBe(60);
    for (const line of ["a", "bb", "ccc"]) buffer.push(line, 1); // over 3 entries: "y…" goes
    expect(buffer.after(2)).toEqual(["a", "bb", "ccc"]);
    expect([buffer.bytes, buffer.chars]).toEqual([3, 6]);
    expect(buffer.ackedChars).toBe(60); // evicted, not acknowledged
    buffer.ack(99);
    expect([buffer.bytes, buffer.chars, buffer.ackedChars]).toEqual([0, 0, 66]);
  });

  it("trims acknowledged entries; an older position resumes after the latest ack", () => {
    const buffer = createReplayBuffer(10, 1000);
    for (const line of ["a", "b", "c", "d"]) buffer.push(line, 10);
    buffer.ack(2);
    expect(buffer.size).toBe(2);
    expect(buffer.bytes).toBe(20);
    expect(buffer.after(2)).toEqual(["c", "d"]);
    // A hello that left before the ack (an upgrade probe next to the working link): the client
    // has what it acknowledged since, so nothing is missing.
    expect(buffer.after(1)).toEqual(["c", "d"]);
    buffer.ack(1); // an older ack changes nothing
    expect(buffer.size).toBe(2);
    buffer.ack(99); // acks are capped at what was sent
    expect(buffer.size).toBe(0);
    expect(buffer.bytes).toBe(0);
    expect(buffer.after(4)).toEqual([]);
    expect(buffer.push("e", 1)).toBe(5);
    expect(buffer.after(4)).toEqual(["e"]);
  });

  it("cannot honour a position whose next messages were evicted unacknowledged", () => {
    const buffer = createReplayBuffer(2, 1000);
    for (const line of ["a", "b", "c", "d"]) buffer.push(line, 10);
    buffer.ack(1);
    expect(buffer.after(1)).toBeUndefined();
    expect(buffer.after(2)).toEqual(["c", "d"]);
  });

  it("evicts the oldest entries over maxMessages", () => {
    const buffer = createReplayBuffer(2, 1000);
    for (const line of ["a", "b", "c"]) buffer.push(line, 1);
    expect(buffer.size).toBe(2);
    expect(buffer.after(1)).toEqual(["b", "c"]);
    expect(buffer.after(0)).toBeUndefined();
  });

  it("evicts the oldest entries over maxBytes but always keeps the newest", () => {
    const buffer = createReplayBuffer(100, 25);
    buffer.push("a", 10);
    buffer.push("b", 10);
    buffer.push("c", 10);
    expect(buffer.after(1)).toEqual(["b", "c"]);
    expect(buffer.bytes).toBe(20);
    buffer.push("huge", 100);
    expect(buffer.size).toBe(1);
    expect(buffer.after(3)).toEqual(["huge"]);
  });

  it("stays consistent across many pushes and acks (compaction)", () => {
    const buffer = createReplayBuffer(1_000_000, 1e12);
    for (let i = 1; i <= 5000; i++) {
      buffer.push(`m${i}`, 1);
      if (i % 7 === 0) buffer.ack(i - 3);
    }
    expect(buffer.lastSeq).toBe(5000);
    const rest = buffer.after(4995);
    expect(rest).toEqual(["m4996", "m4997", "m4998", "m4999", "m5000"]);
    expect(buffer.size).toBe(5000 - (4998 - 3));
  });
});
