import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket as WsWebSocket } from "ws";
import { connect } from "@lifeline/client";
import type { ConnectionEvents } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import { resolveCapabilities } from "../src/env.js";
import { cleanupAfterEach } from "./helpers/integration.js";
import type { Capabilities } from "../src/env.js";
import { httpStream } from "../src/transports/http-stream.js";
import { longPolling } from "../src/transports/long-polling.js";
import { webSocket } from "../src/transports/websocket.js";

const supported = (caps: Capabilities) => [webSocket, httpStream, longPolling].filter((f) => f.isSupported(caps)).map((f) => f.name);

afterEach(() => vi.unstubAllGlobals());

describe("capabilities in Node 20", () => {
  it("has fetch with response streams, no WebSocket and no XMLHttpRequest", () => {
    const caps = resolveCapabilities();
    expect(caps.WebSocket).toBeUndefined();
    expect(caps.XMLHttpRequest).toBeUndefined();
    expect(caps.fetch).toBeTypeOf("function");
    expect(caps.fetchStreams).toBe(true);
    expect(caps.TextDecoder).toBe(TextDecoder);
    expect(supported(caps)).toEqual(["streaming", "polling"]);
  });

  it("takes constructors from the options before globals", () => {
    const fetchFn = (() => Promise.reject(new Error("unused"))) as unknown as typeof fetch;
    const caps = resolveCapabilities({ WebSocket: WsWebSocket, fetch: fetchFn });
    expect(caps.WebSocket).toBe(WsWebSocket);
    expect(caps.fetch).toBe(fetchFn);
    expect(supported(caps)).toEqual(["websocket", "streaming", "polling"]);
  });

  it("treats an option given as undefined like a missing one (the global is used)", () => {
    const caps = resolveCapabilities({ fetch: undefined, WebSocket: undefined });
    expect(caps.fetch).toBeTypeOf("function");
    expect(caps.WebSocket).toBeUndefined();
  });

  it("leaves fetch streams out when Response has no body, even with ReadableStream", () => {
    vi.stubGlobal("Response", class Response {});
    const caps = resolveCapabilities();
    expect(caps.fetchStreams).toBeUndefined();
    // Without XMLHttpRequest there is nothing left to stream with.
    expect(supported(caps)).toEqual(["polling"]);
  });

  it("supports nothing without WebSocket, fetch or XMLHttpRequest", () => {
    vi.stubGlobal("fetch", undefined);
    expect(supported(resolveCapabilities())).toEqual([]);
  });
});

describe("default transport order: websocket, streaming, polling, filtered by support", () => {
  const cleanups = cleanupAfterEach();

  const openWith = async (options: Parameters<typeof connect>[1] = {}) => {
    const server = createServer();
    cleanups.push(() => server.close());
    const { url } = await server.listen(0, "127.0.0.1");
    const conn = connect(url, options);
    cleanups.push(() => conn.close());
    const open = await new Promise<ConnectionEvents["open"]>((resolve) => conn.on("open", resolve));
    return open.transport;
  };

  it("uses websocket when a WebSocket is passed", async () => {
    expect(await openWith({ WebSocket: WsWebSocket })).toBe("websocket");
  });

  it("uses streaming in plain Node (no WebSocket)", async () => {
    expect(await openWith()).toBe("streaming");
  });

  it("uses polling when fetch cannot stream and there is no XMLHttpRequest", async () => {
    vi.stubGlobal("Response", class Response {});
    expect(await openWith()).toBe("polling");
  });

  it("closes with TRANSPORT_UNAVAILABLE when nothing can run", async () => {
    vi.stubGlobal("fetch", undefined);
    const server = createServer();
    cleanups.push(() => server.close());
    const { url } = await server.listen(0, "127.0.0.1");
    const conn = connect(url);
    cleanups.push(() => conn.close());
    const error = await new Promise<ConnectionEvents["error"]>((resolve) => conn.on("error", resolve));
    expect(error.code).toBe("TRANSPORT_UNAVAILABLE");
    expect(conn.state).toBe("closed");
  });

  it("says what would help when the only transport allowed cannot run here (WebSocket in Node 20 without `ws`)", async () => {
    vi.stubGlobal("WebSocket", undefined);
    const conn = connect("http://127.0.0.1:1/lifeline", { transports: ["websocket"] });
    cleanups.push(() => conn.close());
    const error = await new Promise<ConnectionEvents["error"]>((resolve) => conn.on("error", resolve));
    expect(error).toMatchObject({ code: "TRANSPORT_UNAVAILABLE", message: "no transport can run here (pass WebSocket, fetch or XMLHttpRequest)" });
  });
});
