import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { cleanupAfterEach, sleep, until } from "../helpers/integration.js";
import { connect } from "@lifeline/client";
import type { ClientOptions, Connection, OpenEvent, TransportEvent } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import type { LifelineServer, ServerOptions } from "@lifeline/server";
import { createFaultProxy, createHostileProxy } from "@lifeline/testkit";
import type { HostileProxy } from "@lifeline/testkit";

/**
 * Issue "automatic fallback": each hostile behaviour reproduced through the project's hostile
 * HTTP proxy, with default client settings unless a case says otherwise. Every case checks
 * where the connection ends, that messages flow, and how long it took.
 */

const cleanups = cleanupAfterEach();

async function echoServer(options: ServerOptions = {}) {
  const server: LifelineServer = createServer(options);
  server.on("connection", (session) => session.on("message", (data) => session.send(data)));
  const { url } = await server.listen(0, "127.0.0.1");
  cleanups.push(() => server.close());
  const parsed = new URL(url);
  return { server, url, port: Number(parsed.port), path: parsed.pathname };
}

async function behindHostileProxy(serverOptions: ServerOptions = {}) {
  const target = await echoServer(serverOptions);
  const proxy = await createHostileProxy({ target: { host: "127.0.0.1", port: target.port } });
  cleanups.push(() => proxy.close());
  return { ...target, proxy, endpoint: proxy.url + target.path };
}

function watch(endpoint: string, options: ClientOptions = {}) {
  const startedAt = Date.now();
  const conn: Connection = connect(endpoint, { WebSocket, rememberTransport: false, ...options });
  cleanups.push(() => conn.close());
  const opens: (OpenEvent & { at: number })[] = [];
  const transports: TransportEvent[] = [];
  conn.on("open", (event) => opens.push({ ...event, at: Date.now() - startedAt }));
  conn.on("transport", (event) => transports.push(event));
  return { conn, opens, transports, startedAt };
}

async function echoes(conn: Connection, text: string): Promise<void> {
  const got = new Promise<unknown>((resolve) => {
    const off = conn.on("message", (data) => {
      if (data === text) {
        off();
        resolve(data);
      }
    });
  });
  conn.send(text);
  await Promise.race([got, sleep(5000).then(() => Promise.reject(new Error(`no echo of ${text}`)))]);
}

describe("automatic fallback behind hostile networks", () => {
  it.each([400, 403, 404, "close"] as const)("1. WebSocket upgrade refused (%s): streaming at once", async (refusal) => {
    const { proxy, endpoint } = await behindHostileProxy();
    proxy.refuseUpgrades(refusal);
    const { conn, opens, transports } = watch(endpoint);
    await until(() => conn.state === "open", 5000, "open");
    expect(conn.transport).toBe("streaming");
    // A refusal fails fast: no fallback delay, no timeout.
    expect(opens[0]!.at).toBeLessThan(1000);
    expect(transports[0]).toMatchObject({ from: null, to: "streaming" });
    expect(transports[0]!.reason).toMatch(/^websocket: /);
    await echoes(conn, "through");
  });

  it("2. WebSocket upgrade hangs: streaming after the fallback delay, not a timeout", async () => {
    const { proxy, endpoint } = await behindHostileProxy();
    proxy.hangUpgrades(true);
    const { conn, opens, transports } = watch(endpoint);
    await until(() => conn.state === "open", 5000, "open");
    expect(conn.transport).toBe("streaming");
    // The event says why not WebSocket, though nothing failed.
    expect(transports[0]!.reason).toMatch(/^websocket: no handshake in \d+ ms$/);
    expect(opens[0]!.at).toBeGreaterThanOrEqual(450);
    expect(opens[0]!.at).toBeLessThan(1500);
    await echoes(conn, "through");
  });

  it.each([{ afterMs: 1000 }, { afterFrames: 3 }])("3. WebSocket killed again and again (%o): stops retrying it and stays on streaming", async (rule) => {
    const { proxy, endpoint } = await behindHostileProxy({ heartbeat: { interval: 300, timeout: 300 } });
    proxy.killWebSockets(rule);
    const { conn, transports } = watch(endpoint, { reconnect: { initialDelay: 50, maxDelay: 200 } });
    const received: unknown[] = [];
    conn.on("message", (data) => received.push(data));
    let sent = 0;
    const sender = setInterval(() => conn.send(String(++sent)), 20);
    cleanups.push(() => clearInterval(sender));
    await until(() => conn.transport === "streaming", 10_000, "streaming");
    const settledAt = Date.now();
    await sleep(2500);
    clearInterval(sender);
    // It stayed: no further WebSocket after the demotion.
    expect(conn.transport).toBe("streaming");
    expect(transports.at(-1)!.to).toBe("streaming");
    expect(proxy.stats.upgradesSeen).toBeLessThanOrEqual(3);
    await until(() => received.length === sent, 5000, "every echo");
    expect(received).toEqual(Array.from({ length: sent }, (_, i) => String(i + 1)));
    expect(Date.now() - settledAt).toBeGreaterThan(2000);
  });

  it("4. streaming buffered by the proxy: the welcome never comes, so polling wins", async () => {
    const { proxy, endpoint, server } = await behindHostileProxy();
    proxy.refuseUpgrades(403);
    proxy.bufferResponses(true);
    const { conn, opens, transports } = watch(endpoint);
    await until(() => conn.state === "open", 5000, "open");
    expect(conn.transport).toBe("polling");
    expect(opens[0]!.at).toBeLessThan(1500);
    expect(transports[0]!.to).toBe("polling");
    await echoes(conn, "through");
    await echoes(conn, "and again");
    // The streaming candidate's hello reached the server and started a session too: it ends
    // once the client goes on with the polling one, instead of lingering for the resume window.
    await until(() => [...server.sessions].length === 1, 2000, "the losing candidate's session to end");
    expect([...server.sessions][0]!.id).toBe(conn.id);
  });

  it("4b. a filtering proxy answers POST /stream with its own 403 page: polling at once, not a closed connection", async () => {
    const { proxy, endpoint } = await behindHostileProxy();
    proxy.refuseUpgrades(403);
    proxy.blockPath({ suffix: "/stream", status: 403 });
    const { conn, opens, transports } = watch(endpoint);
    await until(() => conn.state === "open", 5000, "open");
    expect(conn.transport).toBe("polling");
    expect(opens[0]!.at).toBeLessThan(1000);
    expect(transports[0]!.reason).toMatch(/streaming: HTTP 403/);
    expect(proxy.stats.requestsBlocked).toBeGreaterThanOrEqual(1);
    await echoes(conn, "around the filter");
  });

  it("5. nothing but short plain HTTP: long polling works", async () => {
    // Polls are held for the ping interval, which must stay under the proxy's limit.
    const { proxy, endpoint } = await behindHostileProxy({ heartbeat: { interval: 1000, timeout: 1000 } });
    proxy.blockLongRequests({ maxMs: 3000 });
    const { conn, opens } = watch(endpoint);
    await until(() => conn.state === "open", 5000, "open");
    expect(conn.transport).toBe("polling");
    expect(opens[0]!.at).toBeLessThan(1500);
    await echoes(conn, "short");
    await sleep(3500);
    // Held polls outlived nothing: still open on the same session, still echoing.
    expect(conn.state).toBe("open");
    expect(opens).toHaveLength(1);
    await echoes(conn, "still short");
  });

  it("6. a transport that worked stops working mid-session: falls back and resumes without losing a message", async () => {
    const target = await behindHostileProxy({ heartbeat: { interval: 500, timeout: 500 } });
    const hostile: HostileProxy = target.proxy;
    // A TCP proxy in front lets the test cut the live WebSocket; the hostile one blocks the next.
    const front = await createFaultProxy({ target: { host: "127.0.0.1", port: hostile.port } });
    cleanups.push(() => front.close());
    const { conn, opens, transports } = watch(front.url + target.path, { reconnect: { initialDelay: 50, maxDelay: 200 } });
    const received: unknown[] = [];
    conn.on("message", (data) => received.push(data));
    await until(() => conn.state === "open", 5000, "open");
    expect(conn.transport).toBe("websocket");
    let sent = 0;
    const sender = setInterval(() => conn.send(String(++sent)), 10);
    cleanups.push(() => clearInterval(sender));
    await sleep(500);
    hostile.refuseUpgrades(403);
    front.cut();
    const cutAt = Date.now();
    await until(() => conn.transport === "streaming", 5000, "streaming");
    const fellBackAfter = Date.now() - cutAt;
    await sleep(500);
    clearInterval(sender);
    await until(() => received.length >= sent, 5000, "every echo");
    expect(received).toEqual(Array.from({ length: sent }, (_, i) => String(i + 1)));
    expect(opens.at(-1)).toMatchObject({ transport: "streaming", resumed: true, sessionLost: false });
    expect(transports.map((t) => t.to)).toEqual(["websocket", "streaming"]);
    expect(fellBackAfter).toBeLessThan(1500);
  });

  /**
   * A session open on WebSocket, whose link the test cuts once the hostile proxy behind it has
   * turned against WebSocket (`turn`), and the resume that must follow. The first candidate
   * whose hello gets through holds the session on the server, even when its welcome never
   * comes back: the candidate that can answer must still be able to take it.
   */
  async function cutMidSession(turn: (proxy: HostileProxy) => void) {
    const target = await behindHostileProxy();
    const front = await createFaultProxy({ target: { host: "127.0.0.1", port: target.proxy.port } });
    cleanups.push(() => front.close());
    const watched = watch(front.url + target.path);
    const received: unknown[] = [];
    watched.conn.on("message", (data) => received.push(data));
    await until(() => watched.conn.state === "open", 5000, "open");
    expect(watched.conn.transport).toBe("websocket");
    await echoes(watched.conn, "before");
    turn(target.proxy);
    front.cut();
    const cutAt = Date.now();
    watched.conn.send("across the cut");
    await until(() => received.includes("across the cut"), 8000, "the echo across the cut");
    return { ...watched, received, resumedAfter: Date.now() - cutAt };
  }

  it("6b. mid-session, the WebSocket refused and streams buffered: resumes on polling although the stream's hello held the session", async () => {
    const { conn, opens, received, resumedAfter } = await cutMidSession((proxy) => {
      proxy.refuseUpgrades(403);
      proxy.bufferResponses(true);
    });
    expect(conn.transport).toBe("polling");
    expect(opens.at(-1)).toMatchObject({ transport: "polling", resumed: true, sessionLost: false });
    expect(received).toEqual(["before", "across the cut"]);
    // The fallback delay and a round trip or two, not a connect timeout (10 s).
    expect(resumedAfter).toBeLessThan(3000);
    await echoes(conn, "after");
  });

  it("6c. mid-session, the WebSocket dropped when the server's first frame comes: resumes on streaming (the WebSocket dies at the pong, before its hello)", async () => {
    const { conn, opens, received, resumedAfter } = await cutMidSession((proxy) => proxy.killWebSockets({ atFirstFrame: true }));
    expect(conn.transport).toBe("streaming");
    expect(opens.at(-1)).toMatchObject({ transport: "streaming", resumed: true, sessionLost: false });
    expect(received).toEqual(["before", "across the cut"]);
    expect(resumedAfter).toBeLessThan(3000);
    await echoes(conn, "after");
  });

  it("6d. mid-session on a slow link behind a buffering proxy: the WebSocket, slow to answer a resume, keeps the session", async () => {
    // The server pushes all along, so the resume brings a replay that takes a while on the slow
    // link, and the WebSocket's welcome needs a few slow round trips; streaming, refused as a
    // sibling meanwhile, must not take the session for a stream the proxy holds back (each race
    // would then end in a 4001).
    const server = createServer();
    let pushed = 0;
    server.on("connection", (session) => {
      const pusher = setInterval(() => session.send(String(++pushed).padEnd(300, ".")), 50);
      cleanups.push(() => clearInterval(pusher));
      session.on("close", () => clearInterval(pusher));
    });
    const { url } = await server.listen(0, "127.0.0.1");
    cleanups.push(() => server.close());
    const { port, pathname } = new URL(url);
    const hostile = await createHostileProxy({ target: { host: "127.0.0.1", port: Number(port) } });
    cleanups.push(() => hostile.close());
    const front = await createFaultProxy({ target: { host: "127.0.0.1", port: hostile.port } });
    cleanups.push(() => front.close());
    const { conn, opens } = watch(front.url + pathname);
    const received: number[] = [];
    conn.on("message", (data) => received.push(Number.parseInt(String(data), 10)));
    await until(() => conn.state === "open", 5000, "open");
    await sleep(500);
    front.throttle(30_000);
    front.latency(200);
    hostile.bufferResponses(true);
    front.refuse(true);
    front.cut();
    await sleep(2000);
    front.refuse(false);
    await until(() => opens.length === 2, 10_000, "the resume");
    await sleep(5000);
    expect(opens).toHaveLength(2);
    expect(opens[1]).toMatchObject({ transport: "websocket", resumed: true });
    expect(conn.state).toBe("open");
    front.throttle(null);
    front.latency(0);
    const last = pushed;
    await until(() => received.length >= last, 5000, "every push");
    expect(received.slice(0, last)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  }, 30_000);

  it("6e. mid-session, the WebSocket muted after its upgrade: resumes on streaming, since the resume's hello waits for a ping to come back", async () => {
    const { conn, opens, received, resumedAfter } = await cutMidSession((proxy) => proxy.muteWebSockets(true));
    expect(conn.transport).toBe("streaming");
    expect(opens.at(-1)).toMatchObject({ transport: "streaming", resumed: true, sessionLost: false });
    expect(received).toEqual(["before", "across the cut"]);
    // The fallback delay and a round trip or two: the muted WebSocket never held the session.
    expect(resumedAfter).toBeLessThan(3000);
    await echoes(conn, "after");
  });

  it.each([
    { how: "dropped once the server speaks", breakWebSockets: (proxy: HostileProxy) => proxy.killWebSockets({ atFirstFrame: true }) },
    { how: "muted after the upgrade", breakWebSockets: (proxy: HostileProxy) => proxy.muteWebSockets(true) },
  ])("a background probe whose WebSocket is $how fails unseen: the connection stays open on streaming, nothing lost", async ({ breakWebSockets }) => {
    const { proxy, endpoint } = await behindHostileProxy();
    proxy.refuseUpgrades(403);
    const log: string[] = [];
    // A short connect timeout, so that a muted probe gives up within the test.
    const { conn, transports } = watch(endpoint, { connectTimeout: 1500, debug: (line) => log.push(line) });
    const states: string[] = [];
    conn.on("statechange", ({ to }) => states.push(to));
    const received: unknown[] = [];
    conn.on("message", (data) => received.push(data));
    await until(() => conn.state === "open", 5000, "open");
    expect(conn.transport).toBe("streaming");
    proxy.refuseUpgrades(null);
    breakWebSockets(proxy);
    let sent = 0;
    const sender = setInterval(() => conn.send(String(++sent)), 10);
    cleanups.push(() => clearInterval(sender));
    // The first probe runs a second after opening.
    await until(() => log.some((line) => line.startsWith("websocket probe failed")), 5000, "the probe to fail");
    await sleep(200);
    clearInterval(sender);
    await until(() => received.length >= sent, 5000, "every echo");
    expect(received).toEqual(Array.from({ length: sent }, (_, i) => String(i + 1)));
    // The probe proved nothing came back before its hello could take the session: no reconnect.
    expect(states).toEqual(["open"]);
    expect(transports.map((t) => t.to)).toEqual(["streaming"]);
    expect(proxy.stats.upgradesForwarded).toBe(1);
  });

  it("on a good network again, the background probe moves a fallback connection up to WebSocket without loss", async () => {
    const { proxy, endpoint } = await behindHostileProxy();
    proxy.refuseUpgrades(403);
    const { conn, transports } = watch(endpoint);
    const received: unknown[] = [];
    conn.on("message", (data) => received.push(data));
    await until(() => conn.transport === "streaming", 5000, "streaming");
    proxy.refuseUpgrades(null);
    let sent = 0;
    const sender = setInterval(() => conn.send(String(++sent)), 10);
    cleanups.push(() => clearInterval(sender));
    // The first probe runs a second after opening.
    await until(() => conn.transport === "websocket", 5000, "the upgrade");
    await sleep(300);
    clearInterval(sender);
    await until(() => received.length >= sent, 5000, "every echo");
    expect(received).toEqual(Array.from({ length: sent }, (_, i) => String(i + 1)));
    expect(transports.map((t) => [t.from, t.to])).toEqual([
      [null, "streaming"],
      ["streaming", "websocket"],
    ]);
    expect(conn.state).toBe("open");
  });
});
