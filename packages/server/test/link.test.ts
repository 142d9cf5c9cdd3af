import { describe, expect, it } from "vitest";
import { closeFrameReason, pieceEnd } from "../src/link.js";

describe("pieceEnd", () => {
  it("takes lines while they and the newlines between them fit in the limit", () => {
    const lines = ["aaaa", "bbbb", "cccc"];
    expect(pieceEnd(lines, 0, 9)).toBe(2); // "aaaa\nbbbb" is 9 bytes
    expect(pieceEnd(lines, 0, 8)).toBe(1);
    expect(pieceEnd(lines, 1, 100)).toBe(3);
  });

  it("always takes one line, even one longer than the limit", () => {
    expect(pieceEnd(["x".repeat(50), "y"], 0, 10)).toBe(1);
  });

  it("counts UTF-8 bytes, not characters", () => {
    const wide = "語語"; // 2 characters, 6 bytes
    expect(pieceEnd([wide, wide, wide], 0, 13)).toBe(2); // 6 + 1 + 6
    expect(pieceEnd([wide, wide, wide], 0, 12)).toBe(1);
    // Short ASCII lines past the cheap bound are measured exactly, not cut early.
    expect(pieceEnd(["abcd", "efgh", "ijkl"], 0, 14)).toBe(3);
  });
});

describe("closeFrameReason", () => {
  it("keeps a reason that fits a WebSocket close frame", () => {
    expect(closeFrameReason("")).toBe("");
    expect(closeFrameReason("x".repeat(123))).toBe("x".repeat(123));
  });

  it("cuts a longer one to 123 bytes of UTF-8 on a character boundary", () => {
    expect(closeFrameReason("x".repeat(200))).toBe("x".repeat(123));
    expect(closeFrameReason("é".repeat(100))).toBe("é".repeat(61)); // 2 bytes each: 122
    // A pair of UTF-16 units is one character: never half of it.
    expect(closeFrameReason("x".repeat(121) + "😀")).toBe("x".repeat(121));
    expect(closeFrameReason("x".repeat(119) + "😀😀")).toBe("x".repeat(119) + "😀");
  });
});
