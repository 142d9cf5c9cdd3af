import { Server as HttpServerClass, createServer as createHttpServer, request as httpRequest } from "node:http";
import { encodeFrame } from "@lifeline/protocol";
import type { Server as HttpServer } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { LifelineServerError, createServer } from "@lifeline/server";
import type { LifelineServer } from "@lifeline/server";
import { createManualClock } from "@lifeline/testkit";
import { closeOf, echo, startServer } from "./helpers/server.js";

/** Polls `check` every 5 ms until it holds (or fails the test after 2 s). */
async function until(check: () => boolean): Promise<void> {
  for (const start = Date.now(); !check(); ) {
    if (Date.now() - start > 2000) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
import { hello, openStream, openWs, postFrames, request, startPoll, text, wsSession } from "./helpers/wire.js";

const extraServers: HttpServer[] = [];
const extraLifelines: LifelineServer[] = [];
afterEach(async () => {
  await Promise.all(extraLifelines.splice(0).map((s) => s.close()));
  await Promise.all(extraServers.splice(0).map((s) => new Promise((resolve) => { s.closeAllConnections(); s.close(resolve); })));
});

/** Resolves true when nothing accepts TCP connections on the port any more. */
const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(true));
  });

async function appServer() {
  const app = createHttpServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`app:${req.url}`);
  });
  app.on("upgrade", (req, socket) => socket.end(`HTTP/1.1 418 I'm a teapot\r\nX-App-Upgrade: ${req.url}\r\nContent-Length: 0\r\n\r\n`));
  extraServers.push(app);
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  return { app, base: `http://127.0.0.1:${(app.address() as AddressInfo).port}` };
}

describe("createServer / listen", () => {
  it("listen() resolves with the endpoint URL, default path /lifeline", async () => {
    const { url } = await startServer();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/lifeline$/);
  });

  it("honours a custom path and answers 404 outside it", async () => {
    const { url } = await startServer({ path: "/rt/" });
    expect(url).toMatch(/\/rt$/);
    expect((await postFrames(url + "/poll", [hello()])).status).toBe(200);
    expect((await request(url.replace(/\/rt$/, "/other"))).status).toBe(404);
  });

  it("emits 'connection' for new sessions only; on() returns an unsubscribe and off() works", async () => {
    const server = createServer();
    extraLifelines.push(server);
    const seen: string[] = [];
    const unsubscribe = server.on("connection", (s) => seen.push(`a:${s.id}`));
    const b = (s: { id: string }) => seen.push(`b:${s.id}`);
    server.on("connection", b);
    const { url } = await server.listen();
    const first = await wsSession(url);
    first.ws.terminate();
    await wsSession(url, first.welcome.sessionId, 0); // a resume: no event
    unsubscribe();
    server.off("connection", b);
    await wsSession(url);
    expect(seen).toEqual([`a:${first.welcome.sessionId}`, `b:${first.welcome.sessionId}`]);
    expect([...server.sessions]).toHaveLength(2);
    expect(() => server.on("nope" as never, () => {})).toThrow(LifelineServerError);
  });

  it("lists live sessions, including detached ones, and forgets closed ones", async () => {
    const { server, url, nextSession } = await startServer();
    const peer = await wsSession(url);
    const session = await nextSession();
    expect([...server.sessions]).toEqual([session]);
    peer.ws.terminate();
    await expect.poll(() => session.transport).toBeNull();
    expect([...server.sessions]).toEqual([session]);
    session.close();
    expect([...server.sessions]).toEqual([]);
  });

  it("listen() rejects with SERVER_CLOSED when close() is called while it binds", async () => {
    const server = createServer();
    const listening = server.listen(0, "127.0.0.1");
    const outcome = listening.then(
      () => "resolved",
      (error: LifelineServerError) => error.code,
    );
    await server.close();
    expect(await outcome).toBe("SERVER_CLOSED");
  });

  it("rejects a port in use with LISTEN_FAILED and a second listen() with ALREADY_LISTENING", async () => {
    const { app } = await appServer();
    const port = (app.address() as AddressInfo).port;
    const server = createServer();
    extraLifelines.push(server);
    await expect(server.listen(port)).rejects.toMatchObject({ code: "LISTEN_FAILED" });
    await server.listen(0);
    await expect(server.listen(0)).rejects.toMatchObject({ code: "ALREADY_LISTENING" });
    await expect(server.listen(-1 as number)).rejects.toMatchObject({ code: "ALREADY_LISTENING" });
    const other = createServer();
    extraLifelines.push(other);
    await expect(other.listen(70000)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("close()", () => {
  it("closes every session with 1001 on every transport, ends held polls and streams, and releases the port", async () => {
    const { server, url, sessions } = await startServer();
    const port = Number(new URL(url).port);
    const ws = await wsSession(url);
    const stream = await openStream(url, [hello()]);
    await stream.inbox.next("welcome");
    const opened = await postFrames(url + "/poll", [hello()]);
    const sid = (opened.frames[0] as { sessionId: string }).sessionId;
    const held = startPoll(url, sid);
    await expect.poll(() => sessions.length).toBe(3);
    const closes = sessions.map(closeOf);
    // A keep-alive connection with nothing in flight must not hold the port either.
    await request(url + "/nope");

    await server.close();
    expect(await ws.inbox.next("close")).toMatchObject({ code: 1001 });
    expect((await ws.closed).code).toBe(1001);
    expect(await stream.inbox.next("close")).toMatchObject({ code: 1001 });
    await stream.ended;
    expect((await held.answer).frames).toEqual([expect.objectContaining({ type: "close", code: 1001 })]);
    expect((await Promise.all(closes)).map((c) => c.code)).toEqual([1001, 1001, 1001]);
    expect([...server.sessions]).toEqual([]);
    expect(await portIsFree(port)).toBe(true);
    await server.close(); // idempotent
    await expect(server.listen()).rejects.toMatchObject({ code: "SERVER_CLOSED" });
  });

  it("close() called again from a session's close listener gets the same promise: one shutdown, however many sessions", async () => {
    const { server, url, sessions } = await startServer();
    const again: Promise<void>[] = [];
    server.on("connection", (session) => session.on("close", () => again.push(server.close())));
    for (let i = 0; i < 3; i++) await wsSession(url);
    await expect.poll(() => sessions.length).toBe(3);
    const first = server.close();
    expect(again).toHaveLength(3);
    for (const promise of again) expect(promise).toBe(first);
    await first;
    expect(server.close()).toBe(first);
  });

  it("ends a WebSocket refused for its Origin whose peer never answers the close, after the grace period", async () => {
    const clock = createManualClock();
    const server = createServer({ clock, allowedOrigins: ["https://good.example"] });
    extraLifelines.push(server);
    const { url } = await server.listen(0, "127.0.0.1");
    const { port, pathname } = new URL(url);
    // A raw upgrade that reads the 101 and the close, and never answers.
    const raw = connect(Number(port), "127.0.0.1");
    const ended = new Promise<void>((resolve) => raw.once("close", () => resolve()));
    let received = "";
    raw.on("data", (chunk) => (received += chunk.toString("latin1")));
    raw.write(
      `GET ${pathname}/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: https://evil.example\r\n\r\n",
    );
    await until(() => received.includes("4103"));
    expect(received).toMatch(/^HTTP\/1\.1 101/);
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    clock.advance(1000);
    await closing;
    await ended;
    expect(closed).toBe(true);
  });

  it("lets go of a socket whose upgrade it refused, though the client keeps its side open", async () => {
    const { server, url } = await startServer();
    const { port, pathname } = new URL(url);
    const raw = connect({ port: Number(port), host: "127.0.0.1", allowHalfOpen: true });
    let received = "";
    const answered = new Promise<void>((resolve) => raw.once("end", () => resolve()));
    raw.on("data", (chunk) => (received += chunk.toString("latin1")));
    raw.write(`GET ${pathname}/nope HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
    await answered;
    expect(received).toMatch(/^HTTP\/1\.1 404/);
    expect(received).toContain("X-Content-Type-Options: nosniff\r\n");
    // Holding its half of the socket, the server could not close until the client hung up.
    const outcome = await Promise.race([
      server.close().then(() => "closed"),
      new Promise((resolve) => setTimeout(resolve, 2000, "still open")),
    ]);
    raw.destroy();
    expect(outcome).toBe("closed");
  });

  it("closes sockets that have not said hello yet", async () => {
    const { server, url } = await startServer();
    const peer = await openWs(url);
    await server.close();
    expect((await peer.closed).code).toBe(1001);
  });
});

describe("attach()", () => {
  it("serves only paths written under the base: one the URL parser would resolve there stays the app's", async () => {
    const { app, base } = await appServer();
    const lifeline = createServer();
    extraLifelines.push(lifeline);
    const sessions: unknown[] = [];
    lifeline.on("connection", (session) => sessions.push(session));
    lifeline.attach(app);
    const { port } = new URL(base);
    const post = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: "127.0.0.1", port, method: "POST", path }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end(encodeFrame({ type: "hello", version: 1, ack: 0 }));
      });
    // In origin form, and in the absolute form a proxy may send.
    for (const path of ["/x/../lifeline/poll", "//evil.example/lifeline/poll", "/lifeline\\poll", "http://x/x/../lifeline/poll", "http://x/lifeline\\poll"]) {
      expect(await post(path), path).toEqual({ status: 200, body: `app:${path}` });
    }
    // Under the base as written, a dot segment names no endpoint.
    for (const path of ["/lifeline/x/%2e%2e/poll", "http://x/lifeline/x/%2e%2e/poll"]) expect((await post(path)).status, path).toBe(404);
    expect(sessions).toEqual([]);
    expect((await post("/lifeline/poll")).status).toBe(200);
    expect((await post("http://x/lifeline/poll?attempt=1")).status).toBe(200);
    expect(sessions).toHaveLength(2);
  });

  it("serves the endpoints on an existing server; the app keeps its other routes and upgrades", async () => {
    const { app, base } = await appServer();
    const lifeline = createServer();
    extraLifelines.push(lifeline);
    echo(lifeline);
    lifeline.attach(app);

    expect(await request(base + "/api/users")).toMatchObject({ status: 200, text: "app:/api/users" });
    const peer = await wsSession(base + "/lifeline");
    peer.send(text(1, "shared port"));
    expect(await peer.inbox.next("message")).toEqual(text(1, "shared port"));
    expect((await postFrames(base + "/lifeline/poll", [hello()])).status).toBe(200);

    const other = new WebSocket(base.replace("http", "ws") + "/chat");
    const status = await new Promise<{ code: number; header: string | undefined }>((resolve) =>
      other.on("unexpected-response", (_req, res) => resolve({ code: res.statusCode ?? 0, header: res.headers["x-app-upgrade"] as string })),
    );
    expect(status).toEqual({ code: 418, header: "/chat" });
    other.on("error", () => {});
    other.terminate();

    await lifeline.close();
    // Detached: the app owns every path again and its port stays open.
    expect(await request(base + "/lifeline/poll")).toMatchObject({ status: 200, text: "app:/lifeline/poll" });
    expect(app.listening).toBe(true);
  });

  it("answers 404 for other paths when the server had no listeners of its own", async () => {
    const bare = createHttpServer();
    extraServers.push(bare);
    await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
    const lifeline = createServer();
    extraLifelines.push(lifeline);
    lifeline.attach(bare);
    expect((await request(base + "/elsewhere")).status).toBe(404);
    expect((await postFrames(base + "/lifeline/poll", [hello()])).status).toBe(200);
    await expect(openWs(base + "/elsewhere")).rejects.toThrow(/404/);
  });

  it("refuses new links with 503 + 1001 while shutting down, and cuts sockets that ignore the close", async () => {
    const clock = createManualClock();
    const { app, base } = await appServer();
    const lifeline = createServer({ clock });
    extraLifelines.push(lifeline);
    lifeline.attach(app);
    const stubborn = await wsSession(base + "/lifeline");
    stubborn.ws.pause(); // never answers the closing handshake
    let closed = false;
    const closing = lifeline.close().then(() => (closed = true));
    expect(await postFrames(base + "/lifeline/poll", [hello()])).toMatchObject({ status: 503, frames: [expect.objectContaining({ code: 1001 })] });
    await expect(openWs(base + "/lifeline")).rejects.toThrow(/503/);
    expect(closed).toBe(false);
    clock.advance(1000); // the grace period: the socket is terminated
    await closing;
    expect(closed).toBe(true);
    expect(() => lifeline.attach(app)).toThrow(expect.objectContaining({ code: "SERVER_CLOSED" }));
  });

  it("shares one HTTP server between two Lifeline servers; closing one leaves the other and the app as they were", async () => {
    const { app, base } = await appServer();
    let appCalls = 0;
    app.prependListener("request", () => appCalls++);
    const first = createServer({ path: "/a" });
    const second = createServer({ path: "/b" });
    extraLifelines.push(first, second);
    echo(second);
    first.attach(app);
    second.attach(app);
    expect((await postFrames(base + "/a/poll", [hello()])).status).toBe(200);
    await first.close();
    // The app answers its own paths once, the closed server's path included; no second answer
    // (which would throw ERR_HTTP_HEADERS_SENT) comes from a listener kept by the other server.
    expect(await request(base + "/other")).toMatchObject({ status: 200, text: "app:/other" });
    expect(await request(base + "/a/poll")).toMatchObject({ status: 200, text: "app:/a/poll" });
    expect(appCalls).toBe(2);
    const peer = await wsSession(base + "/b");
    peer.send(text(1, "still served"));
    expect(await peer.inbox.next("message")).toEqual(text(1, "still served"));
    await second.close();
    expect(await request(base + "/b/poll")).toMatchObject({ status: 200, text: "app:/b/poll" });
    expect(appCalls).toBe(3);
  });

  it("refuses a second Lifeline server whose path is, or lies under or over, another's on the same HTTP server", async () => {
    const { app, base } = await appServer();
    const outer = createServer({ path: "/n" });
    extraLifelines.push(outer);
    outer.attach(app);
    for (const path of ["/n", "/n/sub", "/"]) {
      const other = createServer({ path });
      extraLifelines.push(other);
      expect(() => other.attach(app), path).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringContaining('path "/n"') }));
    }
    // A path that only starts with the same letters is another path; the same server may attach again.
    const sibling = createServer({ path: "/nx" });
    extraLifelines.push(sibling);
    sibling.attach(app);
    outer.attach(app);
    expect((await postFrames(base + "/nx/poll", [hello()])).status).toBe(200);
    // Once the outer one is closing, its path is free: close() need not have settled.
    const closed = outer.close();
    const inner = createServer({ path: "/n/sub" });
    extraLifelines.push(inner);
    inner.attach(app);
    expect((await postFrames(base + "/n/sub/poll", [hello()])).status).toBe(200);
    await closed;
    expect((await postFrames(base + "/n/sub/poll", [hello()])).status).toBe(200);
  });

  it("warns once when a client's message finds no message listener (one added after an await)", async () => {
    const warnings: string[] = [];
    const { server, url } = await startServer({ logger: { warn: (message) => warnings.push(message) } });
    const ids: string[] = [];
    let checked!: () => void;
    const tokenChecked = new Promise<void>((resolve) => (checked = resolve));
    let listening = false;
    server.on("connection", async (session) => {
      ids.push(session.id);
      await tokenChecked;
      session.on("message", () => {});
      listening = true;
    });
    const peer = await wsSession(url);
    peer.send(text(1, "too early"), text(2, "also too early"));
    expect(await peer.inbox.next("ack")).toEqual({ type: "ack", seq: 2 });
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^\\[session\\] ${ids[0]}: a message from the client found no "message" listener and was dropped; add the listener in the connection listener, before any await \\(said once\\)$`))]);
    // The same mistake in another session is not said again.
    const second = await wsSession(url);
    second.send(text(1, "too early as well"));
    await second.inbox.next("ack");
    checked();
    await expect.poll(() => listening).toBe(true);
    peer.send(text(3, "heard"));
    await peer.inbox.next("ack");
    expect(warnings).toHaveLength(1);
  });

  it("warns when the HTTP server's requestTimeout would cut off an upload the client still waits for", async () => {
    const { app } = await appServer();
    const warnings: string[] = [];
    const lifeline = createServer({ logger: { warn: (message) => warnings.push(message) } });
    extraLifelines.push(lifeline);
    app.requestTimeout = 300_000;
    lifeline.attach(app);
    expect(warnings).toEqual([expect.stringContaining("requestTimeout (300000 ms) cuts off HTTP/1.1 uploads")]);
    const relaxed = createServer({ path: "/relaxed", logger: { warn: (message) => warnings.push(message) } });
    extraLifelines.push(relaxed);
    app.requestTimeout = 0;
    relaxed.attach(app);
    expect(warnings).toHaveLength(1);
  });
});

describe("listen(): an upload on a slow uplink", () => {
  it("lets a request body take as long as the client waits for the largest body the server takes", async () => {
    const { url } = await startServer({ heartbeat: { interval: 15_000, timeout: 10_000 }, maxMessageSize: 4 * 1024 * 1024 });
    const port = Number(new URL(url).port);
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
    const http = handles.find((h): h is HttpServer => h instanceof HttpServerClass && (h.address() as AddressInfo | null)?.port === port);
    expect(http).toBeDefined();
    // The client gives a POST the heartbeat window plus 1 ms per 4 characters of its body.
    const largestBody = 6 * 4 * 1024 * 1024 + 64 * 1024;
    expect(http!.requestTimeout).toBeGreaterThanOrEqual(25_000 + largestBody / 4);
  });
});
