import { describe, expect, it } from "vitest";
import { createInbox } from "../src/inbox.js";

describe("inbox", () => {
  it("delivers in order once, drops duplicates and gaps, and acks cumulatively", () => {
    const inbox = createInbox();
    expect(inbox.accept(1)).toBe(true);
    expect(inbox.accept(1)).toBe(false);
    expect(inbox.accept(3)).toBe(false);
    expect(inbox.accept(2)).toBe(true);
    expect(inbox.lastSeq).toBe(2);
    expect(inbox.takeAck()).toBe(2);
    expect(inbox.takeAck()).toBe(0);
    inbox.reset();
    expect(inbox.lastSeq).toBe(0);
    expect(inbox.accept(1)).toBe(true);
  });
});
