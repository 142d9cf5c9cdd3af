import { afterEach, describe, expect, it, vi } from "vitest";
import { resolveCapabilities } from "../src/env.js";
import { httpStream } from "../src/transports/http-stream.js";
import { longPolling } from "../src/transports/long-polling.js";
import { webSocket } from "../src/transports/websocket.js";

afterEach(() => vi.unstubAllGlobals());

describe("capabilities in a browser-like environment (jsdom)", () => {
  it("finds WebSocket, fetch with streams and XMLHttpRequest, so every transport can run", () => {
    const caps = resolveCapabilities();
    expect(caps.WebSocket).toBe(globalThis.WebSocket);
    expect(caps.XMLHttpRequest).toBe(globalThis.XMLHttpRequest);
    expect(caps.fetch).toBeTypeOf("function");
    expect(caps.fetchStreams).toBe(true);
    expect([webSocket, httpStream, longPolling].filter((f) => f.isSupported(caps)).map((f) => f.name)).toEqual(["websocket", "streaming", "polling"]);
  });

  it("keeps streaming (over XHR) and polling without fetch", () => {
    vi.stubGlobal("fetch", undefined);
    const caps = resolveCapabilities();
    expect(caps.fetch).toBeUndefined();
    expect(httpStream.isSupported(caps)).toBe(true);
    expect(longPolling.isSupported(caps)).toBe(true);
  });
});
