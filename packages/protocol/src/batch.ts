import { decodeFrame, encodeFrame } from "./codec.js";
import type { Frame } from "./frames.js";

/**
 * A batch is frames joined by "\n" (newline-delimited JSON). HTTP bodies, streamed responses
 * and WebSocket messages all carry batches, so many frames cost one request or one message.
 */
export function encodeBatch(frames: readonly Frame[]): string {
  let out = "";
  for (let i = 0; i < frames.length; i++) out += (i ? "\n" : "") + encodeFrame(frames[i]!);
  return out;
}

/** Decodes a whole batch; blank lines are skipped, unknown frame types dropped. */
export function decodeBatch(text: string): Frame[] {
  const frames: Frame[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const frame = decodeFrame(line);
    if (frame) frames.push(frame);
  }
  return frames;
}

/**
 * Splits a stream of text chunks into complete lines. Chunk boundaries fall anywhere (even
 * inside a frame), so the unfinished tail is kept until the rest arrives.
 */
export interface LineSplitter {
  /** Adds a chunk; returns the lines it completed (never including the unfinished tail). */
  push(chunk: string): string[];
  /** Characters held back waiting for their newline. */
  readonly pendingLength: number;
}

export function createLineSplitter(): LineSplitter {
  let tail = "";
  return {
    push(chunk) {
      const text = tail + chunk;
      const end = text.lastIndexOf("\n");
      if (end < 0) {
        tail = text;
        return [];
      }
      tail = text.slice(end + 1);
      return text.slice(0, end).split("\n").filter((line) => line !== "");
    },
    get pendingLength() {
      return tail.length;
    },
  };
}
