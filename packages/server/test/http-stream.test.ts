import { describe, expect, it } from "vitest";
import { createManualClock } from "@lifeline/testkit";
import { request as httpRequest } from "node:http";
import type { Socket } from "node:net";
import { encodeBatch } from "@lifeline/protocol";
import type { ServerOptions } from "@lifeline/server";
import { closeOf, echo, startServer, startWatchedServer } from "./helpers/server.js";
import { bytes, hello, nextTurn, openStalledStream, openStream, postFrames, text } from "./helpers/wire.js";

describe("http streaming transport", () => {
  it("opens with welcome as the first line, with the documented headers", async () => {
    const { url, nextSession } = await startServer({ allowedOrigins: ["https://app.example"] });
    const stream = await openStream(url, [hello()]);
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(stream.headers.get("cache-control")).toBe("no-cache, no-store, no-transform");
    expect(stream.headers.get("x-accel-buffering")).toBe("no");
    expect(stream.headers.get("x-content-type-options")).toBe("nosniff");
    expect(stream.headers.get("content-length")).toBeNull();
    expect(stream.headers.get("transfer-encoding")).toBe("chunked");
    const welcome = await stream.inbox.next("welcome");
    expect(stream.lines[0]).toMatch(/^\["w",/);
    expect(welcome).toMatchObject({ resumed: false, ack: 0 });
    const session = await nextSession();
    expect(session.id).toBe(welcome.sessionId);
    expect(session.transport).toBe("streaming");
  });

  it("echoes text and binary sent by POST /send, answering 204", async () => {
    const { server, url } = await startServer();
    echo(server);
    const stream = await openStream(url, [hello()]);
    const { sessionId } = await stream.inbox.next("welcome");
    const payload = new Uint8Array([0, 1, 2, 253, 254, 255]);
    const sent = await postFrames(`${url}/send?sid=${sessionId}`, [text(1, "naïve ✓"), bytes(2, payload)]);
    expect(sent.status).toBe(204);
    expect(sent.headers.get("access-control-allow-origin")).toBe("*");
    expect(await stream.inbox.next("message")).toEqual(text(1, "naïve ✓"));
    expect(await stream.inbox.next("message")).toEqual(bytes(2, payload));
    expect(await stream.inbox.next("ack")).toEqual({ type: "ack", seq: 2 });
  });

  it("processes frames that come with the hello, after announcing the session", async () => {
    const { server, url } = await startServer();
    echo(server);
    const stream = await openStream(url, [hello(), text(1, "early")]);
    expect(await stream.inbox.next("message")).toEqual(text(1, "early"));
  });

  it("writes one frame per line, in order", async () => {
    const { url, nextSession } = await startServer();
    const stream = await openStream(url, [hello()]);
    await stream.inbox.next("welcome");
    const session = await nextSession();
    for (let i = 0; i < 20; i++) session.send(`m${i}`);
    for (let i = 0; i < 20; i++) expect(await stream.inbox.next("message")).toEqual(text(i + 1, `m${i}`));
  });

  it("resumes on a new stream and replays unacked messages; the old stream ends with 4001", async () => {
    const { url, nextSession } = await startServer();
    const first = await openStream(url, [hello()]);
    const { sessionId } = await first.inbox.next("welcome");
    const session = await nextSession();
    session.send("a");
    session.send("b");
    await first.inbox.next("message");
    const second = await openStream(url, [hello(sessionId, 1)]);
    expect(await second.inbox.next("welcome")).toMatchObject({ resumed: true, sessionId });
    expect(await second.inbox.next("message")).toEqual(text(2, "b"));
    expect(await first.inbox.next("close")).toMatchObject({ code: 4001 });
    await first.ended;
  });

  it("detaches when the client aborts the stream, and resumes later", async () => {
    const { url, nextSession } = await startServer();
    const first = await openStream(url, [hello()]);
    const { sessionId } = await first.inbox.next("welcome");
    const session = await nextSession();
    first.abort();
    await expect.poll(() => session.transport).toBeNull();
    session.send("while away");
    const second = await openStream(url, [hello(sessionId, 0)]);
    expect(await second.inbox.next("welcome")).toMatchObject({ resumed: true });
    expect(await second.inbox.next("message")).toEqual(text(1, "while away"));
  });

  it("answers a client ping with pong on the stream", async () => {
    const { url } = await startServer();
    const stream = await openStream(url, [hello()]);
    const { sessionId } = await stream.inbox.next("welcome");
    await postFrames(`${url}/send?sid=${sessionId}`, [{ type: "ping", id: 9 }]);
    expect(await stream.inbox.next("pong")).toEqual({ type: "pong", id: 9 });
  });

  it("session.close() writes the close frame and ends the response", async () => {
    const { url, nextSession } = await startServer();
    const stream = await openStream(url, [hello()]);
    await stream.inbox.next("welcome");
    const session = await nextSession();
    session.close(1000, "done");
    expect(await stream.inbox.next("close")).toEqual({ type: "close", code: 1000, reason: "done" });
    await stream.ended;
  });

  it("ends the stream with 4000 when the client stops sending anything", async () => {
    const clock = createManualClock();
    const { url, nextSession } = await startServer({ clock, heartbeat: { interval: 1000, timeout: 1000 } });
    const stream = await openStream(url, [hello()]);
    await stream.inbox.next("welcome");
    const session = await nextSession();
    clock.advance(1000);
    expect(await stream.inbox.next("ping")).toEqual({ type: "ping", id: 1 });
    clock.advance(1000);
    expect(await stream.inbox.next("close")).toMatchObject({ code: 4000 });
    await stream.ended;
    expect(session.transport).toBeNull();
  });

  // A large message on a slow uplink may take longer to go up than the heartbeat allows a silent
  // client, and the client's pong to the server's ping arrives behind it.
  it("counts a /send body still arriving as life: a slow upload is not a silent client", async () => {
    const clock = createManualClock();
    const { url, nextSession } = await startServer({ clock, heartbeat: { interval: 1000, timeout: 1000 } });
    const stream = await openStream(url, [hello()]);
    const { sessionId } = await stream.inbox.next("welcome");
    const session = await nextSession();
    const received: unknown[] = [];
    const closes: number[] = [];
    session.on("message", (data) => received.push(data));
    session.on("close", ({ code }) => closes.push(code));
    const body = encodeBatch([text(1, "x".repeat(7000))]);
    const upload = httpRequest(`${url}/send?sid=${sessionId}`, { method: "POST", headers: { "content-type": "text/plain;charset=UTF-8" } });
    const answered = new Promise<number | undefined>((resolve, reject) => upload.on("response", (res) => resolve(res.statusCode)).on("error", reject));
    // Twice the heartbeat's window passes while the body arrives, a third of it at a time.
    for (let part = 0; part < 6; part++) {
      const arrived = new Promise((resolve) => setTimeout(resolve, 30));
      upload.write(body.slice(part * 1000, (part + 1) * 1000));
      await arrived;
      clock.advance(700);
    }
    upload.end(body.slice(6000));
    expect(await answered).toBe(204);
    await nextTurn();
    expect(received).toEqual(["x".repeat(7000)]);
    expect(closes).toEqual([]);
    expect(session.transport).toBe("streaming");
  });

  it("gives a /send body as long as the client waits for its answer, then cuts it", async () => {
    const clock = createManualClock();
    const { url, nextSession, http } = await startWatchedServer({ clock, heartbeat: { interval: 1000, timeout: 1000 } });
    const stream = await openStream(url, [hello()]);
    const { sessionId } = await stream.inbox.next("welcome");
    const session = await nextSession();
    const received: unknown[] = [];
    session.on("message", (data) => received.push(data));
    const upload = (seq: number) => {
      const body = encodeBatch([text(seq, "x".repeat(4000))]);
      const req = httpRequest(`${url}/send?sid=${sessionId}`, { method: "POST", headers: { "content-type": "text/plain;charset=UTF-8", "content-length": Buffer.byteLength(body) } });
      const outcome = new Promise<string>((resolve) => {
        req.on("response", (res) => resolve(`answered ${res.statusCode}`));
        req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      });
      // The client's wait: the heartbeat window plus 1 ms per 4 characters of the body.
      return { req, body, outcome, allowedMs: 2000 + Math.ceil(Buffer.byteLength(body) / 4) };
    };
    // Until the server has the request: its deadline runs from there (this listener comes after
    // the Lifeline server's own).
    const sent = async (req: ReturnType<typeof upload>["req"], part: string) => {
      const taken = new Promise((resolve) => http.once("request", resolve));
      req.write(part);
      await taken;
    };
    // In time, if only just: delivered.
    const inTime = upload(1);
    await sent(inTime.req, inTime.body.slice(0, 1000));
    clock.advance(inTime.allowedMs - 1);
    inTime.req.end(inTime.body.slice(1000));
    expect(await inTime.outcome).toBe("answered 204");
    // Too slow: cut where the client would have given up, and nothing of it delivered.
    const tooSlow = upload(2);
    await sent(tooSlow.req, tooSlow.body.slice(0, 1000));
    clock.advance(tooSlow.allowedMs);
    expect(await tooSlow.outcome).toBe("ECONNRESET");
    await nextTurn();
    expect(received).toEqual(["x".repeat(4000)]);
  });

  it("a client close frame by /send ends the session and the stream", async () => {
    const { url, nextSession } = await startServer();
    const stream = await openStream(url, [hello()]);
    const { sessionId } = await stream.inbox.next("welcome");
    const closed = closeOf(await nextSession());
    expect((await postFrames(`${url}/send?sid=${sessionId}`, [{ type: "close", code: 1000, reason: "bye" }])).status).toBe(204);
    expect(await closed).toEqual({ code: 1000, reason: "bye" });
    await stream.ended;
    expect(stream.inbox.frames.some((f) => f.type === "close")).toBe(false);
  });

  it("replays an escape-heavy backlog whose encoding is over the base not-reading limit without dropping the stream", async () => {
    // Base limit: 2 × max(body limit, replay bytes) = 8 MiB; the replay writes 24 MiB at once.
    const { url, nextSession } = await startServer({ maxMessageSize: 64 * 1024, replayBuffer: { maxBytes: 4 * 1024 * 1024 } });
    const first = await openStream(url, [hello()]);
    const { sessionId } = await first.inbox.next("welcome");
    const session = await nextSession();
    first.abort();
    await expect.poll(() => session.transport).toBeNull();
    const control = "\u0001".repeat(64 * 1024);
    for (let i = 0; i < 64; i++) session.send(control);
    const second = await openStream(url, [hello(sessionId, 0)]);
    expect(await second.inbox.next("welcome")).toMatchObject({ resumed: true });
    expect(session.transport).toBe("streaming");
    for (let i = 0; i < 64; i++) expect(await second.inbox.next("message")).toEqual(text(i + 1, control));
  });

  it("refuses a body that is not a hello batch with 400 and 4100", async () => {
    const { url, sessions } = await startServer();
    const stream = await openStream(url, [text(1, "no hello")]);
    expect(stream.status).toBe(400);
    expect(await stream.inbox.next("close")).toMatchObject({ code: 4100 });
    expect(sessions).toEqual([]);
  });

  it("refuses an unsupported version with 400 and 4101", async () => {
    const { url } = await startServer();
    const stream = await openStream(url, [hello(undefined, 0, 99)]);
    expect(stream.status).toBe(400);
    expect(await stream.inbox.next("close")).toMatchObject({ code: 4101 });
  });
});

describe("http streaming transport: an ended stream whose client is behind", () => {
  /** A stream whose client stopped reading, with frames left unsent in the server's buffer. */
  async function backedUpStream(options: ServerOptions = {}) {
    const watched = await startWatchedServer({ heartbeat: { interval: 60_000, timeout: 60_000 }, ...options });
    const stalled = await openStalledStream(watched.url, [hello()]);
    const session = await watched.nextSession();
    const socket = watched.sockets[0]!;
    // The kernel's buffers take a few MB first; far below the not-reading limit.
    for (let i = 0; i < 500 && socket.writableLength === 0; i++) {
      session.send("x".repeat(64 * 1024));
      await nextTurn();
    }
    expect(socket.writableLength).toBeGreaterThan(0);
    expect(session.transport).toBe("streaming");
    return { ...watched, ...stalled, session, socket };
  }
  const cut = (socket: Socket) => expect.poll(() => socket.destroyed, { timeout: 3000 }).toBe(true);

  it("is cut at once, with what it held, when a newer link replaced it", async () => {
    const { url, sessionId, socket } = await backedUpStream();
    const second = await openStream(url, [hello(sessionId, 0)]);
    expect(await second.inbox.next("welcome")).toMatchObject({ resumed: true });
    await cut(socket);
  });

  it("is cut at once when the heartbeat found the client silent", async () => {
    const { session, socket } = await backedUpStream({ heartbeat: { interval: 300, timeout: 300 } });
    await expect.poll(() => session.transport, { timeout: 3000 }).toBeNull();
    await cut(socket);
  });

  it("lets a client that still reads take the rest after the app closed the session, past a heartbeat window", async () => {
    const { session, readSlowly } = await backedUpStream({ heartbeat: { interval: 300, timeout: 300 } });
    // Megabytes more behind the kernel's buffers: seconds to read at 64 KiB per 20 ms, far past
    // the heartbeat window of 600 ms.
    for (let i = 0; i < 48; i++) session.send("y".repeat(64 * 1024));
    session.close(1000, "bye");
    const { text, complete } = await readSlowly(20);
    expect(complete).toBe(true);
    expect(text.trimEnd().endsWith('["c",1000,"bye"]')).toBe(true);
  });

  it("is cut, after a close the app asked for, once the rest would have taken a heartbeat window more than at 16 kbit/s", async () => {
    const clock = createManualClock();
    const { session, socket } = await backedUpStream({ clock, heartbeat: { interval: 300, timeout: 300 } });
    const drainMs = 600 + (socket.writableLength / 2048) * 1000;
    session.close(1000, "bye");
    clock.advance(drainMs - 5000);
    expect(socket.destroyed).toBe(false);
    clock.advance(10_000);
    await cut(socket);
  });
});
