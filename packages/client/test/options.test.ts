import { describe, expect, it } from "vitest";
import { connect, LifelineError } from "@lifeline/client";
import type { ClientOptions } from "@lifeline/client";
import { connect as connectCore } from "@lifeline/client/core";
import { exponentialBackoff } from "../src/reconnect.js";
import { resolveOptions } from "../src/options.js";
import { webSocket } from "../src/transports/websocket.js";

const URL = "http://127.0.0.1:1/x";

/** The error connect() throws for these options, or undefined when it accepts them. */
function rejection(options: unknown, entry: typeof connect = connect): LifelineError | undefined {
  try {
    const conn = entry(URL, options as ClientOptions);
    conn.close();
    return undefined;
  } catch (error) {
    return error as LifelineError;
  }
}

describe("options", () => {
  const bad: [string, unknown][] = [
    ["options", "fast"],
    ["WebSocket", "ws"],
    // Functions that cannot be called with `new`: every link would fail, retried forever.
    ["WebSocket", (url: string) => url],
    ["fetch", 1],
    ["XMLHttpRequest", {}],
    ["XMLHttpRequest", { open() {} }.open],
    ["transports", "websocket"],
    ["transports", []],
    ["transports", ["carrier-pigeon"]],
    ["transports", ["polling", "polling"]],
    ["reconnect", true],
    ["reconnect", null],
    ["reconnect", []],
    ["reconnect.initialDelay", -1],
    ["reconnect.maxDelay", "1s"],
    ["reconnect.maxDelay", Infinity],
    ["reconnect.initialDelay", 2 ** 31],
    ["reconnect.factor", 0],
    ["reconnect.factor", 0.5],
    ["reconnect.jitter", 1.5],
    ["reconnect.maxAttempts", Number.NaN],
    ["reconnect.maxAttempts", 1.5],
    ["buffer", "big"],
    ["buffer", null],
    ["buffer", []],
    ["buffer.maxMessages", 0],
    ["buffer.maxMessages", 2.5],
    ["buffer.maxBytes", -5],
    ["connectTimeout", 0],
    ["connectTimeout", Infinity],
    ["fallbackDelay", -1],
    ["fallbackDelay", 2 ** 31],
    ["appState", { on() {} }],
    ["netInfo", { fetch() {} }],
    ["debug", "yes"],
    ["upgrade", "no"],
    ["rememberTransport", 0],
    ["storage", { getItem() {} }],
  ];

  it.each(bad)("rejects a bad %s with INVALID_ARGUMENT naming it", (name, value) => {
    const options = name === "options" ? value : name.includes(".") ? { [name.split(".")[0]!]: { [name.split(".")[1]!]: value } } : { [name]: value };
    const error = rejection(options);
    expect(error).toBeInstanceOf(LifelineError);
    expect(error!.code).toBe("INVALID_ARGUMENT");
    expect(error!.message).toContain(name === "transports" && Array.isArray(value) && value.length ? "transports" : name);
  });

  it("accepts every option at its edge", () => {
    const storage = { getItem: () => null, setItem() {}, removeItem() {} };
    const appState = { addEventListener: () => ({ remove() {} }) };
    const good: ClientOptions = {
      transports: ["polling"],
      reconnect: { initialDelay: 0, maxDelay: 2 ** 31 - 1, factor: 1, jitter: 1, maxAttempts: Infinity },
      buffer: { maxMessages: 1, maxBytes: 1 },
      connectTimeout: 2 ** 31 - 1,
      fallbackDelay: 0,
      appState,
      debug: () => {},
      upgrade: false,
      rememberTransport: true,
      storage,
    };
    expect(rejection(good)).toBeUndefined();
    expect(rejection({ reconnect: false })).toBeUndefined();
    expect(rejection({ debug: false })).toBeUndefined();
    // Anything `new` works on: a class, an old-style function, a bound constructor.
    class FakeSocket {}
    function FakeXhr() {}
    expect(rejection({ WebSocket: FakeSocket, XMLHttpRequest: FakeXhr } as never)).toBeUndefined();
    expect(rejection({ WebSocket: FakeSocket.bind(null) } as never)).toBeUndefined();
  });

  it("refuses a core entry's transportFactories that are empty, have a hole or hold a non-factory", () => {
    const core = (transportFactories: unknown) => rejection({ transportFactories } as never, connectCore as typeof connect);
    // `[, webSocket]` has a hole where its first factory would be.
    const nameless = { isSupported: () => true, open: webSocket.open };
    for (const bad of [[], ["websocket"], [5], [null], [{ name: "websocket" }], [nameless], [, webSocket], undefined, webSocket]) {
      expect(core(bad)?.code, String(bad)).toBe("INVALID_ARGUMENT");
    }
    // The message names what was wrong, not a stand-in.
    expect(core([null])?.message).toBe("invalid option transportFactories: null");
    expect(rejection(null, connectCore as typeof connect)?.message).toBe("invalid option options: null");
    expect(core([webSocket])).toBeUndefined();
  });

  it("refuses a transports list with a hole as a typed error", () => {
    // A hole where the first name would be.
    const error = rejection({ transports: [, "polling"] as never });
    expect(error).toBeInstanceOf(LifelineError);
    expect(error?.code).toBe("INVALID_ARGUMENT");
  });

  it("takes a read-only transports list (`as const`), in its types as at run time", () => {
    const order = ["polling", "websocket"] as const;
    const options: ClientOptions = { transports: order };
    expect(rejection(options)).toBeUndefined();
    expect(resolveOptions(options, [webSocket, { ...webSocket, name: "polling" }]).factories.map((f) => f.name)).toEqual(["polling", "websocket"]);
  });

  it("takes undefined for any option as its absence, in its types too (exactOptionalPropertyTypes, as this repository compiles)", () => {
    const options: ClientOptions = {
      ...{ transports: undefined, reconnect: undefined, buffer: undefined, connectTimeout: undefined, appState: undefined, netInfo: undefined },
      ...{ fallbackDelay: undefined, upgrade: undefined, rememberTransport: undefined, storage: undefined, debug: undefined },
      ...{ WebSocket: undefined, fetch: undefined, XMLHttpRequest: undefined },
    };
    expect(rejection(options)).toBeUndefined();
    const nested: ClientOptions = {
      reconnect: { initialDelay: undefined, maxDelay: undefined, factor: undefined, jitter: undefined, maxAttempts: undefined },
      buffer: { maxMessages: undefined, maxBytes: undefined },
    };
    expect(rejection(nested)).toBeUndefined();
    const { retryPolicy: _, given: __, ...resolved } = resolveOptions({ ...options, ...nested, transportFactories: [webSocket] });
    const { retryPolicy: _d, given: __d, ...defaults } = resolveOptions({ transportFactories: [webSocket] });
    expect(resolved).toEqual(defaults);
  });

  it("leaves the adaptive fallback's options to it: the core entry, which has none, ignores them", () => {
    const core = (options: object) => rejection({ transportFactories: [webSocket], ...options }, connectCore as typeof connect);
    expect(core({ upgrade: "no", storage: 1 })).toBeUndefined();
    expect(core({ connectTimeout: 0 })?.code).toBe("INVALID_ARGUMENT");
  });

  it("fills in the documented defaults", () => {
    const resolved = resolveOptions({ transportFactories: [webSocket] });
    expect(resolved).toMatchObject({ maxMessages: 100_000, maxBytes: 64 * 1024 * 1024, connectTimeoutMs: 10_000, fallbackDelayMs: 500, log: undefined });
    expect(resolved.factories).toEqual([webSocket]);
    // The default backoff: 500 ms, doubling, at most 15 s, half of each delay random.
    const expected = exponentialBackoff({ initialDelayMs: 500, maxDelayMs: 15_000, factor: 2, jitter: 0.5, maxAttempts: Infinity }, () => 0);
    for (const attempt of [1, 2, 6, 40]) {
      const context = { attempt, elapsedMs: 0, reason: new LifelineError("TIMEOUT", "t") };
      const delay = resolved.retryPolicy!.nextDelayMs(context)!;
      const full = expected.nextDelayMs(context)!;
      expect(delay).toBeGreaterThanOrEqual(full / 2);
      expect(delay).toBeLessThanOrEqual(full);
    }
    expect(resolveOptions({ transportFactories: [webSocket], reconnect: false }).retryPolicy).toBeNull();
    // A first delay above the default cap is kept: the cap rises to it.
    const slow = resolveOptions({ transportFactories: [webSocket], reconnect: { initialDelay: 30_000, jitter: 0 } }).retryPolicy!;
    const reason = new LifelineError("TIMEOUT", "t");
    expect(slow.nextDelayMs({ attempt: 1, elapsedMs: 0, reason })).toBe(30_000);
    expect(slow.nextDelayMs({ attempt: 3, elapsedMs: 0, reason })).toBe(30_000);
  });
});
