import { describe, expect, it } from "vitest";
import { CloseCode } from "@lifeline/protocol";
import type { MessagePartFrame } from "@lifeline/protocol";
import { createPartJoiner } from "../src/message-parts.js";

const part = (seq: number, offset: number, total: number, payload: string, binary = false): MessagePartFrame => ({ type: "part", seq, offset, total, binary, payload });

describe("part joiner", () => {
  it("joins the parts of a text message, in order, and gives it once the last is in", () => {
    const joiner = createPartJoiner();
    expect(joiner.add(part(4, 0, 5, "a😀"))).toBeUndefined();
    expect(joiner.add(part(4, 3, 5, "bc"))).toBe("a😀bc");
  });

  it("decodes the base64 of a binary message once it is whole, wherever the parts cut it", () => {
    const joiner = createPartJoiner();
    // "AQID" is bytes 1, 2, 3: cut inside a base64 group.
    expect(joiner.add(part(5, 0, 4, "AQ", true))).toBeUndefined();
    expect(joiner.add(part(5, 2, 4, "ID", true))).toEqual(new Uint8Array([1, 2, 3]));
    joiner.add(part(6, 0, 4, "A@", true));
    expect(joiner.add(part(6, 2, 4, "ID", true))).toBe(CloseCode.PROTOCOL_ERROR);
  });

  it("answers a part that does not continue the message with the close code for the fault", () => {
    const cases: [MessagePartFrame, number][] = [
      // One lost on the way: a resume gets the message again.
      [part(1, 3, 4, "cd"), CloseCode.ABNORMAL],
      [part(2, 2, 4, "cd"), CloseCode.ABNORMAL],
      // Parts that are wrong in themselves: a resume would repeat them.
      [part(1, 2, 4, "cd", true), CloseCode.PROTOCOL_ERROR],
      [part(1, 2, 6, "cd"), CloseCode.PROTOCOL_ERROR],
      [part(1, 2, 3, "cd"), CloseCode.PROTOCOL_ERROR],
      [part(1, 2, 4, "cde"), CloseCode.PROTOCOL_ERROR],
    ];
    for (const [stray, code] of cases) {
      const joiner = createPartJoiner();
      joiner.add(part(1, 0, 4, "ab"));
      expect(joiner.add(stray), JSON.stringify(stray)).toBe(code);
      // What it kept is gone: the message can only start over.
      expect(joiner.add(part(1, 2, 4, "cd"))).toBe(CloseCode.ABNORMAL);
      expect(joiner.add(part(1, 0, 2, "ok"))).toBe("ok");
    }
  });

  it("starts a message over at a first part, and forgets its parts on clear()", () => {
    const joiner = createPartJoiner();
    joiner.add(part(7, 0, 4, "ol"));
    expect(joiner.add(part(7, 0, 4, "ne"))).toBeUndefined();
    expect(joiner.add(part(7, 2, 4, "w!"))).toBe("new!");
    joiner.add(part(8, 0, 4, "lo"));
    joiner.clear();
    expect(joiner.add(part(8, 2, 4, "st"))).toBe(CloseCode.ABNORMAL);
  });
});
