import { decodeFrame, decodeServerFrame, encodeClientFrame, encodeFrame } from "./codec.js";
import type { ClientFrame, ServerFrame } from "./codec.js";
import type { Frame } from "./frames.js";

/**
 * A batch is frames joined by "\n" (newline-delimited JSON). HTTP bodies, streamed responses
 * and WebSocket messages all carry batches, so many frames cost one request or one message.
 */
export function encodeBatch(frames: readonly Frame[]): string {
  return join(frames, encodeFrame);
}

/**
 * Decodes a whole batch; blank lines (a lone "\r" too, from a CRLF-rewriting proxy) are skipped,
 * unknown frame types dropped. A frame line may end in "\r": JSON allows the whitespace.
 */
export function decodeBatch(text: string): Frame[] {
  return split(text, decodeFrame);
}

/** encodeBatch for a client, on encodeClientFrame. */
export function encodeClientBatch(frames: readonly ClientFrame[]): string {
  return join(frames, encodeClientFrame);
}

/** decodeBatch for a client, on decodeServerFrame. */
export function decodeServerBatch(text: string): ServerFrame[] {
  return split(text, decodeServerFrame);
}

function join<T>(frames: readonly T[], encode: (frame: T) => string): string {
  return frames.map(encode).join("\n");
}

/** A line that carries no frame: empty, or the "\r" a CRLF-rewriting proxy leaves of one. */
const isBlank = (line: string) => line === "" || line === "\r";

function split<T>(text: string, decode: (line: string) => T | undefined): T[] {
  const frames: T[] = [];
  for (const line of text.split("\n")) {
    if (isBlank(line)) continue;
    const frame = decode(line);
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
      return text.slice(0, end).split("\n").filter((line) => !isBlank(line));
    },
    get pendingLength() {
      return tail.length;
    },
  };
}
