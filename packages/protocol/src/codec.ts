import { base64ToBytes, bytesToBase64 } from "./base64.js";
import type { ChannelPosition, Frame } from "./frames.js";

/**
 * Wire form: each frame is one JSON array whose first element names its type. JSON never
 * contains a raw newline, so frames can be joined by "\n" into batches (batch.ts) and split
 * back apart on any transport, text-only HTTP included. Binary payloads travel as base64.
 *
 *   hello    ["h", {"v":1, "sid"?:string, "ack":n}]
 *   welcome  ["w", {"v":1, "sid":s, "resumed":b, "ack":n, "pingInterval":ms, "pingTimeout":ms,
 *                   "maxMessageBytes":n, "resumeWindow":ms}]
 *   message  ["m", seq, "text", pos?]   ["b", seq, "base64", pos?]   pos = {"ch":s,"ep":s,"off":n}
 *   ack      ["a", seq]      ping ["p", id]      pong ["P", id]      close ["c", code, "reason"]
 */

/** Thrown by the decoders for input that is not a well-formed frame. */
export class FrameError extends Error {
  override readonly name = "FrameError";
}

function encodePosition(position: ChannelPosition): object {
  return { ch: position.channel, ep: position.epoch, off: position.offset };
}

export function encodeFrame(frame: Frame): string {
  switch (frame.type) {
    case "message": {
      const text = typeof frame.data === "string";
      const wire: unknown[] = [text ? "m" : "b", frame.seq, text ? frame.data : bytesToBase64(frame.data as Uint8Array)];
      if (frame.position) wire.push(encodePosition(frame.position));
      return JSON.stringify(wire);
    }
    case "ack":
      return `["a",${frame.seq}]`;
    case "ping":
      return `["p",${frame.id}]`;
    case "pong":
      return `["P",${frame.id}]`;
    case "close":
      return JSON.stringify(["c", frame.code, frame.reason]);
    case "hello":
      return JSON.stringify(["h", { v: frame.version, sid: frame.sessionId, ack: frame.ack }]);
    case "welcome":
      return JSON.stringify([
        "w",
        {
          v: frame.version,
          sid: frame.sessionId,
          resumed: frame.resumed,
          ack: frame.ack,
          pingInterval: frame.pingIntervalMs,
          pingTimeout: frame.pingTimeoutMs,
          maxMessageBytes: frame.maxMessageBytes,
          resumeWindow: frame.resumeWindowMs,
        },
      ]);
  }
}

function fail(why: string): never {
  throw new FrameError(why);
}

function count(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) fail(`${what} must be a non-negative integer`);
  return value;
}

function text(value: unknown, what: string): string {
  if (typeof value !== "string") fail(`${what} must be a string`);
  return value;
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function decodePosition(value: unknown): ChannelPosition {
  const pos = record(value, "position");
  return { channel: text(pos["ch"], "position.ch"), epoch: text(pos["ep"], "position.ep"), offset: count(pos["off"], "position.off") };
}

/**
 * Decodes one frame. Returns undefined for a well-formed frame of a type this version does
 * not know, so newer peers can add frame types without breaking older ones.
 * @throws FrameError when the text is not a valid frame.
 */
export function decodeFrame(input: string): Frame | undefined {
  let wire: unknown;
  try {
    wire = JSON.parse(input);
  } catch {
    fail("frame is not valid JSON");
  }
  if (!Array.isArray(wire) || typeof wire[0] !== "string") fail("frame must be an array starting with its type");
  switch (wire[0]) {
    case "m":
    case "b": {
      const seq = count(wire[1], "seq");
      const payload = text(wire[2], "message data");
      const data = wire[0] === "m" ? payload : (base64ToBytes(payload) ?? fail("binary data is not valid base64"));
      return wire[3] === undefined ? { type: "message", seq, data } : { type: "message", seq, data, position: decodePosition(wire[3]) };
    }
    case "a":
      return { type: "ack", seq: count(wire[1], "ack seq") };
    case "p":
      return { type: "ping", id: count(wire[1], "ping id") };
    case "P":
      return { type: "pong", id: count(wire[1], "pong id") };
    case "c":
      return { type: "close", code: count(wire[1], "close code"), reason: typeof wire[2] === "string" ? wire[2] : "" };
    case "h": {
      const body = record(wire[1], "hello");
      const sid = body["sid"];
      const hello = { type: "hello", version: count(body["v"], "hello.v"), ack: count(body["ack"] ?? 0, "hello.ack") } as const;
      return sid === undefined || sid === null ? hello : { ...hello, sessionId: text(sid, "hello.sid") };
    }
    case "w": {
      const body = record(wire[1], "welcome");
      return {
        type: "welcome",
        version: count(body["v"], "welcome.v"),
        sessionId: text(body["sid"], "welcome.sid"),
        resumed: body["resumed"] === true,
        ack: count(body["ack"], "welcome.ack"),
        pingIntervalMs: count(body["pingInterval"], "welcome.pingInterval"),
        pingTimeoutMs: count(body["pingTimeout"], "welcome.pingTimeout"),
        maxMessageBytes: count(body["maxMessageBytes"], "welcome.maxMessageBytes"),
        resumeWindowMs: count(body["resumeWindow"], "welcome.resumeWindow"),
      };
    }
    default:
      return undefined;
  }
}
