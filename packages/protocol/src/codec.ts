import { base64ToBytes, bytesToBase64 } from "./base64.js";
import type { ChannelPosition, Frame, HelloFrame, MessagePartFrame, WelcomeFrame } from "./frames.js";

/**
 * Wire form: each frame is one JSON array whose first element names its type. JSON never
 * contains a raw newline, so frames can be joined by "\n" into batches (batch.ts) and split
 * back apart on any transport, text-only HTTP included. Binary payloads travel as base64.
 *
 *   hello    ["h", {"v":1, "sid"?:string, "ack":n, "att"?:n, "cid"?:string, "pt"?:true, "pr"?:true}]
 *   welcome  ["w", {"v":1, "sid":s, "resumed":b, "ack":n, "pingInterval":ms, "pingTimeout":ms,
 *                   "maxMessageBytes":n, "resumeWindow":ms, "pingFirst"?:true}]
 *   message  ["m", seq, "text", pos?]   ["b", seq, "base64", pos?]   pos = {"ch":s,"ep":s,"off":n}
 *   part     ["M", seq, offset, total, "text"]   ["B", seq, offset, total, "base64"]   (server → client, parts.ts)
 *   ack      ["a", seq]      ping ["p", id]      pong ["P", id]      close ["c", code, "reason"]
 */

/** Thrown by the decoders for input that is not a well-formed frame. */
export class FrameError extends Error {
  override readonly name = "FrameError";
}

function encodePosition(position: ChannelPosition): object {
  return { ch: position.channel, ep: position.epoch, off: position.offset };
}

/** The frames a client sends: every frame but the server's welcome and message parts. */
export type ClientFrame = Exclude<Frame, WelcomeFrame | MessagePartFrame>;
/** The frames a server sends: every frame but the client's hello. */
export type ServerFrame = Exclude<Frame, HelloFrame>;

/** Encodes the frames both sides send; the handshake frames have their own encoders. */
function encodeShared(frame: Exclude<Frame, HelloFrame | WelcomeFrame | MessagePartFrame>): string {
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
  }
}

function encodeWelcome(frame: WelcomeFrame): string {
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
      pingFirst: frame.pingFirst,
    },
  ]);
}

/**
 * What a client sends. The client uses this one (and decodeServerFrame), so its bundle leaves
 * out the halves of the handshake only a server needs.
 */
export function encodeClientFrame(frame: ClientFrame): string {
  return frame.type === "hello"
    ? JSON.stringify(["h", { v: frame.version, sid: frame.sessionId, ack: frame.ack, att: frame.attempt, cid: frame.connectionId, pt: frame.parts, pr: frame.probe }])
    : encodeShared(frame);
}

/** A part: upper case of its message's tag (M text, B base64); only a server sends one. */
function encodePart(frame: MessagePartFrame): string {
  return JSON.stringify([frame.binary ? "B" : "M", frame.seq, frame.offset, frame.total, frame.payload]);
}

/** Encodes any frame. */
export function encodeFrame(frame: Frame): string {
  return frame.type === "welcome" ? encodeWelcome(frame) : frame.type === "part" ? encodePart(frame) : encodeClientFrame(frame);
}

// One message for every malformed frame: which field was wrong helps nobody on the wire, and
// the client bundle carries every string.
function fail(): never {
  throw new FrameError("malformed frame");
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : fail();
}

function text(value: unknown): string {
  return typeof value === "string" ? value : fail();
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : fail();
}

function decodePosition(value: unknown): ChannelPosition {
  const pos = record(value);
  return { channel: text(pos["ch"]), epoch: text(pos["ep"]), offset: count(pos["off"]) };
}

/** The wire array of one frame. */
function parse(input: string): unknown[] {
  let wire: unknown;
  try {
    wire = JSON.parse(input);
  } catch {
    fail();
  }
  return Array.isArray(wire) && typeof wire[0] === "string" ? wire : fail();
}

/** The frames both sides send; undefined for any other tag. */
function decodeShared(wire: unknown[]): Frame | undefined {
  switch (wire[0]) {
    case "m":
    case "b": {
      const seq = count(wire[1]);
      const payload = text(wire[2]);
      const data = wire[0] === "m" ? payload : (base64ToBytes(payload) ?? fail());
      return { type: "message", seq, data, ...(wire[3] !== undefined && { position: decodePosition(wire[3]) }) };
    }
    case "M":
    case "B":
      // A part of a message (see parts.ts): its base64 is decoded once the message is whole.
      return { type: "part", seq: count(wire[1]), offset: count(wire[2]), total: count(wire[3]), binary: wire[0] === "B", payload: text(wire[4]) };
    case "a":
      return { type: "ack", seq: count(wire[1]) };
    case "p":
      return { type: "ping", id: count(wire[1]) };
    case "P":
      return { type: "pong", id: count(wire[1]) };
    case "c":
      // The reason may be left out (or null, as hello's optional fields may be); else a string.
      return { type: "close", code: count(wire[1]), reason: wire[2] == null ? "" : text(wire[2]) };
    default:
      return undefined;
  }
}

function decodeHello(wire: unknown[]): HelloFrame {
  const body = record(wire[1]);
  const { sid, att, cid, pt, pr } = body;
  const hello: HelloFrame = { type: "hello", version: count(body["v"]), ack: count(body["ack"] ?? 0) };
  return {
    ...hello,
    ...(sid === undefined || sid === null ? {} : { sessionId: text(sid) }),
    ...(att === undefined || att === null ? {} : { attempt: count(att) }),
    ...(cid === undefined || cid === null ? {} : { connectionId: text(cid) }),
    ...(pt === true ? { parts: true } : {}),
    ...(pr === true ? { probe: true } : {}),
  };
}

function decodeWelcome(wire: unknown[]): WelcomeFrame {
  const body = record(wire[1]);
  return {
    type: "welcome",
    version: count(body["v"]),
    sessionId: text(body["sid"]),
    resumed: body["resumed"] === true,
    ack: count(body["ack"]),
    pingIntervalMs: count(body["pingInterval"]),
    pingTimeoutMs: count(body["pingTimeout"]),
    maxMessageBytes: count(body["maxMessageBytes"]),
    resumeWindowMs: count(body["resumeWindow"]),
    ...(body["pingFirst"] === true && { pingFirst: true }),
  };
}

/**
 * Decodes one frame. Returns undefined for a well-formed frame of a type this version does
 * not know, so newer peers can add frame types without breaking older ones.
 * @throws FrameError when the text is not a valid frame.
 */
export function decodeFrame(input: string): Frame | undefined {
  const wire = parse(input);
  return wire[0] === "h" ? decodeHello(wire) : wire[0] === "w" ? decodeWelcome(wire) : decodeShared(wire);
}

/** Decodes what a server sends, as decodeFrame does; a hello is an unknown frame here. */
export function decodeServerFrame(input: string): ServerFrame | undefined {
  const wire = parse(input);
  return wire[0] === "w" ? decodeWelcome(wire) : (decodeShared(wire) as ServerFrame | undefined);
}
