import { CloseCode, FrameError, decodeBatch } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import type { CloseInfo } from "./link.js";

/**
 * Most values a batch may build per line it is allowed, counted by the commas, colons and
 * brackets outside its strings. A message needs three (`["m",seq,"data"]`: a bracket and two
 * commas), an ack or a ping two, and a hello, once per batch, about fourteen.
 */
const VALUES_PER_LINE = 4;

/**
 * Decodes a batch received over any transport, or says why it is refused. The lines are counted
 * before any is decoded, so a batch over `maxLines` costs no memory beyond its text; so are the
 * values its JSON would build, since one line within the byte limit can hold millions of them
 * (`[{},{},…]`), which cost far more memory and time than their few bytes.
 */
export function readBatch(text: string, maxLines: number): { readonly frames: Frame[] } | { readonly refused: CloseInfo } {
  let lines = 1;
  for (let at = text.indexOf("\n"); at >= 0; at = text.indexOf("\n", at + 1)) {
    if (++lines > maxLines) return { refused: { code: CloseCode.MESSAGE_TOO_LARGE, reason: `batch of more than ${maxLines} lines` } };
  }
  const maxValues = VALUES_PER_LINE * maxLines;
  if (!buildsAtMost(text, maxValues)) return { refused: { code: CloseCode.MESSAGE_TOO_LARGE, reason: `batch of more than ${maxValues} values` } };
  try {
    return { frames: decodeBatch(text) };
  } catch (error) {
    return { refused: { code: CloseCode.PROTOCOL_ERROR, reason: `malformed frame: ${error instanceof FrameError ? error.message : "unreadable batch"}` } };
  }
}

/**
 * Whether the JSON of `text` has at most `max` commas, colons and opening brackets outside its
 * strings. Strings are skipped with indexOf, so a long message costs little to check. A string
 * left open only makes the count smaller, and JSON.parse refuses its line before any after it.
 */
function buildsAtMost(text: string, max: number): boolean {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      i = stringEnd(text, i);
      if (i < 0) return true;
    } else if ((c === 44 || c === 58 || c === 91 || c === 123) && ++count > max) {
      return false;
    }
  }
  return true;
}

/** Where the string that opens at `start` closes: the next quote after an even run of backslashes, or -1. */
function stringEnd(text: string, start: number): number {
  for (let at = text.indexOf('"', start + 1); at >= 0; at = text.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === 92) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return -1;
}
