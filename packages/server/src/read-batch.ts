import { CloseCode, FrameError, decodeBatch } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import type { CloseInfo } from "./link.js";

/**
 * Decodes a batch received over any transport, or says why it is refused. The lines are counted
 * before any is decoded, so a batch over `maxLines` costs no memory beyond its text.
 */
export function readBatch(text: string, maxLines: number): { readonly frames: Frame[] } | { readonly refused: CloseInfo } {
  let lines = 1;
  for (let at = text.indexOf("\n"); at >= 0; at = text.indexOf("\n", at + 1)) {
    if (++lines > maxLines) return { refused: { code: CloseCode.MESSAGE_TOO_LARGE, reason: `batch of more than ${maxLines} lines` } };
  }
  try {
    return { frames: decodeBatch(text) };
  } catch (error) {
    return { refused: { code: CloseCode.PROTOCOL_ERROR, reason: `malformed frame: ${error instanceof FrameError ? error.message : "unreadable batch"}` } };
  }
}
