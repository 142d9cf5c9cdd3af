import { describe, expect, it } from "vitest";
import { createManualClock } from "@lifeline/testkit";
import { MESSAGE_PART_CHARS, PROTOCOL_VERSION, decodeBatch, encodeBatch, maxBatchLines } from "@lifeline/protocol";
import type { Frame, MessagePartFrame } from "@lifeline/protocol";
import { WEBSOCKET_PIECE_BYTES } from "../src/link.js";
import { closeOf, echo, startServer, startWatchedServer } from "./helpers/server.js";
import { bytes, hello, nextTurn, openStream, openWs, postFrames, text, wsSession } from "./helpers/wire.js";
import type { WsPeer } from "./helpers/wire.js";
import type { Session } from "@lifeline/server";

/** Drops the peer's socket and waits until the server has detached its session. */
async function dropLink(peer: WsPeer, session: Session): Promise<void> {
  peer.ws.terminate();
  await peer.closed;
  await expect.poll(() => session.transport).toBeNull();
}

describe("websocket transport", () => {
  it("answers hello with a welcome for a new session and announces it", async () => {
    const { url, nextSession } = await startServer({ heartbeat: { interval: 20_000, timeout: 5_000 }, resumeWindow: 30_000, maxMessageSize: 1234 });
    const peer = await wsSession(url);
    expect(peer.welcome).toEqual({
      type: "welcome",
      version: 1,
      sessionId: expect.stringMatching(/^[A-Za-z0-9_-]{24}$/),
      resumed: false,
      ack: 0,
      pingIntervalMs: 20_000,
      pingTimeoutMs: 5_000,
      maxMessageBytes: 1234,
      resumeWindowMs: 30_000,
      // A hello that would move this session may wait for a pong (see "a ping before hello" below).
      pingFirst: true,
    });
    const session = await nextSession();
    expect(session.id).toBe(peer.welcome.sessionId);
    expect(session.transport).toBe("websocket");
  });

  it("echoes text and binary byte for byte, acking what it received", async () => {
    const { server, url } = await startServer();
    echo(server);
    const peer = await wsSession(url);
    const payload = new Uint8Array(256).map((_, i) => i);
    peer.send(text(1, "héllo 👋"), bytes(2, payload), text(3, ""));
    expect(await peer.inbox.next("message")).toEqual(text(1, "héllo 👋"));
    expect(await peer.inbox.next("message")).toEqual(bytes(2, payload));
    expect(await peer.inbox.next("message")).toEqual(text(3, ""));
    expect(await peer.inbox.next("ack")).toEqual({ type: "ack", seq: 3 });
  });

  it("sends a burst queued in one tick as one WebSocket message", async () => {
    const { url, nextSession } = await startServer();
    const peer = await wsSession(url);
    const session = await nextSession();
    const before = peer.messages.length;
    for (let i = 0; i < 50; i++) session.send(`m${i}`);
    for (let i = 0; i < 50; i++) await peer.inbox.next("message");
    expect(peer.messages.length - before).toBe(1);
  });

  it("splits a large burst into messages of at most WEBSOCKET_PIECE_BYTES, so each arrival is life on a slow link", async () => {
    const { url, nextSession } = await startServer();
    const peer = await wsSession(url);
    const session = await nextSession();
    const before = peer.messages.length;
    const big = "x".repeat(25_000);
    for (let i = 0; i < 8; i++) session.send(`${i}${big}`);
    session.send("y".repeat(WEBSOCKET_PIECE_BYTES + 10)); // one frame over a piece: sent whole, never cut
    for (let i = 0; i < 8; i++) expect(await peer.inbox.next("message")).toEqual(text(i + 1, `${i}${big}`));
    expect((await peer.inbox.next("message")).data).toHaveLength(WEBSOCKET_PIECE_BYTES + 10);
    const pieces = peer.messages.slice(before);
    expect(pieces.length).toBe(5); // two frames fit in a piece, not three; the long one alone
    expect(pieces.slice(0, 4).every((piece) => Buffer.byteLength(piece) <= WEBSOCKET_PIECE_BYTES)).toBe(true);
  });

  it("counts a piece in bytes: text outside ASCII takes up to three per character", async () => {
    const { url, nextSession } = await startServer();
    const peer = await wsSession(url);
    const session = await nextSession();
    const before = peer.messages.length;
    const wide = "語".repeat(10_000); // 30 kB of UTF-8 in 10 k characters
    for (let i = 0; i < 6; i++) session.send(wide);
    for (let i = 0; i < 6; i++) expect(await peer.inbox.next("message")).toEqual(text(i + 1, wide));
    const pieces = peer.messages.slice(before);
    expect(pieces.length).toBe(3);
    expect(pieces.every((piece) => Buffer.byteLength(piece) <= WEBSOCKET_PIECE_BYTES)).toBe(true);
  });

  it("sends a large burst queued just before session.close() in pieces too, the close frame last", async () => {
    const { url, nextSession } = await startServer();
    const peer = await wsSession(url);
    const session = await nextSession();
    const before = peer.messages.length;
    const big = "c".repeat(25_000);
    for (let i = 0; i < 6; i++) session.send(big);
    session.close(4444, "kicked");
    expect(await peer.closed).toMatchObject({ code: 4444 });
    const pieces = peer.messages.slice(before);
    expect(pieces.length).toBe(3);
    expect(pieces.every((piece) => Buffer.byteLength(piece) <= WEBSOCKET_PIECE_BYTES)).toBe(true);
    expect(pieces.flatMap((piece) => decodeBatch(piece))).toEqual([...[1, 2, 3, 4, 5, 6].map((seq) => text(seq, big)), { type: "close", code: 4444, reason: "kicked" }]);
  });

  it("replays a large backlog on resume in pieces, after the welcome alone (a slow client must not need the whole first piece to learn it resumed)", async () => {
    const { url, nextSession } = await startServer();
    const first = await wsSession(url);
    const session = await nextSession();
    await dropLink(first, session);
    const big = "z".repeat(25_000);
    for (let i = 0; i < 6; i++) session.send(big); // while detached: the replay holds 150 kB

    const second = await wsSession(url, session.id, 0);
    expect(second.welcome.resumed).toBe(true);
    for (let i = 0; i < 6; i++) expect(await second.inbox.next("message")).toEqual(text(i + 1, big));
    expect(second.messages.length).toBe(4);
    expect(decodeBatch(second.messages[0]!)).toEqual([second.welcome]);
    expect(decodeBatch(second.messages[1]!).map((frame) => frame.type)).toEqual(["message", "message"]);
    expect(second.messages.every((piece) => Buffer.byteLength(piece) <= WEBSOCKET_PIECE_BYTES)).toBe(true);
  });

  it("replays an escape-heavy backlog whose encoding is over the base not-reading limit without dropping the link", async () => {
    // Base limit: 2 × max(body limit, replay bytes) = 8 MiB. The replay holds 4 MiB of control
    // characters, which JSON writes as 24 MiB (\u0001 each): far more than the socket takes at once.
    const { url, nextSession } = await startServer({ maxMessageSize: 64 * 1024, replayBuffer: { maxBytes: 4 * 1024 * 1024 } });
    const first = await wsSession(url);
    const session = await nextSession();
    await dropLink(first, session);
    const control = "\u0001".repeat(64 * 1024);
    for (let i = 0; i < 64; i++) session.send(control);

    const second = await wsSession(url, session.id, 0);
    expect(second.welcome.resumed).toBe(true);
    expect(session.transport).toBe("websocket");
    for (let i = 0; i < 64; i++) expect(await second.inbox.next("message")).toEqual(text(i + 1, control));
  });

  it("drops resent duplicates and delivers each message once", async () => {
    const { url, nextSession } = await startServer();
    const peer = await wsSession(url);
    const session = await nextSession();
    const got: unknown[] = [];
    session.on("message", (data) => got.push(data));
    peer.send(text(1, "a"), text(2, "b"));
    expect(await peer.inbox.next("ack")).toEqual({ type: "ack", seq: 2 });
    peer.send(text(1, "a"), text(2, "b"), text(4, "gap"), text(3, "c"));
    expect(await peer.inbox.next("ack")).toEqual({ type: "ack", seq: 3 });
    expect(got).toEqual(["a", "b", "c"]);
  });

  it("resumes a session on a new socket and replays only what the client lacks", async () => {
    const { url, nextSession, sessions } = await startServer();
    const first = await wsSession(url);
    const session = await nextSession();
    session.send("1");
    session.send("2");
    await first.inbox.next("message");
    await first.inbox.next("message");
    first.send(text(1, "from client"));
    await first.inbox.next("ack");
    await dropLink(first, session);
    session.send("3"); // while detached

    const second = await wsSession(url, session.id, 1);
    expect(second.welcome).toMatchObject({ sessionId: session.id, resumed: true, ack: 1 });
    expect(await second.inbox.next("message")).toEqual(text(2, "2"));
    expect(await second.inbox.next("message")).toEqual(text(3, "3"));
    expect(session.transport).toBe("websocket");
    expect(sessions).toHaveLength(1); // a resume is not a new connection
  });

  it("moves a session to a newer socket and ends the old one with 4001", async () => {
    const { url, nextSession } = await startServer();
    const first = await wsSession(url);
    const session = await nextSession();
    const second = await wsSession(url, session.id, 0);
    expect(second.welcome.resumed).toBe(true);
    expect(await first.inbox.next("close")).toMatchObject({ code: 4001 });
    expect(await first.closed).toMatchObject({ code: 4001 });
    session.send("to the new one");
    expect(await second.inbox.next("message")).toEqual(text(1, "to the new one"));
  });

  it("starts a new session for an unknown sid", async () => {
    const { url, sessions } = await startServer();
    const peer = await wsSession(url, "AAAAAAAAAAAAAAAAAAAAAAAA", 5);
    expect(peer.welcome.resumed).toBe(false);
    expect(peer.welcome.sessionId).not.toBe("AAAAAAAAAAAAAAAAAAAAAAAA");
    expect(peer.welcome.ack).toBe(0);
    await expect.poll(() => sessions.length).toBe(1);
  });

  it("starts a new session when the replay buffer lost what the client needs", async () => {
    const { url, nextSession } = await startServer({ replayBuffer: { maxMessages: 2 } });
    const first = await wsSession(url);
    const old = await nextSession();
    const oldClosed = closeOf(old);
    for (const m of ["1", "2", "3"]) old.send(m);
    await nextTurn();
    first.ws.terminate();
    await expect.poll(() => old.transport).toBeNull();
    const second = await wsSession(url, old.id, 0);
    expect(second.welcome.resumed).toBe(false);
    expect(second.welcome.sessionId).not.toBe(old.id);
    expect((await oldClosed).code).toBe(4001);
  });

  it("refuses an upgrade probe the replay buffer cannot serve, without ending the session, whose link still carries what the probe lacks", async () => {
    const { url, nextSession } = await startServer({ replayBuffer: { maxMessages: 2 } });
    const first = await wsSession(url);
    const old = await nextSession();
    let closed = false;
    old.on("close", () => (closed = true));
    for (const m of ["1", "2", "3"]) old.send(m);
    // The background probe of a client that has not read message 1 yet, which only the first link has now.
    const probe = await openWs(url);
    probe.send({ type: "hello", version: PROTOCOL_VERSION, sessionId: old.id, ack: 0, probe: true });
    expect(await probe.inbox.next("close")).toEqual({ type: "close", code: 4001, reason: expect.stringContaining("replay buffer") });
    expect(closed).toBe(false);
    expect(old.transport).toBe("websocket");
    // The first link goes on: it has every message, and the session takes its ack.
    for (const seq of [1, 2, 3]) expect(await first.inbox.next("message")).toEqual(text(seq, String(seq)));
    first.send({ type: "ack", seq: 3 });
    old.send("4");
    expect(await first.inbox.next("message")).toEqual(text(4, "4"));
  });

  it("refuses an upgrade probe naming no live session instead of starting one nobody would use", async () => {
    const { url, sessions } = await startServer();
    const probe = await openWs(url);
    probe.send({ type: "hello", version: PROTOCOL_VERSION, sessionId: "AAAAAAAAAAAAAAAAAAAAAAAA", ack: 0, probe: true });
    expect(await probe.inbox.next("close")).toEqual({ type: "close", code: 4001, reason: expect.stringContaining("no such session") });
    expect(sessions).toEqual([]);
  });

  it("answers ping with pong", async () => {
    const { url } = await startServer();
    const peer = await wsSession(url);
    peer.send({ type: "ping", id: 42 });
    expect(await peer.inbox.next("pong")).toEqual({ type: "pong", id: 42 });
  });

  it("session.close() reaches the client as a close frame and WebSocket close 1000", async () => {
    const { url, nextSession } = await startServer();
    const peer = await wsSession(url);
    const session = await nextSession();
    const closed = closeOf(session);
    session.send("bye");
    session.close();
    expect(await peer.inbox.next("message")).toEqual(text(1, "bye"));
    expect(await peer.inbox.next("close")).toEqual({ type: "close", code: 1000, reason: "" });
    expect(await peer.closed).toEqual({ code: 1000, reason: "" });
    expect(await closed).toEqual({ code: 1000, reason: "" });
  });

  it("ends the session on the client's close frame with the client's code", async () => {
    const { url, nextSession, server } = await startServer();
    const peer = await wsSession(url);
    const session = await nextSession();
    const closed = closeOf(session);
    peer.send({ type: "close", code: 1000, reason: "user left" });
    expect(await closed).toEqual({ code: 1000, reason: "user left" });
    await peer.closed;
    expect([...server.sessions]).toEqual([]);
  });

  it("takes a client close frame with a code session.close() could not send as a protocol error", async () => {
    for (const code of [99_999, 1006, 4001]) {
      const { url, nextSession } = await startServer();
      const peer = await wsSession(url);
      const closed = closeOf(await nextSession());
      peer.send({ type: "close", code, reason: "odd" });
      expect(await closed).toEqual({ code: 4100, reason: `close code ${code} is not one a client may send` });
      expect((await peer.closed).code).toBe(4100);
    }
  });

  it("pings on schedule and drops a silent link with 4000, then closes after the resume window", async () => {
    const clock = createManualClock();
    const { url, nextSession } = await startServer({ clock, heartbeat: { interval: 1000, timeout: 500 }, resumeWindow: 3000 });
    const peer = await wsSession(url);
    const session = await nextSession();
    const closed = closeOf(session);
    clock.advance(1000);
    expect(await peer.inbox.next("ping")).toEqual({ type: "ping", id: 1 });
    clock.advance(500); // silent for 1500 ms: dead
    expect(await peer.inbox.next("close")).toMatchObject({ code: 4000 });
    expect((await peer.closed).code).toBe(4000);
    expect(session.transport).toBeNull();
    clock.advance(3000);
    expect(await closed).toMatchObject({ code: 4000, reason: expect.stringContaining("resume window expired") });
  });

  // The client checks its link after a foreground or network change by a ping, which travels
  // behind a message still going up, and gives us the timeout to show life.
  it("pings at least every half timeout while a message takes longer than that to arrive, and on schedule otherwise", async () => {
    const clock = createManualClock();
    // Sweeps come up to 200 ms late here, so the pings while a message arrives are due 200 ms apart.
    const { url, sockets } = await startWatchedServer({ clock, heartbeat: { interval: 1000, timeout: 800 } });
    const peer = await wsSession(url);
    const pings = () => peer.messages.flatMap((message) => decodeBatch(message)).filter((frame) => frame.type === "ping").length;
    const arrived = () => new Promise((resolve) => sockets.at(-1)!.once("data", resolve));
    let probes = 0;
    const roundTrip = () => {
      peer.send({ type: "ping", id: 100 + ++probes });
      return peer.inbox.next("pong");
    };
    // A message that arrives whole starts no extra pings (its bytes are seen before it is read).
    peer.send(text(1, "whole"));
    await peer.inbox.next("ack");
    clock.advance(300);
    await roundTrip(); // anything the server wrote meanwhile is here now
    expect(pings()).toBe(0);
    // One that arrives in two fragments, 400 ms apart: pinged twice meanwhile.
    const batch = encodeBatch([text(2, "y".repeat(1000))]);
    const first = arrived();
    peer.ws.send(batch.slice(0, 500), { fin: false });
    await first;
    clock.advance(200);
    await peer.inbox.next("ping");
    clock.advance(200);
    await peer.inbox.next("ping");
    peer.ws.send(batch.slice(500), { fin: true });
    expect(await peer.inbox.next("ack")).toEqual({ type: "ack", seq: 2 });
    clock.advance(300);
    await roundTrip();
    expect(pings()).toBe(2);
  });

  it("keeps a link alive while the client answers pings", async () => {
    const clock = createManualClock();
    const { url, nextSession } = await startServer({ clock, heartbeat: { interval: 1000, timeout: 500 } });
    const peer = await wsSession(url);
    const session = await nextSession();
    for (let i = 1; i <= 4; i++) {
      clock.advance(1000);
      const ping = await peer.inbox.next("ping");
      // The pong answering our own ping proves the server has read our pong before time moves on.
      peer.send({ type: "pong", id: ping.id }, { type: "ping", id: 100 + i });
      expect(await peer.inbox.next("pong")).toEqual({ type: "pong", id: 100 + i });
    }
    expect(session.transport).toBe("websocket");
  });

  it("closes a detached session after the resume window on real time too (50 ms heartbeat)", async () => {
    const { url, nextSession } = await startServer({ heartbeat: { interval: 50, timeout: 50 }, resumeWindow: 50 });
    const peer = await wsSession(url);
    const session = await nextSession();
    const closed = closeOf(session);
    peer.ws.pause(); // reads nothing, answers nothing
    expect(await closed).toMatchObject({ code: 4000 });
  });
});

describe("websocket transport: message parts", () => {
  /** A peer whose hello asks for parts, as the client's does. */
  async function partsPeer(url: string, sessionId?: string, ack = 0) {
    const peer = await openWs(url);
    peer.send(sessionId === undefined ? { type: "hello", version: PROTOCOL_VERSION, ack, parts: true } : { type: "hello", version: PROTOCOL_VERSION, sessionId, ack, parts: true });
    return { ...peer, welcome: await peer.inbox.next("welcome") };
  }
  const framesOf = (pieces: readonly string[]): Frame[] => pieces.flatMap((piece) => decodeBatch(piece));

  it("sends a long message to a client that joins parts as parts, in pieces of at most WEBSOCKET_PIECE_BYTES", async () => {
    const { url, nextSession } = await startServer();
    const peer = await partsPeer(url);
    const session = await nextSession();
    const before = peer.messages.length;
    const long = "é".repeat(MESSAGE_PART_CHARS * 20 + 5);
    session.send(long);
    session.send("after");
    expect(await peer.inbox.next("message")).toEqual(text(2, "after"));
    const frames = framesOf(peer.messages.slice(before));
    expect(frames.map((f) => f.type)).toEqual([...Array(21).fill("part"), "message"]);
    const parts = frames.slice(0, 21) as MessagePartFrame[];
    expect(parts.map((p) => [p.seq, p.offset, p.total])).toEqual(parts.map((_, i) => [1, i * MESSAGE_PART_CHARS, long.length]));
    expect(parts.every((p) => !p.binary)).toBe(true);
    expect(parts.map((p) => p.payload).join("")).toBe(long);
    // A part is 16 KiB of UTF-8 here, so three fit a piece and four do not: the pieces fall between parts.
    expect(peer.messages.length - before).toBe(7);
    expect(peer.messages.slice(before).every((piece) => Buffer.byteLength(piece) <= WEBSOCKET_PIECE_BYTES)).toBe(true);
  });

  it("sends a long message whole to a client whose hello did not ask for parts", async () => {
    const { url, nextSession } = await startServer();
    const peer = await wsSession(url);
    const session = await nextSession();
    const before = peer.messages.length;
    const long = "x".repeat(MESSAGE_PART_CHARS * 3);
    session.send(long);
    expect(await peer.inbox.next("message")).toEqual(text(1, long));
    expect(framesOf(peer.messages.slice(before)).map((f) => f.type)).toEqual(["message"]);
  });

  it("keeps to what the hello that started the session said, whatever a resuming hello says", async () => {
    const { url, nextSession } = await startServer();
    const first = await wsSession(url);
    const session = await nextSession();
    await dropLink(first, session);
    const second = await partsPeer(url, session.id, 0);
    expect(second.welcome.resumed).toBe(true);
    const long = "w".repeat(MESSAGE_PART_CHARS * 2);
    session.send(long);
    expect(await second.inbox.next("message")).toEqual(text(1, long));
    expect(second.inbox.frames.filter((f) => f.type === "part")).toEqual([]);
  });

  it("replays a message sent in parts in parts on resume, cut into pieces", async () => {
    const { url, nextSession } = await startServer();
    const first = await partsPeer(url);
    const session = await nextSession();
    await dropLink(first, session);
    const bytes = Uint8Array.from({ length: 600_000 }, (_, i) => i & 255);
    session.send(bytes);

    const second = await partsPeer(url, session.id, 0);
    expect(second.welcome.resumed).toBe(true);
    const base64 = Buffer.from(bytes).toString("base64");
    await expect.poll(() => framesOf(second.messages).filter((f) => f.type === "part").length).toBe(Math.ceil(base64.length / MESSAGE_PART_CHARS));
    const parts = framesOf(second.messages).filter((f) => f.type === "part") as MessagePartFrame[];
    expect(parts.every((p) => p.seq === 1 && p.binary && p.total === base64.length)).toBe(true);
    expect(parts.map((p) => p.payload).join("")).toBe(base64);
    expect(second.messages.length).toBeGreaterThan(1);
    expect(second.messages.every((piece) => Buffer.byteLength(piece) <= WEBSOCKET_PIECE_BYTES)).toBe(true);
  });

  it("refuses a part from the client with 4100: parts go from the server to the client only", async () => {
    const { url } = await startServer();
    const peer = await partsPeer(url);
    peer.send({ type: "part", seq: 1, offset: 0, total: 8, binary: false, payload: "half" });
    expect(await peer.closed).toMatchObject({ code: 4100 });
  });
});

describe("websocket transport: slow readers", () => {
  it("drops the link of a client that reads nothing while data piles up", async () => {
    const { server, url, nextSession } = await startServer({ maxMessageSize: 64 * 1024, replayBuffer: { maxBytes: 64 * 1024 } });
    const peer = await wsSession(url);
    const session = await nextSession();
    peer.ws.pause();
    const chunk = "q".repeat(64 * 1024);
    // Kernel buffers absorb a few MB first; then the server's own buffer passes its limit.
    for (let i = 0; i < 2000 && session.transport; i++) {
      session.send(chunk);
      await nextTurn();
    }
    expect(session.transport).toBeNull();
    expect([...server.sessions]).toEqual([session]); // kept for a resume
    peer.ws.resume();
    expect((await peer.closed).code).toBe(1006); // cut, not closed politely
  });
});

describe("websocket transport: an ended link whose client reads nothing", () => {
  it("is cut at once, with what it held, when a newer link replaced it (no 30 s closing handshake)", async () => {
    const { url, nextSession, sockets } = await startWatchedServer();
    const first = await wsSession(url);
    const session = await nextSession();
    first.ws.pause();
    const socket = sockets[0]!;
    for (let i = 0; i < 500 && socket.writableLength === 0; i++) {
      session.send("x".repeat(64 * 1024));
      await nextTurn();
    }
    expect(socket.writableLength).toBeGreaterThan(0);
    const second = await wsSession(url, first.welcome.sessionId, 0);
    expect(second.welcome.resumed).toBe(true);
    await expect.poll(() => socket.destroyed, { timeout: 3000 }).toBe(true);
  });
});

describe("websocket transport: bad input", () => {
  it("refuses a first frame that is not hello with 4100", async () => {
    const { url, sessions } = await startServer();
    const peer = await openWs(url);
    peer.send(text(1, "hi"));
    expect(await peer.inbox.next("close")).toMatchObject({ code: 4100 });
    expect((await peer.closed).code).toBe(4100);
    expect(sessions).toEqual([]);
  });

  it("refuses an unsupported protocol version with 4101", async () => {
    const { url } = await startServer();
    const peer = await openWs(url);
    peer.send(hello(undefined, 0, 2));
    expect(await peer.inbox.next("close")).toMatchObject({ code: 4101 });
    expect((await peer.closed).code).toBe(4101);
  });

  it("closes the session with 4100 on a malformed frame, and keeps serving others", async () => {
    const { server, url, nextSession } = await startServer();
    echo(server);
    const bystander = await wsSession(url);
    await nextSession();
    const peer = await wsSession(url);
    const session = await nextSession();
    const closed = closeOf(session);
    peer.ws.send('["m","not a seq","x"]');
    expect(await peer.inbox.next("close")).toMatchObject({ code: 4100 });
    expect((await closed).code).toBe(4100);
    peer.ws.send("not json at all");
    bystander.send(text(1, "still here"));
    expect(await bystander.inbox.next("message")).toEqual(text(1, "still here"));
  });

  it("keeps the session resumable when ws fails the socket for a bad close frame (a proxy's made-up 1006 for a dropped client)", async () => {
    const clock = createManualClock();
    const { url, nextSession } = await startServer({ clock, resumeWindow: 1000 });
    const peer = await wsSession(url);
    const session = await nextSession();
    let closedWith: number | undefined;
    session.on("close", ({ code }) => (closedWith = code));
    // A masked close frame (zero mask key) with code 1006, which no endpoint may send: ws fails
    // the socket with 1002.
    const socket = (peer.ws as unknown as { _socket: { write(data: Buffer): void } })._socket;
    socket.write(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xee]));
    await peer.closed;
    await expect.poll(() => session.transport).toBeNull();
    expect(closedWith).toBeUndefined();
    clock.advance(999);
    expect(closedWith).toBeUndefined();
    clock.advance(1);
    await expect.poll(() => closedWith).toBe(1006);
  });

  it("takes a WebSocket closed without a close frame as a dropped link, whatever its code (1006 once the window is over)", async () => {
    const clock = createManualClock();
    const { url, nextSession } = await startServer({ clock, resumeWindow: 1000 });
    for (const code of [1000, 3000, 4100]) {
      const peer = await wsSession(url);
      const session = await nextSession();
      const closed = closeOf(session);
      peer.ws.close(code);
      await peer.closed;
      await expect.poll(() => session.transport).toBeNull();
      clock.advance(1000);
      expect(await closed).toMatchObject({ code: 1006, reason: expect.stringContaining(`WebSocket closed (${code})`) });
    }
  });

  it("refuses binary WebSocket messages with 4100", async () => {
    const { url } = await startServer();
    const peer = await openWs(url);
    peer.ws.send(Buffer.from("[\"h\",{\"v\":1,\"ack\":0}]"));
    expect((await peer.closed).code).toBe(4100);
  });

  it("closes with 4102 on a batch of more lines than maxBatchLines", async () => {
    const { url, nextSession } = await startServer({ maxMessageSize: 100_000 });
    const peer = await wsSession(url);
    const closed = closeOf(await nextSession());
    const maxLines = maxBatchLines(100_000);
    peer.ws.send(Array.from({ length: maxLines }, (_, i) => `["p",${i}]`).join("\n"));
    expect(await peer.inbox.next("pong")).toEqual({ type: "pong", id: maxLines - 1 });
    peer.ws.send(Array.from({ length: maxLines + 1 }, (_, i) => `["p",${i}]`).join("\n"));
    expect(await peer.inbox.next("close")).toEqual({ type: "close", code: 4102, reason: `batch of more than ${maxLines} lines` });
    expect((await peer.closed).code).toBe(4102);
    expect((await closed).code).toBe(4102);
  });

  it("closes with 4102 on a message over maxMessageSize", async () => {
    const { url, nextSession } = await startServer({ maxMessageSize: 10 });
    const peer = await wsSession(url);
    const closed = closeOf(await nextSession());
    peer.send(text(1, "x".repeat(11)));
    expect(await peer.inbox.next("close")).toMatchObject({ code: 4102 });
    expect((await peer.closed).code).toBe(4102);
    expect((await closed).code).toBe(4102);
  });

  it("closes with 4100 on a hello.ack ahead of what the server sent", async () => {
    const { url, nextSession } = await startServer();
    await wsSession(url);
    const session = await nextSession();
    const peer = await openWs(url);
    peer.send(hello(session.id, 5));
    expect(await peer.inbox.next("close")).toMatchObject({ code: 4100 });
    expect(session.transport).toBe("websocket"); // the real session is untouched
  });

  it("keeps the session with the first link of an attempt and refuses its siblings and older attempts with 4001", async () => {
    const { url, nextSession } = await startServer();
    const first = await openWs(url);
    first.send({ type: "hello", version: 1, ack: 0, attempt: 1 });
    const { sessionId } = await first.inbox.next("welcome");
    const session = await nextSession();
    const resume = (attempt: number) => ({ type: "hello" as const, version: 1, sessionId, ack: 0, attempt });
    // A second candidate of the same attempt arrives late: refused, the session stays put.
    const sibling = await openWs(url);
    sibling.send(resume(1));
    expect(await sibling.inbox.next("close")).toMatchObject({ code: 4001 });
    expect(session.transport).toBe("websocket");
    // A newer attempt takes it over; after that, the older one is refused too.
    const newer = await openWs(url);
    newer.send(resume(3));
    expect((await newer.inbox.next("welcome")).resumed).toBe(true);
    expect(await first.inbox.next("close")).toMatchObject({ code: 4001 });
    const older = await openWs(url);
    older.send(resume(2));
    expect(await older.inbox.next("close")).toMatchObject({ code: 4001 });
  });

  it("ends the new sessions of a connection's race candidates once the client goes on with one, and refuses late ones", async () => {
    const { url, server, sessions } = await startServer();
    const opening = (attempt: number) => ({ type: "hello" as const, version: 1, ack: 0, attempt, connectionId: "connection-1" });
    // Two candidates of attempt 1 both reach the server: each gets a session of its own.
    const a = await openWs(url);
    a.send(opening(1));
    await a.inbox.next("welcome");
    const b = await openStream(url, [opening(1)]);
    await b.inbox.next("welcome");
    expect(sessions).toHaveLength(2);
    const lost = new Promise<{ code: number }>((resolve) => sessions[1]!.on("close", resolve));
    // The client went on with the WebSocket one: its first frame after the welcome says so.
    a.send({ type: "ping", id: 1 });
    expect((await lost).code).toBe(4001);
    expect(await b.inbox.next("close")).toMatchObject({ code: 4001 });
    expect([...server.sessions]).toEqual([sessions[0]]);
    // A candidate of the same attempt arriving now is refused, and makes no session.
    const late = await openWs(url);
    late.send(opening(1));
    expect(await late.inbox.next("close")).toMatchObject({ code: 4001 });
    expect(sessions).toHaveLength(2);
    expect(sessions[0]!.transport).toBe("websocket");
  });

  it("ends a connection's unused session when a newer attempt of it starts another", async () => {
    const { url, sessions } = await startServer();
    const opening = (attempt: number) => ({ type: "hello" as const, version: 1, ack: 0, attempt, connectionId: "connection-2" });
    const first = await openWs(url);
    first.send(opening(1));
    await first.inbox.next("welcome");
    const abandoned = new Promise<{ code: number }>((resolve) => sessions[0]!.on("close", resolve));
    const next = await openWs(url);
    next.send(opening(2));
    await next.inbox.next("welcome");
    expect((await abandoned).code).toBe(4001);
    // A cid of another shape is not tracked, nor is one without an attempt number.
    const untracked = async (extra: object) => {
      const peer = await openWs(url);
      peer.send({ type: "hello", version: 1, ack: 0, ...extra });
      await peer.inbox.next("welcome");
      peer.send({ type: "ping", id: 1 });
      const late = await openWs(url);
      late.send({ type: "hello", version: 1, ack: 0, ...extra });
      return (await late.inbox.next("welcome")).type;
    };
    expect(await untracked({ attempt: 1, connectionId: "short" })).toBe("welcome");
    expect(await untracked({ connectionId: "no-attempt-1" })).toBe("welcome");
    // Hellos of other connections, or with no connection id, are not affected.
    const other = await openWs(url);
    other.send({ ...opening(1), connectionId: "connection-3" });
    await other.inbox.next("welcome");
    await wsSession(url);
    expect(sessions.map((s) => s.transport)).toEqual([null, "websocket", "websocket", "websocket", "websocket", "websocket", "websocket", "websocket"]);
  });

  it("tracks at most 16 live sessions under one connection id (a forged id shared by thousands would make every hello walk them all)", async () => {
    const { url, sessions } = await startServer();
    const opening = (extra: object) => postFrames(url + "/poll", [{ type: "hello", version: 1, ack: 0, connectionId: "shared-by-many", ...extra }]);
    for (let i = 0; i < 16; i++) expect((await opening({})).status).toBe(200);
    // The 17th is not tracked under the id: a newer attempt of the "connection" does not end it.
    expect((await opening({ attempt: 1 })).status).toBe(200);
    expect((await opening({ attempt: 2 })).status).toBe(200);
    expect(sessions).toHaveLength(18);
    expect(sessions[16]!.transport).toBe("polling");
  });

  it("compares attempts only when the session is held by a hello that named one", async () => {
    const { url } = await startServer();
    const first = await wsSession(url); // no attempt number
    first.ws.terminate();
    const second = await openWs(url);
    second.send({ type: "hello", version: 1, sessionId: first.welcome.sessionId, ack: 0, attempt: 0 });
    expect(await second.inbox.next("welcome")).toMatchObject({ sessionId: first.welcome.sessionId, resumed: true });
  });

  it("refuses a disallowed Origin with a 4103 close a browser can read, and makes no session", async () => {
    const { url, server } = await startServer({ allowedOrigins: ["https://good.example"] });
    const evil = await openWs(url, { Origin: "https://evil.example" });
    evil.send(hello());
    expect(await evil.inbox.next("close")).toMatchObject({ code: 4103 });
    expect((await evil.closed).code).toBe(4103);
    expect([...server.sessions]).toHaveLength(0);
    const ok = await openWs(url, { Origin: "https://good.example" });
    ok.send(hello());
    expect((await ok.inbox.next("welcome")).resumed).toBe(false);
  });

  it("refuses upgrades on other paths under the base path with 404", async () => {
    const { url } = await startServer();
    await expect(openWs(url + "/nope")).rejects.toThrow(/404/);
  });

  it("closes a socket that never says hello", async () => {
    const clock = createManualClock();
    const { url } = await startServer({ clock, heartbeat: { interval: 100, timeout: 100 } });
    const peer = await openWs(url);
    clock.advance(200);
    expect((await peer.closed).code).toBe(4000);
  });
});

describe("websocket transport: a ping before hello (resumes and upgrade probes)", () => {
  it("answers a lone ping before hello with its pong, touching no session, then takes the hello", async () => {
    const { server, url, sessions, nextSession } = await startServer();
    echo(server);
    const first = await wsSession(url);
    const session = await nextSession();
    const probe = await openWs(url);
    probe.send({ type: "ping", id: 7 });
    expect(await probe.inbox.next("pong")).toEqual({ type: "pong", id: 7 });
    // The session stays on its link until the probe's hello asks for it.
    expect(sessions).toHaveLength(1);
    first.send(text(1, "still here"));
    expect(await first.inbox.next("message")).toEqual(text(1, "still here"));
    probe.send(hello(session.id, 1), text(2, "moved"));
    expect(await probe.inbox.next("welcome")).toMatchObject({ resumed: true, sessionId: session.id });
    expect(await probe.inbox.next("message")).toEqual(text(2, "moved"));
    expect(await first.inbox.next("close")).toMatchObject({ code: 4001 });
  });

  it("waits for the hello as long again after answering the ping: a held hello has a round trip more to make", async () => {
    const clock = createManualClock();
    const { url, sessions } = await startServer({ clock, heartbeat: { interval: 100, timeout: 100 } });
    const peer = await openWs(url);
    clock.advance(150);
    peer.send({ type: "ping", id: 1 });
    await peer.inbox.next("pong");
    clock.advance(150);
    peer.send(hello());
    expect(await peer.inbox.next("welcome")).toMatchObject({ resumed: false });
    expect(sessions).toHaveLength(1);
  });

  it("still closes a socket that pings but never says hello", async () => {
    const clock = createManualClock();
    const { url, sessions } = await startServer({ clock, heartbeat: { interval: 100, timeout: 100 } });
    const peer = await openWs(url);
    peer.send({ type: "ping", id: 1 });
    await peer.inbox.next("pong");
    clock.advance(200);
    expect((await peer.closed).code).toBe(4000);
    expect(sessions).toEqual([]);
  });

  it("answers one ping before hello, not more: a second is refused with 4100 (a client that reads nothing could pile up pongs)", async () => {
    const { url, sessions } = await startServer();
    const peer = await openWs(url);
    peer.send({ type: "ping", id: 1 });
    expect(await peer.inbox.next("pong")).toEqual({ type: "pong", id: 1 });
    peer.send({ type: "ping", id: 2 });
    expect(await peer.inbox.next("close")).toMatchObject({ code: 4100 });
    expect((await peer.closed).code).toBe(4100);
    expect(sessions).toEqual([]);
  });

  it("refuses a ping batched with other frames before hello with 4100", async () => {
    const { url, sessions } = await startServer();
    const peer = await openWs(url);
    peer.send({ type: "ping", id: 1 }, hello());
    expect(await peer.inbox.next("close")).toMatchObject({ code: 4100 });
    expect(sessions).toEqual([]);
  });
});
