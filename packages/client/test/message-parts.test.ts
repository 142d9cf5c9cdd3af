import { describe, expect, it } from "vitest";
import { createPartJoiner } from "../src/message-parts.js";

describe("part joiner", () => {
  it("gives a message without parts its own data", () => {
    const joiner = createPartJoiner();
    expect(joiner.complete({ type: "message", seq: 1, data: "alone" })).toBe("alone");
  });

  it("joins text and binary parts, in order, with the message that ends them", () => {
    const joiner = createPartJoiner();
    joiner.add({ type: "part", seq: 4, data: "a😀" });
    joiner.add({ type: "part", seq: 4, data: "b" });
    expect(joiner.complete({ type: "message", seq: 4, data: "c" })).toBe("a😀bc");
    joiner.add({ type: "part", seq: 5, data: new Uint8Array([1]) });
    joiner.add({ type: "part", seq: 5, data: new Uint8Array([2, 3]) });
    expect(joiner.complete({ type: "message", seq: 5, data: new Uint8Array([]) })).toEqual(new Uint8Array([1, 2, 3]));
    // Completing forgot them.
    expect(joiner.complete({ type: "message", seq: 5, data: "again" })).toBe("again");
  });

  it("starts over at a part of another message, and never lends parts to a message of another seq", () => {
    const joiner = createPartJoiner();
    joiner.add({ type: "part", seq: 1, data: "old" });
    joiner.add({ type: "part", seq: 2, data: "new " });
    expect(joiner.complete({ type: "message", seq: 2, data: "end" })).toBe("new end");
    joiner.add({ type: "part", seq: 3, data: "x" });
    expect(joiner.complete({ type: "message", seq: 4, data: "y" })).toBe("y");
    expect(joiner.complete({ type: "message", seq: 3, data: "z" })).toBe("z");
  });

  it("forgets its parts on clear()", () => {
    const joiner = createPartJoiner();
    joiner.add({ type: "part", seq: 7, data: "lost" });
    joiner.clear();
    expect(joiner.complete({ type: "message", seq: 7, data: "whole" })).toBe("whole");
  });
});
