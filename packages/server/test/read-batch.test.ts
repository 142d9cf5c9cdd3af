import { describe, expect, it } from "vitest";
import { encodeBatch } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import { readBatch } from "../src/read-batch.js";
import { hello, text } from "./helpers/wire.js";

describe("readBatch", () => {
  it("reads a batch of as many messages as lines are allowed, whatever their text holds", () => {
    const maxLines = 1000;
    // Commas, colons, brackets and escaped quotes inside strings are text, not structure.
    const tricky = ['{"a":[1,2,{"b":3}]}', 'say \\"hi\\", [then] {go}', "ends in a backslash \\", ",:[{".repeat(50)];
    const frames: Frame[] = [hello(), ...Array.from({ length: maxLines - 1 }, (_, i) => text(i + 1, tricky[i % tricky.length]!))];
    const batch = readBatch(encodeBatch(frames), maxLines);
    expect(batch).toEqual({ frames });
  });

  it("refuses, before decoding it, a batch whose JSON would build more values than four a line", () => {
    const maxLines = 1000;
    // One line, well within any byte limit, that JSON.parse would turn into 4001 objects.
    const wide = `["zz",[${"{},".repeat(4000)}{}]]`;
    expect(readBatch(wide, maxLines)).toEqual({ refused: { code: 4102, reason: "batch of more than 4000 values" } });
    const fits = `["zz",[${"{},".repeat(1990)}{}]]`;
    expect(readBatch(fits, maxLines)).toEqual({ frames: [] });
    // Numbers cost memory too: a long array of them counts by its commas.
    expect(readBatch(`["m",1,"x",${"1,".repeat(4000)}1]`, maxLines)).toMatchObject({ refused: { code: 4102 } });
  });

  it("tells a string's closing quote from an escaped one by the backslashes before it", () => {
    const maxLines = 10;
    // An even run of backslashes ends the string: the 60 objects after it count (limit 40).
    const afterEven = `["m",1,"a\\\\\\\\",${"{},".repeat(59)}{}]`;
    expect(readBatch(afterEven, maxLines)).toMatchObject({ refused: { code: 4102 } });
    // An odd run escapes the quote: everything up to the real end is one string.
    const insideOdd = `["m",1,"a\\\\\\"${"{},".repeat(60)}"]`;
    expect(readBatch(insideOdd, maxLines)).toMatchObject({ frames: [{ type: "message", seq: 1 }] });
  });
});
