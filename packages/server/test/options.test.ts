import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_PING_INTERVAL_MS, DEFAULT_PING_TIMEOUT_MS, DEFAULT_RESUME_WINDOW_MS, maxBatchLines, maxBodyBytes } from "@lifeline/protocol";
import { constants } from "node:buffer";
import { describe, expect, it } from "vitest";
import { LifelineServerError, createServer } from "@lifeline/server";
import type { ServerOptions } from "@lifeline/server";
import { resolveOptions } from "../src/options.js";

describe("options", () => {
  it("fills in the protocol defaults", () => {
    const options = resolveOptions(undefined);
    expect(options).toMatchObject({
      path: "/lifeline",
      pingIntervalMs: DEFAULT_PING_INTERVAL_MS,
      pingTimeoutMs: DEFAULT_PING_TIMEOUT_MS,
      resumeWindowMs: DEFAULT_RESUME_WINDOW_MS,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
      maxBodyBytes: maxBodyBytes(DEFAULT_MAX_MESSAGE_BYTES),
      maxBatchLines: maxBatchLines(DEFAULT_MAX_MESSAGE_BYTES),
      allowedOrigins: undefined,
    });
  });

  it("takes undefined for any option as its absence, in its types too (exactOptionalPropertyTypes, as this repository compiles)", () => {
    const absent: ServerOptions = {
      ...{ path: undefined, heartbeat: undefined, resumeWindow: undefined, maxMessageSize: undefined },
      ...{ allowedOrigins: undefined, replayBuffer: undefined, logger: undefined },
    };
    const nested: ServerOptions = { heartbeat: { interval: undefined, timeout: undefined }, replayBuffer: { maxMessages: undefined, maxBytes: undefined } };
    const { logger: _, ...defaults } = resolveOptions(undefined);
    for (const options of [absent, nested]) {
      const { logger: __, ...resolved } = resolveOptions(options);
      expect(resolved).toEqual(defaults);
    }
  });

  it("takes the largest maxMessageSize whose batches fit in one JavaScript string", () => {
    expect(resolveOptions({ maxMessageSize: 89_467_558 }).maxBodyBytes).toBeLessThanOrEqual(constants.MAX_STRING_LENGTH);
  });

  it("normalises the path and the origins", () => {
    expect(resolveOptions({ path: "/rt/" }).path).toBe("/rt");
    // Already as a URL sends it: kept.
    for (const path of ["/a//b", "/a%20b", "/%C3%A4", "/v1.2/rt"]) expect(resolveOptions({ path }).path).toBe(path);
    expect(resolveOptions({ path: "/" }).path).toBe("");
    expect(resolveOptions({ allowedOrigins: ["https://A.example/"] }).allowedOrigins).toEqual(new Set(["https://a.example"]));
    // Written as a browser sends it: no default port.
    expect(resolveOptions({ allowedOrigins: ["https://a.example:443", "http://localhost:3000"] }).allowedOrigins).toEqual(new Set(["https://a.example", "http://localhost:3000"]));
    // Apps in a native shell or an extension, and opaque origins, as the browser sends them.
    const others = ["capacitor://localhost", "chrome-extension://abcdefgh", "null"];
    expect(resolveOptions({ allowedOrigins: others }).allowedOrigins).toEqual(new Set(others));
    expect(resolveOptions({ allowedOrigins: ["*"] }).allowedOrigins).toBeUndefined();
  });

  const bad: [string, unknown][] = [
    ["path", { path: "lifeline" }],
    ["path", { path: "/a?b" }],
    // Forms no request's path ever has: a client's URL parser rewrites them before they go out.
    ['path must be written as a URL sends it, got "/a/../b" (a URL sends "/b")', { path: "/a/../b" }],
    ['a URL sends "/x"', { path: "/./x" }],
    ['a URL sends "/a/b"', { path: "/a/%2e/b" }],
    ['a URL sends "/%C3%A4"', { path: "/ä" }],
    ['got "//x"', { path: "//x" }],
    ['got "/\\\\x"', { path: "/\\x" }],
    ['a URL sends "/a%22b"', { path: '/a"b' }],
    ["heartbeat.interval", { heartbeat: { interval: 0 } }],
    ["heartbeat.timeout", { heartbeat: { timeout: 1.5 } }],
    ["heartbeat.interval", { heartbeat: { interval: "15s" } }],
    ["heartbeat.interval + heartbeat.timeout", { heartbeat: { interval: 2_000_000_000, timeout: 2_000_000_000 } }],
    ["resumeWindow", { resumeWindow: -1 }],
    ["maxMessageSize", { maxMessageSize: Number.NaN }],
    // A batch of that much escape-heavy text would not fit in one JavaScript string.
    ["maxMessageSize must be an integer from 1 to 89467558", { maxMessageSize: 89_467_559 }],
    ["allowedOrigins", { allowedOrigins: "https://a.example" }],
    ["app.example.com", { allowedOrigins: ["app.example.com"] }],
    ["localhost:3000", { allowedOrigins: ["localhost:3000"] }],
    ["https://a.example/app", { allowedOrigins: ["https://a.example/app"] }],
    // Not URLs at all (the URL parser's own TypeError must not get out), and a pattern.
    ["https://a.example:99999", { allowedOrigins: ["https://a.example:99999"] }],
    ["https://[::1", { allowedOrigins: ["https://[::1"] }],
    ["http://exa%mple.com", { allowedOrigins: ["http://exa%mple.com"] }],
    ["https://*.example.com", { allowedOrigins: ["https://*.example.com"] }],
    ["app.example.com", { allowedOrigins: ["*", "app.example.com"] }],
    ["replayBuffer.maxMessages", { replayBuffer: { maxMessages: 0 } }],
    ["logger", { logger: [] }],
    ["logger", { logger: { warn: 5 } }],
    ['unknown option "pingInterval"', { pingInterval: 1000 }],
    ['unknown option "heartbeat.intervalMs"', { heartbeat: { intervalMs: 1000 } }],
    ["options must be an object", 42],
  ];
  it.each(bad)("refuses bad input with INVALID_OPTION naming %s", (name, input) => {
    let error: unknown;
    try {
      createServer(input as ServerOptions);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LifelineServerError);
    expect(error).toMatchObject({ code: "INVALID_OPTION", message: expect.stringContaining(name) });
  });
});
