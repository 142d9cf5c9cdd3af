import { describe, expect, it } from "vitest";
import { connectWith } from "../../src/client.js";
import type { CoreOptions } from "../../src/options.js";
import type { RetryPolicy } from "../../src/reconnect.js";
import type { StorageLike } from "../../src/transport-memory.js";
import type { ConnectionEvents } from "../../src/types.js";
import { createManualClock } from "@lifeline/testkit";
import { createFakeFactory, settle } from "../helpers/fake-transport.js";

const fixedDelay = (ms: number): RetryPolicy => ({ nextDelayMs: () => ms });

function memoryStorage(): StorageLike & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

function setup(options: Partial<CoreOptions> = {}) {
  const clock = createManualClock();
  const ws = createFakeFactory("websocket");
  const streaming = createFakeFactory("streaming");
  const polling = createFakeFactory("polling");
  const storage = memoryStorage();
  const logs: string[] = [];
  const conn = connectWith("http://127.0.0.1:1/lifeline", {
    retryPolicy: fixedDelay(100),
    storage,
    debug: (message) => logs.push(message),
    ...options,
    transportFactories: [ws, streaming, polling],
    clock,
  });
  const transports: ConnectionEvents["transport"][] = [];
  const states: string[] = [];
  conn.on("transport", (event) => transports.push(event));
  conn.on("statechange", ({ to }) => states.push(to));
  return { clock, conn, ws, streaming, polling, storage, transports, states, logs };
}

const welcomeOpts = { pingIntervalMs: 60_000, pingTimeoutMs: 60_000 };

describe("transport race", () => {
  it("starts the next candidate after fallbackDelay while the first keeps trying; the first welcome wins", async () => {
    const s = setup({ fallbackDelay: 500 });
    await settle();
    expect(s.ws.links).toHaveLength(1);
    s.clock.advance(499);
    expect(s.streaming.links).toHaveLength(0);
    s.clock.advance(1);
    expect(s.streaming.links).toHaveLength(1);
    expect(s.ws.links[0]!.closed).toBe(false);
    s.clock.advance(500);
    expect(s.polling.links).toHaveLength(1);
    // Streaming answers first: it wins and the others are closed.
    s.streaming.links[0]!.welcome(welcomeOpts);
    await settle();
    expect(s.conn.transport).toBe("streaming");
    expect(s.ws.links[0]!.closed).toBe(true);
    expect(s.polling.links[0]!.closed).toBe(true);
    // Why not WebSocket, though nothing failed: it was slower.
    expect(s.transports).toEqual([{ from: null, to: "streaming", reason: "websocket: no handshake in 1000 ms" }]);
  });

  it("a candidate that fails starts the next at once, and the reason is reported", async () => {
    const s = setup({ fallbackDelay: 5000 });
    await settle();
    s.ws.links[0]!.drop({ reason: "upgrade refused (HTTP 403)" });
    expect(s.streaming.links).toHaveLength(1);
    s.streaming.links[0]!.welcome(welcomeOpts);
    await settle();
    expect(s.transports).toEqual([{ from: null, to: "streaming", reason: "websocket: upgrade refused (HTTP 403)" }]);
    expect(s.logs).toContain("websocket failed: upgrade refused (HTTP 403)");
  });

  it("the slow first candidate can still win the race", async () => {
    const s = setup({ fallbackDelay: 500 });
    await settle();
    s.clock.advance(700);
    s.ws.links[0]!.welcome(welcomeOpts);
    await settle();
    expect(s.conn.transport).toBe("websocket");
    expect(s.streaming.links[0]!.closed).toBe(true);
    expect(s.polling.links).toHaveLength(0);
  });
});

describe("remembering what worked", () => {
  it("the next connection to the endpoint starts with the transport that worked", async () => {
    const first = setup({ fallbackDelay: 5000 });
    await settle();
    first.ws.links[0]!.drop({ reason: "refused" });
    first.streaming.links[0]!.drop({ reason: "buffered" });
    first.polling.links[0]!.welcome(welcomeOpts);
    await settle();
    first.conn.close();
    expect([...first.storage.data.values()][0]).toMatch(/^polling \d+$/);

    const second = setup({ fallbackDelay: 5000, storage: first.storage });
    await settle();
    expect(second.polling.links).toHaveLength(1);
    expect(second.ws.links).toHaveLength(0);
    second.conn.close();
  });

  it("learns nothing from a connection forced onto one transport", async () => {
    const storage = memoryStorage();
    storage.setItem("lifeline:transport:http://127.0.0.1:1/lifeline", `streaming ${1_000_000}`);
    const forced = setup({ transports: ["polling"], storage });
    await settle();
    expect(forced.ws.links).toHaveLength(0);
    forced.polling.links[0]!.welcome(welcomeOpts);
    await settle();
    expect(forced.conn.transport).toBe("polling");
    forced.conn.close();
    // What an earlier connection with a choice learned is still there, untouched.
    expect([...storage.data.values()]).toEqual([`streaming ${1_000_000}`]);

    const next = setup({ fallbackDelay: 5000, storage });
    await settle();
    expect(next.streaming.links).toHaveLength(1);
    expect(next.polling.links).toHaveLength(0);
    next.conn.close();
  });

  it("keeps what a connection given its own order learns apart from what the default order learns, both ways", async () => {
    const storage = memoryStorage();
    const defaultKey = "lifeline:transport:http://127.0.0.1:1/lifeline";
    storage.setItem(defaultKey, `websocket ${1_000_000}`);
    // The app prefers polling: a WebSocket that worked for default connections does not go first.
    const pollingFirst = setup({ fallbackDelay: 5000, transports: ["polling", "websocket"], storage });
    await settle();
    expect([pollingFirst.polling.links.length, pollingFirst.ws.links.length]).toEqual([1, 0]);
    pollingFirst.polling.links[0]!.welcome(welcomeOpts);
    await settle();
    pollingFirst.conn.close();
    // What it learned (polling) is its own: the default order still starts with WebSocket.
    expect(storage.data.get(defaultKey)).toBe(`websocket ${1_000_000}`);
    expect(storage.data.get(`${defaultKey} polling,websocket`)).toMatch(/^polling \d+$/);
    const byDefault = setup({ fallbackDelay: 5000, storage });
    await settle();
    expect([byDefault.ws.links.length, byDefault.polling.links.length]).toEqual([1, 0]);
    byDefault.conn.close();
  });

  it.each([
    ["24 hours ago", 1_000_000 - 24 * 3600_000],
    ["more than 24 hours ahead of now: the wall clock was set back since", 1_000_000 + 25 * 3600_000],
  ])("forgets it when stored %s", async (_, storedAt) => {
    const storage = memoryStorage();
    storage.setItem("lifeline:transport:http://127.0.0.1:1/lifeline", `polling ${storedAt}`);
    const s = setup({ storage });
    await settle();
    expect(s.ws.links).toHaveLength(1);
    expect(s.polling.links).toHaveLength(0);
    expect(storage.data.size).toBe(0);
    s.conn.close();
  });

  it("survives storage that throws", async () => {
    const broken: StorageLike = {
      getItem: () => {
        throw new Error("SecurityError");
      },
      setItem: () => {
        throw new Error("QuotaExceededError");
      },
      removeItem: () => {
        throw new Error("SecurityError");
      },
    };
    const s = setup({ storage: broken });
    await settle();
    s.ws.links[0]!.welcome(welcomeOpts);
    await settle();
    expect(s.conn.state).toBe("open");
    s.conn.close();
  });

  it("takes a storage that answers with something other than a string (an async one's Promise) as remembering nothing", async () => {
    for (const answer of [Promise.resolve("polling 1"), 42, { name: "polling" }]) {
      const odd = { getItem: () => answer, setItem() {}, removeItem() {} } as unknown as StorageLike;
      const s = setup({ storage: odd });
      await settle();
      expect(s.ws.links).toHaveLength(1);
      s.ws.links[0]!.welcome(welcomeOpts);
      await settle();
      expect(s.conn.state).toBe("open");
      s.conn.close();
    }
  });
});

describe("a transport that keeps dying soon after it opens", () => {
  it("is demoted after two short-lived links, and the connection stays on one that works", async () => {
    const s = setup({ fallbackDelay: 5000, upgrade: false });
    await settle();
    s.ws.links[0]!.welcome(welcomeOpts);
    s.clock.advance(2000);
    s.ws.links[0]!.drop({ reason: "killed by proxy" });
    s.clock.advance(100);
    await settle();
    s.ws.links[1]!.welcome({ ...welcomeOpts, resumed: true });
    s.clock.advance(2000);
    s.ws.links[1]!.drop({ reason: "killed by proxy" });
    expect(s.logs.some((l) => /^websocket demoted for 60000 ms/.test(l))).toBe(true);
    s.clock.advance(100);
    await settle();
    // WebSocket goes last now: streaming first.
    expect(s.ws.links).toHaveLength(2);
    s.streaming.links[0]!.welcome({ ...welcomeOpts, resumed: true });
    await settle();
    expect(s.transports.map((t) => t.to)).toEqual(["websocket", "streaming"]);
    expect(s.transports[1]!.from).toBe("websocket");
    // Nothing failed on this reconnect: the move says why, not just "reconnected".
    expect(s.transports[1]!.reason).toMatch(/^websocket demoted for \d+ ms: its links keep dying soon after opening$/);
    s.conn.close();
  });

  it("is still tried, last, when the healthy ones cannot connect at all (a refused upgrade is no strike)", async () => {
    const s = setup({ fallbackDelay: 5000, upgrade: false, rememberTransport: false });
    const refused = { reason: "upgrade refused (HTTP 403)" };
    await settle();
    // The second race starts with streaming, the transport in use: WebSocket is tried once.
    s.ws.links[0]!.drop(refused);
    for (let link = 0; link < 2; link++) {
      s.streaming.links[link]!.welcome({ ...welcomeOpts, resumed: link > 0 });
      s.clock.advance(2000);
      s.streaming.links[link]!.drop({ reason: "network flapping" });
      s.clock.advance(100);
      await settle();
    }
    expect(s.logs.some((l) => /^streaming demoted for 60000 ms/.test(l))).toBe(true);
    // WebSocket and polling are healthy but refused here; streaming, demoted, comes after them.
    s.ws.links[1]!.drop(refused);
    s.polling.links[0]!.drop({ reason: "HTTP 403" });
    expect(s.streaming.links).toHaveLength(3);
    s.streaming.links[2]!.welcome({ ...welcomeOpts, resumed: true });
    await settle();
    expect(s.conn.state).toBe("open");
    expect(s.conn.transport).toBe("streaming");
    s.conn.close();
  });

  it("a link that lived long enough clears the strikes", async () => {
    const s = setup({ fallbackDelay: 5000, upgrade: false });
    await settle();
    s.ws.links[0]!.welcome(welcomeOpts);
    s.clock.advance(2000);
    s.ws.links[0]!.drop();
    s.clock.advance(100);
    await settle();
    s.ws.links[1]!.welcome({ ...welcomeOpts, resumed: true });
    s.clock.advance(20_000);
    s.ws.links[1]!.drop();
    s.clock.advance(100);
    await settle();
    expect(s.ws.links).toHaveLength(3);
    s.conn.close();
  });
});

describe("upgrade to WebSocket from a fallback", () => {
  async function openOnStreaming(s: ReturnType<typeof setup>) {
    await settle();
    s.ws.links[0]!.drop({ reason: "upgrade hung" });
    s.streaming.links[0]!.welcome(welcomeOpts);
    await settle();
  }

  it("probes WebSocket in the background and switches without losing, repeating or reordering", async () => {
    const s = setup({ fallbackDelay: 5000 });
    const received: unknown[] = [];
    s.conn.on("message", (m) => received.push(m));
    await openOnStreaming(s);
    const old = s.streaming.links[0]!;
    s.conn.send("a");
    s.conn.send("b");
    await settle();
    old.deliver({ type: "message", seq: 1, data: "one" }, { type: "message", seq: 2, data: "two" }, { type: "ack", seq: 1 });
    s.clock.advance(1000);
    await settle();
    const probe = s.ws.links[1]!;
    // The probe is a new attempt (the first race was attempt 1): it may take the session over.
    // Marked as a probe: the server must not end the session for it (docs/protocol.md).
    expect(probe.options.hello).toEqual({ type: "hello", version: 1, sessionId: "s1", ack: 2, attempt: 2, connectionId: expect.any(String), parts: true, probe: true });
    // The probe proves frames flow both ways before its hello; the first race's links do not wait.
    expect([s.ws.links[0]!.options.holdHello, old.options.holdHello, probe.options.holdHello]).toEqual([false, false, true]);
    // The server moved the session: seq 3 went out on the old link and is replayed on the new one.
    old.deliver({ type: "message", seq: 3, data: "three" });
    probe.welcome({ ...welcomeOpts, resumed: true, ack: 1 });
    probe.deliver({ type: "message", seq: 3, data: "three" }, { type: "message", seq: 4, data: "four" });
    await settle();
    expect(s.conn.transport).toBe("websocket");
    expect(s.conn.state).toBe("open");
    expect(old.closed).toBe(true);
    expect(received).toEqual(["one", "two", "three", "four"]);
    // "b" was not acknowledged by the server: it is resent on the new link, with its seq.
    expect(probe.sent.filter((f) => f.type === "message")).toEqual([{ type: "message", seq: 2, data: "b" }]);
    expect(s.transports.at(-1)).toEqual({ from: "streaming", to: "websocket", reason: "upgraded: the WebSocket probe carried frames both ways" });
    expect(s.states).toEqual(["open"]);
    s.conn.close();
    expect(s.clock.pendingTimers).toBe(0);
  });

  it("waits for the probe when the server replaced the old link first", async () => {
    const s = setup({ fallbackDelay: 5000 });
    await openOnStreaming(s);
    s.clock.advance(1000);
    await settle();
    const probe = s.ws.links[1]!;
    s.streaming.links[0]!.deliver({ type: "close", code: 4001, reason: "transport replaced by a newer link" });
    expect(s.conn.state).toBe("open");
    probe.welcome({ ...welcomeOpts, resumed: true });
    await settle();
    expect(s.conn.transport).toBe("websocket");
    expect(s.states).toEqual(["open"]);
    s.conn.close();
  });

  it("a failed probe backs off and leaves the working link alone", async () => {
    const s = setup({ fallbackDelay: 5000, connectTimeout: 2000 });
    await openOnStreaming(s);
    s.clock.advance(1000);
    await settle();
    expect(s.ws.links).toHaveLength(2);
    s.clock.advance(2000);
    expect(s.ws.links[1]!.closed).toBe(true);
    expect(s.conn.transport).toBe("streaming");
    s.clock.advance(14_999);
    expect(s.ws.links).toHaveLength(2);
    s.clock.advance(1);
    expect(s.ws.links).toHaveLength(3);
    s.conn.close();
    expect(s.clock.pendingTimers).toBe(0);
  });

  it("does not probe when upgrade is false or WebSocket is not allowed", async () => {
    const s = setup({ fallbackDelay: 5000, upgrade: false });
    await openOnStreaming(s);
    s.clock.advance(60_000);
    expect(s.ws.links).toHaveLength(1);
    s.conn.close();
  });

  it("keeps a transport that `transports` ranks above WebSocket, and upgrades from one ranked below it", async () => {
    const s = setup({ fallbackDelay: 5000, transports: ["streaming", "websocket", "polling"] });
    await settle();
    s.streaming.links[0]!.welcome(welcomeOpts);
    await settle();
    s.clock.advance(60_000);
    // Streaming is what the app prefers: no probe.
    expect(s.ws.links).toHaveLength(0);
    expect(s.conn.transport).toBe("streaming");
    // Polling, after a loss where streaming and WebSocket both fail, is below WebSocket: probed.
    s.streaming.links[0]!.drop();
    s.clock.advance(100);
    await settle();
    s.streaming.links[1]!.drop({ reason: "refused" });
    await settle();
    s.ws.links[0]!.drop({ reason: "refused" });
    await settle();
    s.polling.links[0]!.welcome({ ...welcomeOpts, resumed: true });
    await settle();
    expect(s.conn.transport).toBe("polling");
    s.clock.advance(1000);
    expect(s.ws.links).toHaveLength(2);
    s.conn.close();
    expect(s.clock.pendingTimers).toBe(0);
  });
});

describe("the core entry (no adaptive fallback)", () => {
  it("races its transports in order, but remembers nothing, demotes nothing and never probes", async () => {
    const { connectCore } = await import("../../src/client.js");
    const clock = createManualClock();
    const ws = createFakeFactory("websocket");
    const polling = createFakeFactory("polling");
    const storage = memoryStorage();
    const conn = connectCore("http://127.0.0.1:1/lifeline", { transportFactories: [ws, polling], clock, storage, retryPolicy: fixedDelay(100) });
    await settle();
    ws.links[0]!.drop({ reason: "refused" });
    polling.links[0]!.welcome(welcomeOpts);
    await settle();
    expect(conn.transport).toBe("polling");
    // The default entry would have probed WebSocket after 1 s; well within the heartbeat here.
    clock.advance(100_000);
    expect(ws.links).toHaveLength(1);
    expect(storage.data.size).toBe(0);
    // A lost link reconnects with the same order: WebSocket first again.
    polling.links[0]!.drop();
    clock.advance(100);
    await settle();
    expect(ws.links).toHaveLength(2);
    conn.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it("takes a custom transport whose isSupported throws as one that cannot run, on every attempt", async () => {
    const { connectCore } = await import("../../src/client.js");
    const clock = createManualClock();
    const custom = createFakeFactory("streaming");
    const polling = createFakeFactory("polling");
    let broken = false;
    custom.isSupported = () => {
      if (broken) throw new Error("custom check broke");
      return true;
    };
    const logs: string[] = [];
    const conn = connectCore("http://127.0.0.1:1/lifeline", { transportFactories: [custom, polling], clock, retryPolicy: fixedDelay(100), debug: (line) => logs.push(line) });
    const errors: string[] = [];
    conn.on("error", (error) => errors.push(error.code));
    await settle();
    custom.links[0]!.welcome(welcomeOpts);
    await settle();
    expect(conn.transport).toBe("streaming");
    // The retry's check throws: polling alone is tried, and the connection goes on there.
    broken = true;
    custom.links[0]!.drop();
    clock.advance(100);
    await settle();
    expect([custom.links.length, polling.links.length]).toEqual([1, 1]);
    // The bug in the custom transport is not hidden from its author.
    expect(logs).toContain("streaming: isSupported threw Error: custom check broke");
    polling.links[0]!.welcome(welcomeOpts);
    await settle();
    expect(conn.state).toBe("open");
    expect(conn.transport).toBe("polling");
    conn.close();

    // With no other candidate, the connection ends with a typed error instead of hanging.
    const alone = connectCore("http://127.0.0.1:1/lifeline", { transportFactories: [custom], clock, retryPolicy: fixedDelay(100) });
    const closed = new Promise<ConnectionEvents["close"]>((resolve) => alone.on("close", resolve));
    alone.on("error", (error) => errors.push(error.code));
    await settle();
    expect((await closed).code).not.toBe(1000);
    expect(alone.state).toBe("closed");
    expect(errors).toEqual(["TRANSPORT_UNAVAILABLE"]);
    expect(clock.pendingTimers).toBe(0);
  });
});
