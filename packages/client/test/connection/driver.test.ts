import { describe, expect, it } from "vitest";
import type { Frame } from "@lifeline/protocol";
import { connectWith } from "../../src/client.js";
import type { CoreOptions } from "../../src/options.js";
import type { RetryPolicy } from "../../src/reconnect.js";
import type { ConnectionEvents } from "../../src/types.js";
import { createManualClock } from "@lifeline/testkit";
import { createFakeFactory, settle } from "../helpers/fake-transport.js";
import type { FakeFactory } from "../helpers/fake-transport.js";

const fixedDelays = (...delays: number[]): RetryPolicy => ({
  nextDelayMs: ({ attempt }) => delays[attempt - 1] ?? null,
});

function setup(options: Partial<CoreOptions> & { factories?: FakeFactory[]; startAt?: number } = {}) {
  const clock = createManualClock(options.startAt);
  const factories = options.factories ?? [createFakeFactory("websocket")];
  const conn = connectWith("http://127.0.0.1:1/lifeline", {
    retryPolicy: fixedDelays(100, 200, 400),
    rememberTransport: false,
    ...options,
    transportFactories: factories,
    clock,
  });
  const log: string[] = [];
  const received: unknown[] = [];
  const opens: ConnectionEvents["open"][] = [];
  const errors: ConnectionEvents["error"][] = [];
  const closes: ConnectionEvents["close"][] = [];
  conn.on("statechange", ({ from, to }) => log.push(`${from}->${to}`));
  conn.on("message", (data) => received.push(data));
  conn.on("open", (event) => opens.push(event));
  conn.on("error", (error) => errors.push(error));
  conn.on("close", (event) => closes.push(event));
  return { clock, conn, factory: factories[0]!, factories, log, received, opens, errors, closes };
}

const part = (seq: number, offset: number, total: number, payload: string, binary = false): Frame => ({ type: "part", seq, offset, total, binary, payload });

const messages = (frames: Frame[]) => frames.filter((f) => f.type === "message").map((f) => (f as { seq: number; data: unknown }).data);

describe("driver", () => {
  it("queues sends until the welcome, then flushes them in one batch", async () => {
    const { conn, factory, opens } = setup();
    conn.send("a");
    conn.send(new Uint8Array([1, 2]));
    await settle();
    const link = factory.links[0]!;
    expect(link.options.hello).toEqual({ type: "hello", version: 1, ack: 0, attempt: 1, connectionId: expect.stringMatching(/^[A-Za-z0-9_-]{8,64}$/), parts: true });
    expect(link.sent).toEqual([]);
    link.welcome();
    await settle();
    expect(conn.state).toBe("open");
    expect(conn.id).toBe("s1");
    expect(conn.transport).toBe("websocket");
    expect(opens).toEqual([{ transport: "websocket", resumed: false, sessionLost: false, resent: [] }]);
    expect(link.sent.filter((f) => f.type === "message")).toEqual([
      { type: "message", seq: 1, data: "a" },
      { type: "message", seq: 2, data: new Uint8Array([1, 2]) },
    ]);
  });

  it("delivers messages once and in order, acks them, and answers pings", async () => {
    const { conn, factory, received } = setup();
    await settle();
    const link = factory.links[0]!;
    link.welcome();
    link.deliver(
      { type: "message", seq: 1, data: "x" },
      { type: "message", seq: 1, data: "x" },
      { type: "message", seq: 2, data: "y" },
      { type: "ping", id: 7 },
    );
    await settle();
    expect(received).toEqual(["x", "y"]);
    expect(link.sent).toContainEqual({ type: "ack", seq: 2 });
    expect(link.sent).toContainEqual({ type: "pong", id: 7 });
    expect(conn.state).toBe("open");
  });

  it("joins a message sent in parts, and answers each batch of parts with an ack so the server hears from it", async () => {
    const { conn, factory, clock, received } = setup();
    await settle();
    const link = factory.links[0]!;
    link.welcome();
    link.deliver({ type: "message", seq: 1, data: "whole" });
    await settle();
    clock.advance(20);
    const acks = () => link.sent.filter((f) => f.type === "ack");
    expect(acks()).toEqual([{ type: "ack", seq: 1 }]);
    // Nothing is owed: each batch of parts sends the last ack again, at once.
    link.deliver(part(2, 0, 5, "he"));
    await settle();
    expect(acks()).toEqual([{ type: "ack", seq: 1 }, { type: "ack", seq: 1 }]);
    link.deliver(part(2, 2, 5, "ll"));
    await settle();
    expect(acks()).toHaveLength(3);
    expect(received).toEqual(["whole"]);
    link.deliver(part(2, 4, 5, "o"));
    link.deliver(part(3, 0, 8, "AQID", true), { type: "ping", id: 9 }, part(3, 4, 8, "BA==", true));
    await settle();
    expect(received).toEqual(["whole", "hello", new Uint8Array([1, 2, 3, 4])]);
    clock.advance(20);
    expect(acks().at(-1)).toEqual({ type: "ack", seq: 3 });
    expect(conn.state).toBe("open");
  });

  it("lets an ack already owed answer parts: no repeat of an older one", async () => {
    const { factory, clock } = setup();
    await settle();
    const link = factory.links[0]!;
    link.welcome();
    await settle();
    link.deliver({ type: "message", seq: 1, data: "m" }, part(2, 0, 4, "pa"));
    await settle();
    const acks = () => link.sent.filter((f) => f.type === "ack");
    // The owed ack waits the usual 20 ms for company, and then answers the part too.
    expect(acks()).toEqual([]);
    clock.advance(20);
    expect(acks()).toEqual([{ type: "ack", seq: 1 }]);
  });

  it("skips the parts of a message it has, as a resume resends them", async () => {
    const { conn, factory, received } = setup();
    await settle();
    const link = factory.links[0]!;
    link.welcome();
    link.deliver({ type: "message", seq: 1, data: "one" }, part(1, 0, 6, "one"), part(1, 3, 6, "one"), part(2, 0, 3, "two"));
    await settle();
    expect(received).toEqual(["one", "two"]);
    expect(conn.state).toBe("open");
  });

  it("resumes when a part is missing, instead of delivering the message without it", async () => {
    const { conn, factory, clock, received } = setup();
    await settle();
    const first = factory.links[0]!;
    first.welcome();
    first.deliver(part(1, 0, 6, "AA"), part(1, 4, 6, "CC"));
    expect(conn.state).toBe("reconnecting");
    clock.advance(100);
    await settle();
    const second = factory.links[1]!;
    expect(second.options.hello).toMatchObject({ sessionId: "s1", ack: 0 });
    second.welcome({ resumed: true });
    second.deliver(part(1, 0, 6, "AA"), part(1, 2, 6, "BB"), part(1, 4, 6, "CC"));
    expect(received).toEqual(["AABBCC"]);
  });

  it("resumes on a part of a later message, and closes with PROTOCOL_ERROR on parts that disagree", async () => {
    const cases: [Frame, string][] = [
      [part(2, 0, 4, "xx"), "reconnecting"],
      [part(1, 2, 4, "AQ", true), "closed"],
      [part(1, 2, 3, "yy"), "closed"],
    ];
    for (const [stray, state] of cases) {
      const { conn, factory, received, errors } = setup();
      await settle();
      const link = factory.links[0]!;
      link.welcome();
      link.deliver(part(1, 0, 4, "ab"), stray);
      expect(conn.state).toBe(state);
      expect(received).toEqual([]);
      if (state === "closed") expect(errors.map((e) => e.code)).toEqual(["PROTOCOL_ERROR"]);
      conn.close();
    }
  });

  it("does not carry the ack that answered parts over to a new session, where it would be ahead of the server", async () => {
    const { factory, clock } = setup();
    await settle();
    const first = factory.links[0]!;
    first.welcome();
    first.deliver({ type: "message", seq: 1, data: "a" }, { type: "message", seq: 2, data: "b" });
    await settle();
    clock.advance(20);
    expect(first.sent).toContainEqual({ type: "ack", seq: 2 });
    // The link ends in the same task as the parts arrive: their ack is still queued.
    first.deliver(part(3, 0, 10, "half"));
    first.drop();
    clock.advance(100);
    await settle();
    const second = factory.links[1]!;
    second.welcome({ resumed: false, sessionId: "s2" });
    await settle();
    clock.advance(20);
    expect(second.sent.filter((f) => f.type === "ack")).toEqual([]);
  });

  it("a gap in the server's numbering resumes the session instead of dropping what follows", async () => {
    const { conn, factory, clock, received } = setup();
    await settle();
    const first = factory.links[0]!;
    first.welcome();
    first.deliver({ type: "message", seq: 1, data: "x" }, { type: "message", seq: 3, data: "z" });
    expect(received).toEqual(["x"]);
    expect(conn.state).toBe("reconnecting");
    expect(first.closed).toBe(true);
    clock.advance(100);
    await settle();
    const second = factory.links[1]!;
    expect(second.options.hello).toMatchObject({ sessionId: "s1", ack: 1 });
    second.welcome({ resumed: true });
    second.deliver({ type: "message", seq: 2, data: "y" }, { type: "message", seq: 3, data: "z" });
    expect(received).toEqual(["x", "y", "z"]);
  });

  it("holds a lone ack briefly so a reply can carry it, but not past 20 ms or 64 messages", async () => {
    const { conn, factory, clock } = setup();
    await settle();
    const link = factory.links[0]!;
    link.welcome();
    await settle();
    link.sent.length = 0;
    link.deliver({ type: "message", seq: 1, data: "a" });
    await settle();
    expect(link.sent).toEqual([]);
    conn.send("reply");
    await settle();
    expect(link.sent).toEqual([{ type: "ack", seq: 1 }, { type: "message", seq: 1, data: "reply" }]);
    link.sent.length = 0;
    link.deliver({ type: "message", seq: 2, data: "b" });
    await settle();
    clock.advance(19);
    expect(link.sent).toEqual([]);
    clock.advance(1);
    expect(link.sent).toEqual([{ type: "ack", seq: 2 }]);
    link.sent.length = 0;
    link.deliver(...Array.from({ length: 64 }, (_, i) => ({ type: "message" as const, seq: 3 + i, data: "x" })));
    await settle();
    expect(link.sent).toEqual([{ type: "ack", seq: 66 }]);
  });

  it("measures round-trip time from its ping to the matching pong", async () => {
    const { conn, factory, clock } = setup();
    await settle();
    const link = factory.links[0]!;
    link.welcome();
    await settle();
    const ping = link.sent.find((f) => f.type === "ping") as { id: number } | undefined;
    expect(ping).toBeDefined();
    clock.advance(42);
    link.deliver({ type: "pong", id: ping!.id });
    expect(conn.rtt).toBe(42);
  });

  /** An open connection whose server pings every second; `pings()` are the client's pings so far. */
  async function openWithPingInterval() {
    const { conn, factory, clock } = setup();
    await settle();
    const link = factory.links[0]!;
    link.welcome({ pingIntervalMs: 1000, pingTimeoutMs: 500 });
    await settle();
    const pings = () => link.sent.filter((f) => f.type === "ping") as { id: number }[];
    return { conn, clock, link, pings };
  }

  it("keeps the last rtt when the wall clock was set back between a ping and its pong", async () => {
    const { conn, clock, pings, link } = await openWithPingInterval();
    clock.advance(40);
    link.deliver({ type: "pong", id: pings()[0]!.id });
    clock.advance(1000);
    await settle();
    clock.jump(-5000);
    link.deliver({ type: "pong", id: pings()[1]!.id });
    expect(conn.rtt).toBe(40);
    conn.close();
  });

  it("measures rtt again every ping interval, and stops with the link", async () => {
    const { conn, clock, pings, link } = await openWithPingInterval();
    clock.advance(40);
    link.deliver({ type: "pong", id: pings()[0]!.id });
    expect(conn.rtt).toBe(40);
    clock.advance(999);
    await settle();
    expect(pings()).toHaveLength(1);
    clock.advance(1);
    await settle();
    expect(pings()).toHaveLength(2);
    clock.advance(7);
    link.deliver({ type: "pong", id: pings()[1]!.id });
    expect(conn.rtt).toBe(7);
    conn.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it("resumes after a drop: reconnects after the policy's delay and resends only what the server lacks", async () => {
    const { conn, factory, clock, log, opens } = setup();
    await settle();
    const first = factory.links[0]!;
    first.welcome();
    conn.send("m1");
    conn.send("m2");
    conn.send("m3");
    await settle();
    first.deliver({ type: "message", seq: 1, data: "s1" }, { type: "ack", seq: 1 });
    first.drop();
    expect(conn.state).toBe("reconnecting");
    conn.send("m4");
    clock.advance(99);
    expect(factory.links).toHaveLength(1);
    clock.advance(1);
    await settle();
    const second = factory.links[1]!;
    expect(second.options.hello).toEqual({ type: "hello", version: 1, sessionId: "s1", ack: 1, attempt: 2, connectionId: expect.any(String), parts: true });
    // A resume's hello moves the session: the transport proves its link first (a new session's does not wait).
    expect([first.options.holdHello, second.options.holdHello]).toEqual([false, true]);
    // One connection id for every link of the connection.
    expect((second.options.hello as { connectionId: string }).connectionId).toBe((factory.links[0]!.options.hello as { connectionId: string }).connectionId);
    second.welcome({ resumed: true, ack: 2 });
    await settle();
    expect(messages(second.sent)).toEqual(["m3", "m4"]);
    expect(second.sent.filter((f) => f.type === "message").map((f) => (f as { seq: number }).seq)).toEqual([3, 4]);
    expect(opens.at(-1)).toEqual({ transport: "websocket", resumed: true, sessionLost: false, resent: [] });
    // The retry's attempt is part of reconnecting: one outage, one state.
    expect(log).toEqual(["connecting->open", "open->reconnecting", "reconnecting->open"]);
  });

  it("tells the app when the session was lost and which messages it resent", async () => {
    const { conn, factory, clock, opens } = setup();
    await settle();
    factory.links[0]!.welcome();
    conn.send("a");
    conn.send("b");
    await settle();
    factory.links[0]!.deliver({ type: "ack", seq: 1 }, { type: "message", seq: 1, data: "old" });
    factory.links[0]!.drop();
    clock.advance(100);
    await settle();
    const second = factory.links[1]!;
    second.welcome({ sessionId: "s2", resumed: false });
    await settle();
    expect(conn.id).toBe("s2");
    expect(opens.at(-1)).toEqual({ transport: "websocket", resumed: false, sessionLost: true, resent: ["b"] });
    expect(second.sent.filter((f) => f.type === "message")).toEqual([{ type: "message", seq: 1, data: "b" }]);
    // Inbound numbering restarts with the new session.
    const received: unknown[] = [];
    conn.on("message", (d) => received.push(d));
    second.deliver({ type: "message", seq: 1, data: "new" });
    expect(received).toEqual(["new"]);
  });

  it("gives the app copies of the bytes it resent: changing them changes nothing sent", async () => {
    const { conn, factory, clock } = setup();
    await settle();
    factory.links[0]!.welcome();
    conn.send(new Uint8Array([1, 2, 3]));
    factory.links[0]!.drop();
    clock.advance(100);
    await settle();
    conn.on("open", ({ resent }) => (resent[0] as Uint8Array).fill(0));
    const second = factory.links[1]!;
    second.welcome({ sessionId: "s2", resumed: false });
    await settle();
    expect(messages(second.sent)).toEqual([new Uint8Array([1, 2, 3])]);
  });

  it("drops a silent link after interval + timeout and reconnects", async () => {
    const { conn, factory, clock } = setup();
    await settle();
    factory.links[0]!.welcome({ pingIntervalMs: 1000, pingTimeoutMs: 500 });
    clock.advance(1499);
    expect(conn.state).toBe("open");
    clock.advance(1);
    expect(conn.state).toBe("reconnecting");
    expect(factory.links[0]!.closed).toBe(true);
  });

  it("falls back to the next transport when one fails before the handshake", async () => {
    const ws = createFakeFactory("websocket");
    const streaming = createFakeFactory("streaming");
    const { conn } = setup({ factories: [ws, streaming] });
    await settle();
    ws.links[0]!.drop({ reason: "upgrade refused" });
    expect(streaming.links).toHaveLength(1);
    streaming.links[0]!.welcome();
    expect(conn.transport).toBe("streaming");
  });

  it("gives each transport connectTimeout, and fails over to the next when it runs out", async () => {
    const ws = createFakeFactory("websocket");
    const polling = createFakeFactory("polling");
    const { clock, conn } = setup({ factories: [ws, polling], connectTimeout: 3000, fallbackDelay: 5000 });
    await settle();
    clock.advance(2999);
    expect(polling.links).toHaveLength(0);
    clock.advance(1);
    expect(ws.links[0]!.closed).toBe(true);
    expect(polling.links).toHaveLength(1);
    clock.advance(3000);
    expect(polling.links[0]!.closed).toBe(true);
    expect(conn.state).toBe("reconnecting");
  });

  it("closes with RECONNECT_FAILED once the policy gives up", async () => {
    const { conn, factory, clock, errors, closes } = setup({ retryPolicy: fixedDelays(100) });
    await settle();
    factory.links[0]!.welcome();
    factory.links[0]!.drop();
    clock.advance(100);
    await settle();
    factory.links[1]!.drop();
    expect(conn.state).toBe("closed");
    expect(errors.map((e) => e.code)).toEqual(["RECONNECT_FAILED"]);
    expect(closes).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it("reopens a link its transport renews at once, without asking the retry policy or counting an attempt", async () => {
    const asked: number[] = [];
    const { conn, factory, clock, log, errors } = setup({ retryPolicy: { nextDelayMs: ({ attempt }) => (asked.push(attempt), null) } });
    await settle();
    for (let i = 0; i < 3; i++) {
      factory.links[i]!.welcome({ resumed: i > 0 });
      factory.links[i]!.drop({ reason: "stream renewed", renew: true });
      clock.advance(0); // the retry timer, due at once
      await settle();
    }
    factory.links[3]!.welcome({ resumed: true });
    expect(conn.state).toBe("open");
    expect(asked).toEqual([]);
    expect(errors).toEqual([]);
    expect(factory.links).toHaveLength(4);
    expect(log.filter((l) => l === "reconnecting->open")).toHaveLength(3);
  });

  // A renewed HTTP link's POST may still be on its way up: it goes on, and the driver ends it
  // when the connection ends, or once eight newer renewed links are kept.
  it("closes renewed links when the connection ends, and the oldest past eight, not before", async () => {
    const { conn, factory, clock } = setup();
    const closedByDriver: number[] = [];
    const open = factory.open.bind(factory);
    factory.open = (options) => {
      const index = factory.links.length;
      const transport = open(options);
      return { ...transport, close: () => void closedByDriver.push(index) };
    };
    const renew = async (i: number) => {
      factory.links[i]!.drop({ reason: "stream renewed", renew: true });
      clock.advance(0);
      await settle();
      factory.links[i + 1]!.welcome({ resumed: true });
    };
    await settle();
    factory.links[0]!.welcome();
    for (let i = 0; i < 8; i++) await renew(i);
    expect(closedByDriver).toEqual([]);
    await renew(8);
    expect(closedByDriver).toEqual([0]);
    conn.close();
    expect([...closedByDriver].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("closes at once on a close code that forbids retrying", async () => {
    const { conn, factory, errors, closes } = setup();
    await settle();
    factory.links[0]!.welcome();
    factory.links[0]!.deliver({ type: "close", code: 4102, reason: "too big" });
    expect(conn.state).toBe("closed");
    expect(errors[0]?.code).toBe("MESSAGE_TOO_LARGE");
    expect(closes).toEqual([{ code: 4102, reason: "too big", unacknowledged: [] }]);
  });

  it("reports a server close with code 1000 as a clean close, without an error", async () => {
    const { conn, factory, errors, closes } = setup();
    await settle();
    factory.links[0]!.welcome();
    factory.links[0]!.deliver({ type: "close", code: 1000, reason: "bye" });
    expect(conn.state).toBe("closed");
    expect(errors).toEqual([]);
    expect(closes).toEqual([{ code: 1000, reason: "bye", unacknowledged: [] }]);
  });

  it("close() sends what is queued plus a close frame, and leaves no timer behind", async () => {
    const { conn, factory, clock, closes } = setup();
    await settle();
    const link = factory.links[0]!;
    link.welcome();
    conn.send("last words");
    conn.close();
    expect(messages(link.sent)).toEqual(["last words"]);
    expect(link.sent.at(-1)).toEqual({ type: "close", code: 1000, reason: "closed by client" });
    expect(link.closed).toBe(true);
    expect(conn.state).toBe("closed");
    // Sent ahead of the close frame, but never acknowledged: the app is told.
    expect(closes).toEqual([{ code: 1000, reason: "closed by client", unacknowledged: ["last words"] }]);
    expect(clock.pendingTimers).toBe(0);
    expect(() => conn.send("more")).toThrow(expect.objectContaining({ code: "CLOSED" }));
  });

  it("close() while reconnecting cancels the retry timer", async () => {
    const { conn, factory, clock } = setup();
    await settle();
    factory.links[0]!.welcome();
    factory.links[0]!.drop();
    expect(clock.pendingTimers).toBe(1);
    conn.close();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(10_000);
    expect(factory.links).toHaveLength(1);
  });

  it("close() while reconnecting hands back, in order, every message the server never acknowledged", async () => {
    const { conn, factory, closes } = setup();
    await settle();
    factory.links[0]!.welcome();
    conn.send("acked");
    conn.send(new Uint8Array([7]));
    await settle();
    factory.links[0]!.deliver({ type: "ack", seq: 1 });
    factory.links[0]!.drop();
    conn.send("queued while reconnecting");
    conn.close();
    expect(closes).toEqual([{ code: 1000, reason: "closed by client", unacknowledged: [new Uint8Array([7]), "queued while reconnecting"] }]);
  });

  it("counts an ack that shares a batch with a message whose listener closes the connection", async () => {
    const { conn, factory, closes } = setup();
    await settle();
    factory.links[0]!.welcome();
    conn.send("answered");
    await settle();
    conn.on("message", () => conn.close());
    factory.links[0]!.deliver({ type: "message", seq: 1, data: "reply" }, { type: "ack", seq: 1 });
    expect(closes.map((close) => close.unacknowledged)).toEqual([[]]);
  });

  it("a listener that closes the connection is the last to hear of the event: none hears anything after close", async () => {
    const { conn, factory } = setup();
    const heard: string[] = [];
    conn.on("open", () => {
      heard.push("open 1");
      conn.close();
    });
    // Called after close, it would hear "open" of a closed connection (and a send() there throws CLOSED).
    conn.on("open", () => heard.push(`open 2 (${conn.state})`));
    conn.on("statechange", ({ to }) => heard.push(to));
    conn.on("close", ({ code }) => heard.push(`close ${code}`));
    conn.on("close", () => heard.push("close 2"));
    await settle();
    factory.links[0]!.welcome();
    await settle();
    expect(heard).toEqual(["open", "open 1", "closed", "close 1000", "close 2"]);
  });

  it("a connection that gives up hands back what the server never acknowledged with its close event", async () => {
    const { conn, factory, clock, closes } = setup({ retryPolicy: fixedDelays() });
    await settle();
    factory.links[0]!.welcome();
    conn.send("a");
    conn.send("b");
    await settle();
    factory.links[0]!.deliver({ type: "ack", seq: 1 });
    factory.links[0]!.drop();
    expect(conn.state).toBe("closed");
    expect(closes.map((close) => close.unacknowledged)).toEqual([["b"]]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("takes a listener for each of its events, and refuses a name it does not have (a typo would wait forever)", () => {
    const { conn } = setup();
    for (const event of ["open", "message", "statechange", "transport", "error", "close"] as const) expect(typeof conn.on(event, () => {})).toBe("function");
    expect(() => conn.on("opne" as never, () => {})).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringContaining('unknown event "opne"') }));
    conn.close();
  });

  it("rejects bad input with typed errors and loses nothing already queued", async () => {
    const { conn, factory } = setup();
    expect(() => conn.send(42 as never)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    // A buffer transferred away (to a worker, say) has no bytes left: typed, not slice()'s TypeError.
    const moved = new ArrayBuffer(8);
    const view = new Uint8Array(moved);
    structuredClone(moved, { transfer: [moved] });
    expect(() => conn.send(moved)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringContaining("detached") }));
    expect(() => conn.send(view)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringContaining("detached") }));
    conn.send("ok");
    await settle();
    factory.links[0]!.welcome({ maxMessageBytes: 4 });
    expect(() => conn.send("12345")).toThrow(expect.objectContaining({ code: "MESSAGE_TOO_LARGE" }));
    await settle();
    expect(messages(factory.links[0]!.sent)).toEqual(["ok"]);
  });

  it("send() of one message larger than buffer.maxBytes throws MESSAGE_TOO_LARGE, not BUFFER_FULL, and queues nothing", async () => {
    const { conn, factory } = setup({ buffer: { maxBytes: 8 } });
    expect(() => conn.send("123456789")).toThrow(expect.objectContaining({ code: "MESSAGE_TOO_LARGE" }));
    expect(() => conn.send(new Uint8Array(9))).toThrow(expect.objectContaining({ code: "MESSAGE_TOO_LARGE" }));
    conn.send("1234");
    expect(() => conn.send("12345")).toThrow(expect.objectContaining({ code: "BUFFER_FULL" }));
    expect(conn.bufferedMessages).toBe(1);
    await settle();
    factory.links[0]!.welcome();
    await settle();
    expect(messages(factory.links[0]!.sent)).toEqual(["1234"]);
  });

  it("before the first welcome, knows no size limit: send() queues a message over the usual 4 MiB, and the welcome's limit decides", async () => {
    const { conn, factory, errors } = setup();
    const large = "x".repeat(5 * 1024 * 1024);
    conn.send(large);
    conn.send("12345");
    conn.send("ok");
    await settle();
    expect(conn.bufferedMessages).toBe(3);
    factory.links[0]!.welcome({ maxMessageBytes: 8 * 1024 * 1024 });
    await settle();
    expect(messages(factory.links[0]!.sent)).toEqual([large, "12345", "ok"]);
    expect(errors).toEqual([]);
  });

  it("at the first welcome, takes out and reports the queued messages over the server's limit, and sends the rest", async () => {
    const { conn, factory, errors } = setup();
    conn.send("12345");
    conn.send("ok");
    await settle();
    factory.links[0]!.welcome({ maxMessageBytes: 4 });
    await settle();
    expect(messages(factory.links[0]!.sent)).toEqual(["ok"]);
    expect(errors).toEqual([expect.objectContaining({ code: "MESSAGE_TOO_LARGE", messages: ["12345"] })]);
    expect(conn.state).toBe("open");
    expect(conn.bufferedMessages).toBe(1);
  });

  it("closes with TRANSPORT_UNAVAILABLE when no transport can run here", async () => {
    const factory = createFakeFactory("websocket");
    factory.supported = false;
    const { conn, errors } = setup({ factories: [factory] });
    await settle();
    expect(conn.state).toBe("closed");
    expect(errors[0]?.code).toBe("TRANSPORT_UNAVAILABLE");
  });

  it("closes with the refusal's error when the only transport is refused for good before its handshake", async () => {
    const { conn, factory, errors, closes } = setup();
    await settle();
    factory.links[0]!.deliver({ type: "close", code: 4100, reason: "malformed hello" });
    expect(conn.state).toBe("closed");
    expect(errors.map((error) => [error.code, error.closeCode])).toEqual([["PROTOCOL_ERROR", 4100]]);
    expect(closes[0]?.code).toBe(4100);
  });

  it("ignores events from a link it has already left", async () => {
    const { conn, factory, clock, received } = setup();
    await settle();
    const first = factory.links[0]!;
    const handlers = first.options.handlers;
    first.welcome();
    first.drop();
    clock.advance(100);
    await settle();
    factory.links[1]!.welcome({ resumed: true });
    handlers.onFrames([{ type: "message", seq: 1, data: "stale" }]);
    handlers.onClose({ code: 1006, reason: "late" });
    expect(received).toEqual([]);
    expect(conn.state).toBe("open");
  });

  it("gives up with RECONNECT_FAILED when the policy allows no retry after a 4001, as after any loss", async () => {
    for (const close of [{ type: "close", code: 4001, reason: "replaced" } as const, undefined]) {
      const { factory, conn, errors } = setup({ retryPolicy: { nextDelayMs: () => null } });
      await settle();
      factory.links[0]!.welcome();
      await settle();
      if (close) factory.links[0]!.deliver(close);
      else factory.links[0]!.drop();
      expect(conn.state).toBe("closed");
      expect(errors.map((e) => e.code)).toEqual(["RECONNECT_FAILED"]);
    }
  });

  it("tells the retry policy how long the outage has lasted, from connect() for a first connection that fails", async () => {
    const elapsed: number[] = [];
    const { factory, clock } = setup({ startAt: 1_700_000_000_000, retryPolicy: { nextDelayMs: ({ elapsedMs }) => (elapsed.push(elapsedMs), 100) } });
    await settle();
    clock.advance(40);
    factory.links[0]!.drop();
    clock.advance(100);
    await settle();
    clock.advance(60);
    factory.links[1]!.drop();
    expect(elapsed).toEqual([40, 200]);
  });
});
