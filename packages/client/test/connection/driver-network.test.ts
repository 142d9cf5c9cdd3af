import { afterEach, describe, expect, it, vi } from "vitest";
import { connectWith } from "../../src/client.js";
import type { AppStateLike } from "../../src/network.js";
import type { CoreOptions } from "../../src/options.js";
import type { RetryPolicy } from "../../src/reconnect.js";
import { createManualClock } from "@lifeline/testkit";
import type { ManualClock } from "@lifeline/testkit";
import { createFakeFactory, settle } from "../helpers/fake-transport.js";
import { createFakeAppState, createFakeDocument, createFakeNetInfo, createFakeWindow } from "../helpers/fake-platform.js";

const fixedDelay = (ms: number): RetryPolicy => ({ nextDelayMs: () => ms });

function setup(options: Partial<CoreOptions> = {}, clock: ManualClock = createManualClock()) {
  const win = createFakeWindow();
  const doc = createFakeDocument();
  const appState = createFakeAppState();
  const netInfo = createFakeNetInfo("wifi");
  const factory = createFakeFactory("websocket");
  const logs: string[] = [];
  const conn = connectWith("http://127.0.0.1:1/lifeline", {
    ...(options.reconnect ? {} : { retryPolicy: fixedDelay(10_000) }),
    networkSources: { window: win, document: doc, appState, netInfo },
    debug: (message) => logs.push(message),
    ...options,
    transportFactories: [factory],
    clock,
  });
  const reasons: string[] = [];
  conn.on("statechange", ({ to, reason }) => reasons.push(`${to}: ${reason}`));
  return { clock, conn, factory, win, doc, appState, netInfo, reasons, logs };
}

async function opened(s: ReturnType<typeof setup>) {
  await settle();
  s.factory.links.at(-1)!.welcome({ pingIntervalMs: 1000, pingTimeoutMs: 500 });
  await settle();
}

describe("driver and the platform's network signals", () => {
  it("going offline moves to reconnecting at once; coming online retries without waiting", async () => {
    const s = setup();
    await opened(s);
    s.win.fire("offline");
    expect(s.conn.state).toBe("reconnecting");
    expect(s.factory.links[0]!.closed).toBe(true);
    expect(s.reasons.at(-1)).toBe("reconnecting: the device went offline");
    s.win.fire("online");
    // Still reconnecting, now with an attempt under way: no state change, the log says why.
    expect(s.conn.state).toBe("reconnecting");
    expect(s.logs).toContain("retrying: the device is back online");
    await settle();
    expect(s.factory.links).toHaveLength(2);
    // The 10 s retry timer was cancelled: only the new link's connect timeout is pending.
    s.factory.links[1]!.welcome({ resumed: true });
    await settle();
    expect(s.conn.state).toBe("open");
  });

  it("a retry that starts or fails changes no state the app sees: the debug log says so instead", async () => {
    const s = setup();
    await opened(s);
    s.factory.links[0]!.drop();
    s.clock.advance(10_000);
    await settle();
    s.factory.links[1]!.drop({ reason: "connection refused" });
    expect(s.conn.state).toBe("reconnecting");
    expect(s.reasons).toEqual(["open: session started", "reconnecting: dropped"]);
    expect(s.logs.filter((line) => /^retry/.test(line))).toEqual([
      "retry in 10000 ms",
      "retrying: retry due",
      expect.stringMatching(/^retry failed: no transport connected \(websocket: connection refused\)$/),
      "retry in 10000 ms",
    ]);
    s.conn.close();
  });

  it("a page made visible again retries at once while reconnecting", async () => {
    const s = setup();
    await opened(s);
    s.factory.links[0]!.drop();
    expect(s.conn.state).toBe("reconnecting");
    s.doc.setVisibility("hidden");
    s.doc.setVisibility("visible");
    expect(s.logs).toContain("retrying: the app is back in the foreground");
    await settle();
    expect(s.factory.links).toHaveLength(2);
    expect(s.conn.state).toBe("reconnecting");
  });

  it("React Native's AppState 'active' retries at once while reconnecting", async () => {
    const s = setup();
    await opened(s);
    s.factory.links[0]!.drop();
    s.appState.set("background");
    expect(s.conn.state).toBe("reconnecting");
    expect(s.factory.links).toHaveLength(1);
    s.appState.set("active");
    await settle();
    expect(s.factory.links).toHaveLength(2);
    expect(s.logs).toContain("retrying: the app is back in the foreground");
  });

  it("React Native's NetInfo: losing the network drops the link, getting one back retries at once", async () => {
    const s = setup();
    await opened(s);
    s.netInfo.set("wifi", false);
    expect(s.conn.state).toBe("reconnecting");
    expect(s.reasons.at(-1)).toBe("reconnecting: the device went offline");
    s.netInfo.set("cellular", true);
    expect(s.logs).toContain("retrying: the network changed");
    await settle();
    expect(s.factory.links).toHaveLength(2);
    expect(s.conn.state).toBe("reconnecting");
    s.conn.close();
  });

  // iOS flips an app between inactive and active for every banner or prompt: the network is the
  // same, so an attempt under way goes on.
  it("back in the foreground while connecting, the attempt under way goes on", async () => {
    const s = setup();
    await settle();
    expect(s.factory.links).toHaveLength(1);
    s.appState.set("inactive");
    s.appState.set("active");
    s.doc.setVisibility("hidden");
    s.doc.setVisibility("visible");
    await settle();
    expect(s.factory.links).toHaveLength(1);
    expect(s.factory.links[0]!.closed).toBe(false);
    s.conn.close();
  });

  it("a network back in the middle of an attempt that began without one starts that attempt again", async () => {
    for (const signal of ["netInfo", "online"] as const) {
      const s = setup();
      await opened(s);
      s.netInfo.set("wifi", false);
      s.clock.advance(10_000); // the retry comes due while still offline
      await settle();
      expect(s.conn.state).toBe("reconnecting");
      expect(s.logs).toContain("retrying: retry due");
      expect(s.factory.links).toHaveLength(2);
      if (signal === "netInfo") s.netInfo.set("cellular", true);
      else s.win.fire("online");
      await settle();
      expect(s.factory.links[1]!.closed).toBe(true);
      expect(s.factory.links).toHaveLength(3);
      s.factory.links[2]!.welcome({ resumed: true });
      await settle();
      expect(s.conn.state).toBe("open");
      s.conn.close();
    }
  });

  it.each([
    { when: "back in the foreground", signal: (s: ReturnType<typeof setup>) => s.doc.setVisibility("visible") },
    { when: "on another network (Wi-Fi to cellular)", signal: (s: ReturnType<typeof setup>) => s.netInfo.set("cellular", true) },
  ])("$when while open, the link is pinged and has only the timeout to answer", async ({ signal }) => {
    const s = setup();
    await opened(s);
    const link = s.factory.links[0]!;
    const pingsBefore = link.sent.filter((f) => f.type === "ping").length;
    s.clock.advance(200);
    signal(s);
    await settle();
    expect(link.sent.filter((f) => f.type === "ping").length).toBe(pingsBefore + 1);
    // interval + timeout would be 1500 ms; a suspect link gets 500 ms from now.
    s.clock.advance(499);
    expect(s.conn.state).toBe("open");
    s.clock.advance(1);
    expect(s.conn.state).toBe("reconnecting");
    s.conn.close();
  });

  it("a link that answers the foreground ping stays open", async () => {
    const s = setup();
    await opened(s);
    const link = s.factory.links[0]!;
    s.doc.setVisibility("visible");
    await settle();
    const ping = link.sent.filter((f) => f.type === "ping").at(-1) as { id: number };
    s.clock.advance(100);
    link.deliver({ type: "pong", id: ping.id });
    s.clock.advance(1000);
    expect(s.conn.state).toBe("open");
    expect(s.conn.rtt).toBe(100);
  });

  it.each([
    {
      when: "lost as the page comes back from the back/forward cache",
      signal: (s: ReturnType<typeof setup>) => s.win.fire("pageshow", { persisted: true }),
      // The browser closed the socket while the page was frozen; the close arrives after pageshow.
      dies: (s: ReturnType<typeof setup>) => s.factory.links[0]!.drop({ reason: "WebSocket lost" }),
    },
    {
      when: "the server closed while the page was frozen",
      signal: (s: ReturnType<typeof setup>) => s.doc.setVisibility("visible"),
      // What the server wrote before giving up on our silence, read only now: no answer to the ping.
      dies: (s: ReturnType<typeof setup>) =>
        s.factory.links[0]!.deliver({ type: "message", seq: 1, data: "queued" }, { type: "close", code: 4000, reason: "heartbeat timeout" }),
    },
    {
      when: "silent after a network change",
      signal: (s: ReturnType<typeof setup>) => s.netInfo.set("cellular", true),
      dies: (s: ReturnType<typeof setup>) => s.clock.advance(500),
    },
  ])("a link $when, before it answers the ping, is retried without waiting", async ({ signal, dies }) => {
    const s = setup();
    await opened(s);
    s.clock.advance(200);
    signal(s);
    await settle();
    dies(s);
    expect(s.conn.state).toBe("reconnecting");
    expect(s.logs).toContain("retry in 0 ms");
    s.clock.advance(0);
    await settle();
    expect(s.factory.links).toHaveLength(2);
    s.conn.close();
  });

  it("only the link that was pinged is retried at once: its replacement, lost later, waits as usual", async () => {
    const s = setup();
    await opened(s);
    s.doc.setVisibility("visible");
    await settle();
    s.factory.links[0]!.drop({ reason: "WebSocket lost" });
    s.clock.advance(0);
    await settle();
    s.factory.links[1]!.welcome({ resumed: true, pingIntervalMs: 60_000, pingTimeoutMs: 60_000 });
    await settle();
    s.factory.links[1]!.drop();
    expect(s.logs.filter((line) => /^retry in/.test(line))).toEqual(["retry in 0 ms", "retry in 10000 ms"]);
    s.conn.close();
  });

  it("going offline right after the foreground ping waits for the retry delay: nothing could connect", async () => {
    const s = setup();
    await opened(s);
    s.doc.setVisibility("visible");
    await settle();
    s.win.fire("offline");
    expect(s.logs).toContain("retry in 10000 ms");
    s.clock.advance(9_999);
    await settle();
    expect(s.factory.links).toHaveLength(1);
    s.conn.close();
  });

  it("a link that answered the foreground ping and dies later waits for the retry delay as usual", async () => {
    const s = setup();
    await opened(s);
    const link = s.factory.links[0]!;
    s.doc.setVisibility("visible");
    await settle();
    const ping = link.sent.filter((f) => f.type === "ping").at(-1) as { id: number };
    link.deliver({ type: "pong", id: ping.id });
    link.drop();
    expect(s.logs).toContain("retry in 10000 ms");
    s.clock.advance(9_999);
    await settle();
    expect(s.factory.links).toHaveLength(1);
    s.clock.advance(1);
    await settle();
    expect(s.factory.links).toHaveLength(2);
    s.conn.close();
  });

  it("close() leaves no timer and no listener behind, from any state", async () => {
    // Reconnecting twice: waiting for the retry, then with the retry's attempt under way.
    for (const when of ["connecting", "open", "reconnecting", "retrying"] as const) {
      const s = setup();
      if (when !== "connecting") await opened(s);
      if (when === "reconnecting" || when === "retrying") s.factory.links[0]!.drop();
      if (when === "retrying") s.clock.advance(10_000);
      await settle();
      expect(s.factory.links).toHaveLength(when === "retrying" ? 2 : 1);
      expect(s.conn.state).toBe(when === "retrying" ? "reconnecting" : when);
      expect(s.clock.pendingTimers).toBeGreaterThan(0);
      s.conn.close();
      await settle();
      expect(s.conn.state).toBe("closed");
      expect(s.clock.pendingTimers).toBe(0);
      expect(s.win.listenerCount() + s.doc.listenerCount() + s.appState.listenerCount() + s.netInfo.listenerCount()).toBe(0);
      expect(s.factory.links.every((link) => link.closed)).toBe(true);
    }
  });
});

describe("reconnecting after a server restart", () => {
  it("spreads many clients over the backoff window instead of bringing them back in lockstep", async () => {
    const clock = createManualClock();
    const clients = Array.from({ length: 200 }, () =>
      setup({ reconnect: { initialDelay: 1000, jitter: 0.5 } }, clock),
    );
    await settle();
    for (const c of clients) c.factory.links[0]!.welcome({ pingIntervalMs: 60_000, pingTimeoutMs: 60_000 });
    await settle();
    // The server goes away: every link drops in the same instant.
    const lostAt = clock.now();
    for (const c of clients) c.factory.links[0]!.drop({ code: 1001, reason: "server restart" });
    const retriedAt = new Map<number, number>();
    for (let t = 0; t <= 1000; t += 10) {
      clock.advance(10);
      await settle();
      clients.forEach((c, i) => {
        if (c.factory.links.length > 1 && !retriedAt.has(i)) retriedAt.set(i, clock.now() - lostAt);
      });
    }
    const delays = [...retriedAt.values()];
    expect(delays).toHaveLength(200);
    // With jitter 0.5 the first retry falls in [500, 1000] ms; no 50 ms slice takes more than a fifth.
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(500);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000);
    const slices = new Map<number, number>();
    for (const d of delays) slices.set(Math.floor(d / 50), (slices.get(Math.floor(d / 50)) ?? 0) + 1);
    expect(slices.size).toBeGreaterThanOrEqual(8);
    expect(Math.max(...slices.values())).toBeLessThan(40);
    for (const c of clients) c.conn.close();
  });

  it("leaves no listener behind when connect() throws for a bad option of the fallback", () => {
    const win = createFakeWindow();
    const doc = createFakeDocument();
    expect(() =>
      connectWith("http://127.0.0.1:1/lifeline", {
        networkSources: { window: win, document: doc },
        storage: 5 as never,
        transportFactories: [createFakeFactory("websocket")],
      }),
    ).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(win.listenerCount() + doc.listenerCount()).toBe(0);
  });
});

/**
 * WebSocket first and streaming behind it, with no upgrade or memory: whether the health
 * tracker demoted WebSocket shows in which transport the next link uses.
 */
function webSocketThenStreaming() {
  const win = createFakeWindow();
  const ws = createFakeFactory("websocket");
  const streaming = createFakeFactory("streaming");
  const clock = createManualClock();
  const log: string[] = [];
  const conn = connectWith("http://127.0.0.1:1/lifeline", {
    retryPolicy: fixedDelay(100),
    rememberTransport: false,
    upgrade: false,
    networkSources: { window: win },
    transportFactories: [ws, streaming],
    clock,
    debug: (message) => log.push(message),
  });
  /** The newest WebSocket link opens; its heartbeat is long, so only the test ends it. */
  const open = async (resumed: boolean) => {
    await settle();
    ws.links.at(-1)!.welcome({ resumed, pingIntervalMs: 60_000, pingTimeoutMs: 60_000 });
    await settle();
  };
  /** Nothing was demoted: all `links` links were WebSocket's. */
  const expectOnlyWebSocket = async (links: number) => {
    await settle();
    expect(log.filter((line) => line.includes("demoted"))).toEqual([]);
    expect(ws.links).toHaveLength(links);
    expect(streaming.links).toHaveLength(0);
  };
  return { win, ws, clock, conn, open, expectOnlyWebSocket };
}

describe("losses that are no strike against the transport", () => {
  it("going offline: a phone that flaps stays on WebSocket", async () => {
    const { win, clock, conn, open, expectOnlyWebSocket } = webSocketThenStreaming();
    for (let i = 0; i < 3; i++) {
      await open(i > 0);
      clock.advance(1000);
      win.fire("offline");
      win.fire("online");
    }
    await expectOnlyWebSocket(4);
    conn.close();
  });

  it("a long-lived link that going offline ended still clears the strikes before it", async () => {
    const { win, ws, clock, conn, open, expectOnlyWebSocket } = webSocketThenStreaming();
    await open(false);
    clock.advance(1000);
    ws.links.at(-1)!.drop(); // a strike
    clock.advance(100);
    await open(true);
    clock.advance(11_000);
    win.fire("offline"); // long-lived: the row of strikes is broken
    win.fire("online");
    await open(true);
    clock.advance(1000);
    ws.links.at(-1)!.drop(); // one strike again, not two
    clock.advance(100);
    await expectOnlyWebSocket(4);
    conn.close();
  });

  it("links lost to the back/forward cache: going back and forth quickly stays on WebSocket", async () => {
    const { win, ws, clock, conn, open, expectOnlyWebSocket } = webSocketThenStreaming();
    for (let i = 0; i < 3; i++) {
      await open(i > 0);
      // Two seconds on another page, then back: the socket was closed while the page was frozen.
      clock.advance(2000);
      win.fire("pageshow", { persisted: true });
      ws.links.at(-1)!.drop({ reason: "WebSocket lost" });
      clock.advance(0);
    }
    await expectOnlyWebSocket(4);
    conn.close();
  });
});

describe("the app's own code that throws", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a debug logger that throws stops no state change: the connection opens, reconnects and closes, and the error is rethrown outside", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const boom = new Error("logger failed");
    const s = setup({
      debug: () => {
        throw boom;
      },
    });
    const closes: number[] = [];
    s.conn.on("close", ({ code }) => closes.push(code));
    s.conn.send("a");
    await opened(s);
    expect(s.conn.state).toBe("open");
    expect(s.factory.links[0]!.sent).toContainEqual({ type: "message", seq: 1, data: "a" });
    // Each log line was a throw: every one is rethrown on its own timer, none of them here.
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    expect(() => vi.runOnlyPendingTimers()).toThrow(boom);
    // A lost link is logged too: the connection still goes to reconnecting and retries.
    s.factory.links[0]!.drop();
    expect(s.conn.state).toBe("reconnecting");
    s.clock.advance(10_000);
    await settle();
    expect(s.factory.links).toHaveLength(2);
    s.conn.close();
    expect(closes).toEqual([1000]);
    expect(s.clock.pendingTimers).toBe(0);
    vi.clearAllTimers();
  });

  it("an AppState whose removal throws does not stop close(): the close event fires and every other listener goes", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const win = createFakeWindow();
    const netInfo = createFakeNetInfo("wifi");
    const boom = new Error("remove failed");
    const appState: AppStateLike = {
      addEventListener: () => ({
        remove: () => {
          throw boom;
        },
      }),
    };
    // NetInfo's listener is added after AppState's, so it is removed after the one that throws.
    const s = setup({ networkSources: { window: win, appState, netInfo } });
    await opened(s);
    const closes: number[] = [];
    s.conn.on("close", ({ code }) => closes.push(code));
    expect(() => s.conn.close()).not.toThrow();
    expect(s.conn.state).toBe("closed");
    expect(closes).toEqual([1000]);
    expect([win.listenerCount(), netInfo.listenerCount()]).toEqual([0, 0]);
    expect(() => vi.runOnlyPendingTimers()).toThrow(boom);
  });
});
