import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { CloseCode, HttpStatusForClose, closeCodeName, encodeFrame } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import type { CloseInfo } from "./link.js";
import { readBatch } from "./read-batch.js";

/** HTTP helpers shared by the router and the HTTP transports: bodies, answers, refusals. */

/** Headers of every response that carries frames (poll answers, the stream). */
export const FRAME_HEADERS = {
  "Content-Type": "text/plain; charset=utf-8",
  "Cache-Control": "no-cache, no-store, no-transform",
  // Without it, Chromium holds back the first 512 bytes of a text/plain response from
  // XMLHttpRequest to sniff its type: a stream's welcome and pings would never show.
  "X-Content-Type-Options": "nosniff",
} as const;

/** A refusal as an HTTP status and the close frame of its body. */
export interface HttpRefusal extends CloseInfo {
  readonly status: number;
}

/** The status docs/protocol.md §2 gives a close code; 500 for codes it does not list. */
export function statusFor(code: number): number {
  const name = closeCodeName(code);
  return (name && HttpStatusForClose[name]) ?? 500;
}

export const refusal = (code: number, reason: string, status = statusFor(code)): HttpRefusal => ({ status, code, reason });

const noop = () => {};

/** Answers with a status and a body that is one close frame. */
export function refuse(res: ServerResponse, { status, code, reason }: HttpRefusal, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = encodeFrame({ type: "close", code, reason });
  res.writeHead(status, { ...FRAME_HEADERS, "Content-Length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Answers 200 with a batch (an empty body for none). */
export function answer(res: ServerResponse, lines: readonly string[]): void {
  if (res.writableEnded || res.destroyed) return;
  const body = lines.join("\n");
  res.writeHead(200, { ...FRAME_HEADERS, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** Refuses an upgrade before it happens: a raw HTTP response on the socket, then the end. */
export function refuseUpgrade(socket: Duplex, { status, code, reason }: HttpRefusal): void {
  socket.on("error", noop);
  if (!socket.writable) return void socket.destroy();
  const body = encodeFrame({ type: "close", code, reason });
  // Then let the socket go: after an upgrade request it is no longer the HTTP server's, and a
  // client that keeps its half open would hold it (and server.close()) for good.
  socket.end(
    `HTTP/1.1 ${status} ${statusText(status)}\r\nConnection: close\r\nContent-Type: ${FRAME_HEADERS["Content-Type"]}\r\n` +
      `X-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

function statusText(status: number): string {
  const texts: Record<number, string> = { 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable" };
  return texts[status] ?? "Error";
}

/** The body's frames, or why they cannot be read; undefined when the client went away. */
export type BodyResult = { readonly frames: Frame[] } | { readonly refused: HttpRefusal } | undefined;

/**
 * Reads a request body of at most `limit` bytes and decodes it as a batch of at most `maxLines`
 * lines. A body over the limit is refused as soon as it is known to be too large, without
 * buffering the rest.
 */
export function readFrames(req: IncomingMessage, limit: number, maxLines: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const tooLarge = refusal(CloseCode.MESSAGE_TOO_LARGE, `request body is over the limit of ${limit} bytes`);
    const declared = Number(req.headers["content-length"]);
    if (declared > limit) return resolve({ refused: tooLarge });
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyResult) => {
      if (done) return;
      done = true;
      req.off("data", onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish({ refused: tooLarge });
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => finish(decode(Buffer.concat(chunks, size), maxLines)));
    req.on("error", () => finish(undefined));
    req.on("close", () => finish(undefined));
  });
}

function decode(body: Buffer, maxLines: number): BodyResult {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    return { refused: refusal(CloseCode.PROTOCOL_ERROR, "request body is not valid UTF-8") };
  }
  const batch = readBatch(text, maxLines);
  return "refused" in batch ? { refused: refusal(batch.refused.code, batch.refused.reason) } : batch;
}
