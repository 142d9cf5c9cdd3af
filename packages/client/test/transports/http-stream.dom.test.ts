import { describe, expect, it, vi } from "vitest";
import { HttpResponse, http } from "msw";
import { encodeBatch } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import { connect } from "@lifeline/client";
import type { ClientOptions, Connection, ConnectionEvents } from "@lifeline/client";
import { BASE, useMsw, spyXhr, until, useHttpFakeServer, welcome } from "./http-fake-server.js";

const { msw, closeAfterTest } = useMsw();

const lines = (...frames: Frame[]) => frames.map((f) => encodeBatch([f]) + "\n").join("");
const msg = (seq: number, data: string): Frame => ({ type: "message", seq, data });

function record(c: Connection) {
  const messages: unknown[] = [];
  const states: string[] = [];
  const errors: ConnectionEvents["error"][] = [];
  c.on("message", (m) => messages.push(m));
  c.on("statechange", ({ to }) => states.push(to));
  c.on("error", (e) => errors.push(e));
  const opened = new Promise<ConnectionEvents["open"]>((resolve) => c.on("open", resolve));
  return { messages, states, errors, opened };
}

describe.each([
  { path: "fetch stream reader", xhr: false },
  { path: "XMLHttpRequest progress events", xhr: true },
])("streaming over $path", ({ xhr }) => {
  const start = () => {
    // A Response without `body` (React Native's) makes detection leave fetch streams out, so the
    // stream runs over XHR while /send still uses fetch. ReadableStream itself must stay: undici
    // and msw need it.
    if (xhr) vi.stubGlobal("Response", class Response {});
    const fake = useHttpFakeServer(msw);
    const xhrs = spyXhr();
    const conn = closeAfterTest(connect(BASE, { transports: ["streaming"], reconnect: { initialDelay: 0, jitter: 0 }, XMLHttpRequest: xhrs.XMLHttpRequest }));
    return { fake, conn, xhrs, ...record(conn) };
  };

  it("sends hello as the stream request body and opens on the welcome", async () => {
    const { fake, conn, opened } = start();
    const stream = await fake.stream(1);
    expect(stream.frames).toEqual([{ type: "hello", version: 1, ack: 0, attempt: 1, connectionId: expect.any(String), parts: true }]);
    expect(stream.request.headers.get("content-type")).toMatch(/^text\/plain/);
    stream.write(lines(welcome()));
    expect(await opened).toEqual({ transport: "streaming", resumed: false, sessionLost: false, resent: [] });
    expect(conn.id).toBe("sess-1");
  });

  it("delivers frames in order when chunks cut lines anywhere", async () => {
    const { fake, messages, opened } = start();
    const stream = await fake.stream(1);
    const text = lines(welcome(), msg(1, "one"), msg(2, "two ✓"), msg(3, "three"));
    // Cut in the middle of the welcome, of a frame, and of a multi-byte character's line.
    const cuts = [7, 40, text.indexOf("two") + 2, text.indexOf("three") + 1];
    let from = 0;
    for (const cut of [...cuts, text.length]) {
      stream.write(text.slice(from, cut));
      from = cut;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await opened;
    await until(() => messages.length === 3);
    expect(messages).toEqual(["one", "two ✓", "three"]);
  });

  it("posts everything sent in one tick as one batch to /send with the session id", async () => {
    const { fake, conn, opened } = start();
    (await fake.stream(1)).write(lines(welcome()));
    await opened;
    const first = await fake.send(1); // the driver's first ping
    expect(first.url.searchParams.get("sid")).toBe("sess-1");
    conn.send("a");
    conn.send("b");
    conn.send(new Uint8Array([1, 2, 3]));
    await until(() => fake.sent.some((s) => s.frames.some((f) => f.type === "message")));
    const batch = fake.sent.find((s) => s.frames.some((f) => f.type === "message"))!;
    expect(batch.frames.filter((f) => f.type === "message")).toEqual([msg(1, "a"), msg(2, "b"), { type: "message", seq: 3, data: new Uint8Array([1, 2, 3]) }]);
    expect(batch.text.split("\n")).toHaveLength(batch.frames.length);
  });

  it("uses XHR for the stream only where fetch cannot stream", async () => {
    const { fake, xhrs, opened } = start();
    (await fake.stream(1)).write(lines(welcome()));
    await opened;
    expect(xhrs.made.length).toBe(xhr ? 1 : 0);
  });

  it("reconnects after a network error on the first request", async () => {
    const { fake, states, errors } = start();
    // Added after the fake's handlers, so it comes first; the request starts on a later tick.
    msw.use(http.post(`${BASE}/stream`, () => HttpResponse.error(), { once: true }));
    const stream = await fake.stream(1);
    expect(stream.frames).toEqual([{ type: "hello", version: 1, ack: 0, attempt: 2, connectionId: expect.any(String), parts: true }]);
    stream.write(lines(welcome()));
    await until(() => states.at(-1) === "open");
    expect(states).toEqual(["reconnecting", "open"]);
    expect(errors).toEqual([]);
  });

  // msw's XMLHttpRequest interceptor leaves a body stream error unhandled instead of failing the
  // request, so a stream broken mid-way is only imitated for fetch.
  it.skipIf(xhr)("reconnects and resumes when the stream breaks", async () => {
    const { fake, states, opened } = start();
    const first = await fake.stream(1);
    first.write(lines(welcome(), msg(1, "x")));
    await opened;
    first.fail();
    const second = await fake.stream(2);
    expect(second.frames).toEqual([{ type: "hello", version: 1, sessionId: "sess-1", ack: 1, attempt: 2, connectionId: expect.any(String), parts: true }]);
    second.write(lines(welcome({ resumed: true })));
    await until(() => states.at(-1) === "open");
    expect(states).toEqual(["open", "reconnecting", "open"]);
  });

  /** A connection streaming over XMLHttpRequest, open on its first stream: for the renewal tests. */
  async function openOverXhr(reconnect: NonNullable<ClientOptions["reconnect"]>) {
    vi.stubGlobal("Response", class Response {});
    const fake = useHttpFakeServer(msw);
    const xhrs = spyXhr();
    const conn = closeAfterTest(connect(BASE, { transports: ["streaming"], reconnect, XMLHttpRequest: xhrs.XMLHttpRequest }));
    const recorded = record(conn);
    const first = await fake.stream(1);
    first.write(lines(welcome()));
    await recorded.opened;
    return { fake, first, ...recorded };
  }

  /** The stream was renewed after message 1: a second one resumes at once, and nothing went wrong. */
  async function expectRenewed({ fake, states, errors }: Awaited<ReturnType<typeof openOverXhr>>) {
    const second = await fake.stream(2);
    expect(second.frames).toEqual([{ type: "hello", version: 1, sessionId: "sess-1", ack: 1, attempt: 2, connectionId: expect.any(String), parts: true }]);
    second.write(lines(welcome({ resumed: true })));
    await until(() => states.at(-1) === "open");
    expect(states).toEqual(["open", "reconnecting", "open"]);
    expect(errors).toEqual([]);
  }

  /** Past the limit but in the middle of something: the stream is not renewed yet. */
  async function expectNotRenewed({ fake }: Awaited<ReturnType<typeof openOverXhr>>) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fake.open).toHaveLength(1);
  }

  // XMLHttpRequest keeps the whole response: a long stream is renewed before it eats the memory.
  it.runIf(xhr)("renews the stream past 8 Mi characters at once, without the reconnect delay", async () => {
    // A minute of backoff: only a renewal that skips it reaches the second stream in time.
    const link = await openOverXhr({ initialDelay: 60_000, jitter: 0 });
    const big = "x".repeat(8 * 1024 * 1024);
    link.first.write(lines(msg(1, big)));
    await expectRenewed(link);
    expect(link.messages).toEqual([big]);
  });

  // A line longer than the limit is delivered whole before the stream is renewed: cutting it
  // would bring the same line back in the replay, forever.
  it.runIf(xhr)("renews only between lines, and even with reconnect off", async () => {
    const link = await openOverXhr(false);
    const big = "y".repeat(9 * 1024 * 1024);
    const line = lines(msg(1, big));
    link.first.write(line.slice(0, 8.5 * 1024 * 1024));
    await expectNotRenewed(link);
    link.first.write(line.slice(8.5 * 1024 * 1024));
    await expectRenewed(link);
    expect(link.messages).toEqual([big]);
  });

  // The same for a message that comes in parts (protocol.md, Message parts): renewed between two
  // of its parts, the replay would send all of them again, past the limit again, forever.
  it.runIf(xhr)("renews only between messages, not between the parts of one", async () => {
    const link = await openOverXhr(false);
    const half = "p".repeat(4.5 * 1024 * 1024);
    const total = 2 * half.length + 3;
    const part = (offset: number, payload: string): Frame => ({ type: "part", seq: 1, offset, total, binary: false, payload });
    link.first.write(lines(part(0, half), part(half.length, half)));
    // At a line end this time, but in the middle of message 1.
    await expectNotRenewed(link);
    link.first.write(lines(part(2 * half.length, "end")));
    await expectRenewed(link);
    expect(link.messages).toEqual([half + half + "end"]);
  });

  // A large message on a slow downlink: its bytes keep arriving for longer than the heartbeat
  // allows a silent link, and they are life.
  it("counts part of a line as life: a message slower to arrive than the heartbeat's window keeps the link", async () => {
    const { fake, messages, states, opened } = start();
    const stream = await fake.stream(1);
    stream.write(lines(welcome({ pingIntervalMs: 150, pingTimeoutMs: 150 })));
    await opened;
    const line = lines(msg(1, "slow ".repeat(40)));
    const pieces = 10;
    const size = Math.ceil(line.length / pieces);
    for (let i = 0; i < pieces; i++) {
      stream.write(line.slice(i * size, (i + 1) * size));
      await new Promise((resolve) => setTimeout(resolve, 100)); // 1 s in all, against a 300 ms window
    }
    await until(() => messages.length === 1);
    expect(states).toEqual(["open"]);
  });

  // Aborting the POST in flight would make a slow upload start over at every renewal; once the
  // connection ends, nothing of the renewed link is left running.
  it.runIf(xhr)("renews without cutting a POST on its way up, which close() ends", async () => {
    vi.stubGlobal("Response", class Response {});
    const fake = useHttpFakeServer(msw);
    const xhrs = spyXhr();
    const conn = closeAfterTest(connect(BASE, { transports: ["streaming"], XMLHttpRequest: xhrs.XMLHttpRequest }));
    const { states, opened } = record(conn);
    const first = await fake.stream(1);
    first.write(lines(welcome()));
    await opened;
    await fake.send(1); // the first ping
    let release!: () => void;
    let upload: Request | undefined;
    msw.use(
      http.post(`${BASE}/send`, async ({ request }) => {
        upload ??= request;
        if (upload === request) await new Promise<void>((resolve) => (release = resolve));
        return new HttpResponse(null, { status: 204 });
      }, { once: true }),
    );
    conn.send("going up slowly");
    await until(() => release !== undefined);
    first.write(lines(msg(1, "d".repeat(8.5 * 1024 * 1024))));
    const second = await fake.stream(2); // renewed at once
    second.write(lines(welcome({ resumed: true })));
    await until(() => states.at(-1) === "open");
    expect(upload!.signal.aborted).toBe(false); // the upload went on
    conn.close();
    await until(() => upload!.signal.aborted);
    release();
  });

  it("reconnects when the server ends the response", async () => {
    const { fake, states, errors, opened } = start();
    const first = await fake.stream(1);
    first.write(lines(welcome()));
    await opened;
    first.end();
    await fake.stream(2);
    expect(states).toEqual(["open", "reconnecting"]);
    expect(errors).toEqual([]);
  });

  it("close() with a POST in flight gives it up and posts its frames again, then the rest and the close frame, in one keepalive fetch", async () => {
    const { fake, conn, opened } = start();
    (await fake.stream(1)).write(lines(welcome()));
    await opened;
    await fake.send(1); // the driver's first ping, answered
    let answer!: () => void;
    fake.holdSends = new Promise((resolve) => (answer = resolve));
    conn.send("first");
    const inFlight = await fake.send(2);
    conn.send("bye");
    conn.close();
    const last = await fake.send(3);
    answer();
    // A page going away would end an ordinary request, and the one in flight with it.
    expect(inFlight.keepalive).toBe(false);
    expect(last.keepalive).toBe(true);
    expect(last.frames).toEqual([msg(1, "first"), msg(2, "bye"), { type: "close", code: 1000, reason: "closed by client" }]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fake.sent).toHaveLength(3);
  });

  it("close() aborts the stream and posts the close frame", async () => {
    const { fake, conn, xhrs, opened } = start();
    const stream = await fake.stream(1);
    stream.write(lines(welcome()));
    await opened;
    await fake.send(1);
    conn.send("bye");
    conn.close();
    expect(conn.state).toBe("closed");
    await until(() => fake.sent.some((s) => s.frames.some((f) => f.type === "close")));
    const last = fake.sent.at(-1)!;
    // The driver's first ping may come again: its POST can still be in flight (see the test above).
    expect(last.frames.filter((f) => f.type !== "ack" && f.type !== "ping")).toEqual([msg(1, "bye"), { type: "close", code: 1000, reason: "closed by client" }]);
    expect(last.keepalive).toBe(true);
    // msw does not pass an XHR abort on to the handler's request, so check the XHR itself.
    if (xhr) expect(xhrs.made[0]!.aborted).toBe(true);
    else await until(() => stream.settled);
    expect(fake.open.filter((held) => held !== stream)).toEqual([]);
  });
});

describe("streaming over a fetch passed in options whose Response has no body stream", () => {
  // Detection sees the platform's streams, not this fetch's: the stream's end would never come.
  it("fails the attempt at once instead of waiting for the end of the stream", async () => {
    let waitedForText = false;
    const fetch = (async () => ({
      status: 200,
      body: null,
      text: () => {
        waitedForText = true;
        return new Promise<string>(() => {});
      },
    })) as unknown as typeof globalThis.fetch;
    const conn = closeAfterTest(connect(BASE, { transports: ["streaming"], fetch, reconnect: false, connectTimeout: 60_000 }));
    const { states } = record(conn);
    const closed = new Promise<ConnectionEvents["close"]>((resolve) => conn.on("close", resolve));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise((resolve) => (timer = setTimeout(() => resolve("still waiting after 2 s"), 2000)));
    const first = await Promise.race([closed, late]);
    clearTimeout(timer);
    expect(first).toMatchObject({ code: 1006, reason: expect.stringContaining("streaming: fetch cannot stream") });
    expect(waitedForText).toBe(false);
    expect(states).toEqual(["closed"]);
  });
});
