import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket as WsWebSocket } from "ws";
import { connect } from "@lifeline/client";
import type { Connection, ConnectionEvents, MessageData } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import type { LifelineServer } from "@lifeline/server";
import { resolveCapabilities } from "../../src/env.js";
import { httpStream } from "../../src/transports/http-stream.js";
import { longPolling } from "../../src/transports/long-polling.js";
import { webSocket } from "../../src/transports/websocket.js";
import { createFakeAppState, createFakeNetInfo } from "../helpers/fake-platform.js";
import { cleanupAfterEach, openThroughProxy, sendThrottledBurst, until } from "../helpers/integration.js";
import { RnXMLHttpRequest, fetchCalls, installReactNativeGlobals } from "./rn-environment.js";

let server: LifelineServer | undefined;
let conn: Connection | undefined;
const cleanups = cleanupAfterEach();

afterEach(async () => {
  conn?.close();
  conn = undefined;
  vi.unstubAllGlobals();
  await server?.close();
  server = undefined;
});

async function echoServer(): Promise<string> {
  server = createServer();
  server.on("connection", (session) => session.on("message", (data) => session.send(data)));
  return (await server.listen(0, "127.0.0.1")).url;
}

const opened = (c: Connection) => new Promise<ConnectionEvents["open"]>((resolve) => c.on("open", resolve));

function echo(c: Connection, ...sent: MessageData[]): Promise<MessageData[]> {
  return new Promise((resolve) => {
    const got: MessageData[] = [];
    const off = c.on("message", (m) => {
      got.push(m);
      if (got.length === sent.length) {
        off();
        resolve(got);
      }
    });
    for (const data of sent) c.send(data);
  });
}

describe("React Native imitation", () => {
  it("offers what React Native has and nothing it lacks", () => {
    installReactNativeGlobals();
    expect(navigator.product).toBe("ReactNative");
    expect(typeof document).toBe("undefined");
    expect(typeof localStorage).toBe("undefined");
    const caps = resolveCapabilities();
    expect(caps.WebSocket).toBe(WsWebSocket);
    expect(caps.XMLHttpRequest).toBe(RnXMLHttpRequest);
    expect(caps.fetch).toBeTypeOf("function");
    expect(caps.fetchStreams).toBeUndefined();
    expect([webSocket, httpStream, longPolling].filter((f) => f.isSupported(caps)).map((f) => f.name)).toEqual(["websocket", "streaming", "polling"]);
  });

  it("picks websocket by default and echoes", async () => {
    const url = await echoServer();
    installReactNativeGlobals();
    conn = connect(url);
    expect((await opened(conn)).transport).toBe("websocket");
    expect(await echo(conn, "hi", new Uint8Array([7, 8]))).toEqual(["hi", new Uint8Array([7, 8])]);
    expect(RnXMLHttpRequest.instances).toEqual([]);
  });

  it("streams over XMLHttpRequest progress events, since fetch has no response streams", async () => {
    const url = await echoServer();
    installReactNativeGlobals();
    conn = connect(url, { transports: ["streaming"] });
    expect((await opened(conn)).transport).toBe("streaming");
    const [stream, ...others] = RnXMLHttpRequest.instances;
    expect(others).toEqual([]);
    expect(stream!.url).toBe(`${url}/stream`);
    const progressAtOpen = stream!.progressEvents;
    expect(progressAtOpen).toBeGreaterThanOrEqual(1);
    expect(await echo(conn, "one", "two", new Uint8Array([0, 255]))).toEqual(["one", "two", new Uint8Array([0, 255])]);
    // The replies came in on the same, still open response.
    expect(stream!.progressEvents).toBeGreaterThan(progressAtOpen);
    expect(stream!.readyState).toBe(3);
    expect(fetchCalls.some((call) => call.includes("/stream"))).toBe(false);
    expect(fetchCalls.some((call) => call.startsWith(`POST ${url}/send?sid=`))).toBe(true);
    conn.close();
    expect(stream!.aborted).toBe(true);
  });

  // iOS's URLSession hands over nothing of a response before its first 512 bytes: a stream
  // whose welcome is shorter would sit there until the connect timeout.
  it("streams on iOS, whose XMLHttpRequest holds back a response's first 512 bytes", async () => {
    const url = await echoServer();
    installReactNativeGlobals({ ios: true });
    conn = connect(url, { transports: ["streaming"], connectTimeout: 2000 });
    expect((await opened(conn)).transport).toBe("streaming");
    expect(await echo(conn, "one", new Uint8Array([0, 255]))).toEqual(["one", new Uint8Array([0, 255])]);
    expect(RnXMLHttpRequest.instances.filter((x) => x.url === `${url}/stream`)).toHaveLength(1);
  });

  // react-native-polyfill-globals gives fetch body streams, but its fetch answers only once a
  // response is whole unless asked to stream: the stream would hang until the connect timeout.
  it("streams over fetch where a polyfill gives it body streams (react-native-fetch-api)", async () => {
    const url = await echoServer();
    installReactNativeGlobals({ fetch: "polyfilled" });
    expect(resolveCapabilities().fetchStreams).toBe(true);
    conn = connect(url, { transports: ["streaming"], connectTimeout: 2000 });
    expect((await opened(conn)).transport).toBe("streaming");
    expect(await echo(conn, "one", new Uint8Array([0, 255]))).toEqual(["one", new Uint8Array([0, 255])]);
    expect(fetchCalls.filter((call) => call === `POST ${url}/stream`)).toHaveLength(1);
    expect(RnXMLHttpRequest.instances).toEqual([]);
  });

  it("polls over XMLHttpRequest, whose progress events read an answer as it arrives, and posts with fetch", async () => {
    const url = await echoServer();
    installReactNativeGlobals();
    conn = connect(url, { transports: ["polling"] });
    expect((await opened(conn)).transport).toBe("polling");
    expect(await echo(conn, "a", "b", "c")).toEqual(["a", "b", "c"]);
    const [open, ...rest] = RnXMLHttpRequest.instances;
    expect(`${open!.method} ${open!.url}`).toBe(`POST ${url}/poll`);
    const polls = rest.filter((x) => x.method === "GET" && x.url.startsWith(`${url}/poll?sid=`));
    expect(polls.length).toBeGreaterThan(0);
    expect(polls.length).toBe(rest.length);
    // Each poll names its link (the hello's attempt), so the server can refuse a stale one.
    expect(polls.every((x) => /[?&]attempt=1$/.test(x.url))).toBe(true);
    expect(fetchCalls.length).toBeGreaterThan(0);
    expect(fetchCalls.every((call) => call.startsWith(`POST ${url}/send?sid=`))).toBe(true);
  });

  it("keeps a polling link while an answer takes longer to come down than the heartbeat's window", async () => {
    installReactNativeGlobals();
    // The link may be silent for 1 s; a 256 KiB answer takes about 1.7 s at 150 kB/s.
    const link = await openThroughProxy(cleanups, "polling", { heartbeat: { interval: 500, timeout: 500 } });
    const { proxy, conn: polling, session, states } = link;
    const { burst, received } = await sendThrottledBurst(link);
    expect(received).toEqual(burst);
    expect(states).toEqual(["open: session started"]);
    expect(RnXMLHttpRequest.instances.some((x) => x.progressEvents > 1)).toBe(true);
    // Closed here, so that its close frame's POST is not counted by the next test.
    const ended = new Promise((resolve) => session.on("close", resolve));
    proxy.throttle(null);
    polling.close();
    await ended;
  });

  it("takes a stream cut mid-way over XMLHttpRequest for a network error, and resumes with nothing lost", async () => {
    installReactNativeGlobals();
    const { proxy, conn: streaming, session, states } = await openThroughProxy(cleanups, "streaming", {});
    const received: string[] = [];
    streaming.on("message", (data) => received.push(String(data)));
    session.send("before");
    await until(() => received.length === 1, 5000, "the first message");
    proxy.cut();
    session.send("after");
    await until(() => received.length === 2, 5000, "the message sent across the cut");
    expect(received).toEqual(["before", "after"]);
    expect(states).toEqual(["open: session started", "reconnecting: network error", "open: session resumed"]);
    const ended = new Promise((resolve) => session.on("close", resolve));
    streaming.close();
    await ended;
  });

  it("polls and streams over XMLHttpRequest alone when fetch is missing", async () => {
    const url = await echoServer();
    installReactNativeGlobals({ fetch: false });
    conn = connect(url, { transports: ["polling"] });
    expect((await opened(conn)).transport).toBe("polling");
    expect(await echo(conn, "x", "y")).toEqual(["x", "y"]);
    expect(RnXMLHttpRequest.instances.some((x) => x.method === "GET" && x.url.startsWith(`${url}/poll?sid=`))).toBe(true);
    expect(fetchCalls).toEqual([]);
    conn.close();
    conn = connect(url, { transports: ["streaming"] });
    expect((await opened(conn)).transport).toBe("streaming");
    expect(await echo(conn, "z")).toEqual(["z"]);
  });

  it("carries binary messages on every transport where the engine has no btoa/atob (JavaScriptCore)", async () => {
    const url = await echoServer();
    installReactNativeGlobals();
    vi.stubGlobal("btoa", undefined);
    vi.stubGlobal("atob", undefined);
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 255);
    for (const transport of ["websocket", "streaming", "polling"] as const) {
      conn = connect(url, { transports: [transport] });
      expect((await opened(conn)).transport).toBe(transport);
      expect(await echo(conn, new Uint8Array([1, 2, 3]), "after", bytes), transport).toEqual([new Uint8Array([1, 2, 3]), "after", bytes]);
      conn.close();
    }
  });

  it("falls back to streaming over XHR when the WebSocket upgrade fails", async () => {
    const url = await echoServer();
    installReactNativeGlobals();
    // A WebSocket that cannot reach anything, as behind a proxy that refuses upgrades.
    class RefusedWebSocket extends WsWebSocket {
      constructor() {
        super("ws://127.0.0.1:1/");
      }
    }
    vi.stubGlobal("WebSocket", RefusedWebSocket);
    conn = connect(url);
    expect((await opened(conn)).transport).toBe("streaming");
    expect(await echo(conn, "after fallback")).toEqual(["after fallback"]);
  });

  it("reconnects at once when AppState comes back to 'active', instead of waiting out the backoff", async () => {
    const url = await echoServer();
    const port = Number(new URL(url).port);
    installReactNativeGlobals();
    const appState = createFakeAppState();
    conn = connect(url, { appState, reconnect: { initialDelay: 60_000, jitter: 0 } });
    await opened(conn);
    // The server goes away while the app is in the background.
    appState.set("background");
    await server!.close();
    await vi.waitFor(() => expect(conn!.state).toBe("reconnecting"));
    server = createServer();
    server.on("connection", (session) => session.on("message", (data) => session.send(data)));
    await server.listen(port, "127.0.0.1");
    const reopened = opened(conn);
    const activeAt = Date.now();
    appState.set("active");
    // The retry's attempt is under way; the app still sees reconnecting until it opens.
    expect(conn.state).toBe("reconnecting");
    expect((await reopened).sessionLost).toBe(true);
    expect(Date.now() - activeAt).toBeLessThan(5_000);
    expect(await echo(conn, "back")).toEqual(["back"]);
    conn.close();
    expect(appState.listenerCount()).toBe(0);
  });

  it("reconnects at once when NetInfo finds a network again, instead of waiting out the backoff", async () => {
    const url = await echoServer();
    const port = Number(new URL(url).port);
    installReactNativeGlobals();
    const netInfo = createFakeNetInfo("wifi");
    conn = connect(url, { netInfo, reconnect: { initialDelay: 60_000, jitter: 0 } });
    await opened(conn);
    // The phone leaves the Wi-Fi: the link is dropped at once, and the server goes away meanwhile.
    netInfo.set("wifi", false);
    expect(conn.state).toBe("reconnecting");
    await server!.close();
    server = createServer();
    server.on("connection", (session) => session.on("message", (data) => session.send(data)));
    await server.listen(port, "127.0.0.1");
    const reopened = opened(conn);
    const changedAt = Date.now();
    netInfo.set("cellular", true);
    expect((await reopened).sessionLost).toBe(true);
    expect(Date.now() - changedAt).toBeLessThan(5_000);
    expect(await echo(conn, "on cellular")).toEqual(["on cellular"]);
    conn.close();
    expect(netInfo.listenerCount()).toBe(0);
  });
});
