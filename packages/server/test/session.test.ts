import { runInNewContext } from "node:vm";
import { decodeBatch } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import { describe, expect, it, vi } from "vitest";
import type { CloseInfo, Link, TransportName } from "../src/link.js";
import { resolveOptions } from "../src/options.js";
import type { ServerOptions } from "../src/options.js";
import type { SessionCore } from "../src/session.js";
import { createSession } from "../src/session.js";
import { createManualClock } from "@lifeline/testkit";
import { text } from "./helpers/wire.js";

interface FakeLink extends Link {
  /** Each write() as the list of frames it carried. */
  readonly writes: Frame[][];
  readonly ends: (CloseInfo | undefined)[];
  readonly frames: Frame[];
}

function fakeLink(transport: TransportName = "websocket"): FakeLink {
  const writes: Frame[][] = [];
  const ends: (CloseInfo | undefined)[] = [];
  return {
    transport,
    writes,
    ends,
    get frames() {
      return writes.flat();
    },
    write: (lines) => void writes.push(decodeBatch(lines.join("\n"))),
    end: (close, lines = []) => {
      if (lines.length) writes.push(decodeBatch(lines.join("\n")));
      ends.push(close);
    },
  };
}

function setup(overrides: ServerOptions = {}) {
  const clock = createManualClock();
  const options = resolveOptions({ heartbeat: { interval: 1000, timeout: 500 }, resumeWindow: 5000, clock, ...overrides });
  let queued: (() => void)[] = [];
  const removed: SessionCore[] = [];
  const core = createSession({ id: "sid-1", options, schedule: (flush) => void queued.push(flush), onClosed: (c) => void removed.push(c) });
  const closes: CloseInfo[] = [];
  const messages: (string | Uint8Array)[] = [];
  core.api.on("close", (info) => void closes.push(info));
  core.api.on("message", (data) => void messages.push(data));
  const flush = () => {
    const run = queued;
    queued = [];
    for (const f of run) f();
  };
  return { clock, core, session: core.api, flush, closes, messages, removed, pendingFlushes: () => queued.length };
}

describe("session: sending", () => {
  it("writes welcome at once on attach, then numbers messages from 1", () => {
    const { core, session, flush } = setup();
    const link = fakeLink();
    core.attach(link, false, 0);
    expect(link.writes).toHaveLength(1);
    expect(link.writes[0]![0]).toMatchObject({ type: "welcome", sessionId: "sid-1", resumed: false, ack: 0, pingIntervalMs: 1000, pingTimeoutMs: 500, resumeWindowMs: 5000 });
    session.send("a");
    session.send(new Uint8Array([0, 255]));
    flush();
    expect(link.writes[1]).toEqual([text(1, "a"), { type: "message", seq: 2, data: new Uint8Array([0, 255]) }]);
  });

  it("coalesces everything queued in one tick into one write, with one cumulative ack", () => {
    const { core, session, flush, pendingFlushes } = setup();
    const link = fakeLink();
    core.attach(link, false, 0);
    for (let i = 0; i < 100; i++) session.send(`m${i}`);
    core.receive([text(1, "x"), text(2, "y"), { type: "ping", id: 7 }], link);
    expect(pendingFlushes()).toBe(1);
    flush();
    expect(link.writes).toHaveLength(2);
    const batch = link.writes[1]!;
    expect(batch.filter((f) => f.type === "message")).toHaveLength(100);
    expect(batch.filter((f) => f.type === "ack")).toEqual([{ type: "ack", seq: 2 }]);
    expect(batch).toContainEqual({ type: "pong", id: 7 });
  });

  it("keeps unacknowledged messages across a lost link and replays them on resume after hello.ack", () => {
    const { core, session, flush } = setup();
    const first = fakeLink();
    core.attach(first, false, 0);
    session.send("1");
    session.send("2");
    session.send("3");
    flush();
    core.receive([{ type: "ack", seq: 1 }], first);
    core.detach(first, { code: 1006, reason: "lost" });
    expect(session.transport).toBeNull();
    session.send("4"); // while detached: buffered, not written anywhere
    expect(core.resumable(2)).toBe("ok");
    const second = fakeLink("polling");
    core.attach(second, true, 2);
    expect(session.transport).toBe("polling");
    expect(second.writes[0]).toEqual([
      expect.objectContaining({ type: "welcome", resumed: true, ack: 0 }),
      text(3, "3"),
      text(4, "4"),
    ]);
    flush();
    expect(second.writes).toHaveLength(1);
  });

  it("refuses to resume from a position it cannot replay, or one ahead of what it sent", () => {
    const { core, session, flush } = setup({ replayBuffer: { maxMessages: 2 } });
    core.attach(fakeLink(), false, 0);
    for (const m of ["1", "2", "3"]) session.send(m);
    flush();
    expect(core.resumable(0)).toBe("lost"); // message 1 was evicted
    expect(core.resumable(1)).toBe("ok");
    expect(core.resumable(3)).toBe("ok");
    expect(core.resumable(4)).toBe("ahead");
  });

  it("acks trim the replay buffer; a resume from before the ack replays from the ack", () => {
    const { core, session, flush } = setup();
    const link = fakeLink();
    core.attach(link, false, 0);
    session.send("1");
    session.send("2");
    flush();
    expect(core.resumable(0)).toBe("ok");
    core.receive([{ type: "ack", seq: 2 }], link);
    // The client acknowledged 1 and 2, so it has them whatever position its hello names.
    expect(core.resumable(0)).toBe("ok");
    expect(core.resumable(2)).toBe("ok");
    expect(core.resumable(3)).toBe("ahead");
  });

  it("throws INVALID_ARGUMENT for an event it does not have and for a listener that is not a function", () => {
    const { session } = setup();
    expect(() => session.on("mesage" as never, () => {})).toThrow(
      expect.objectContaining({ name: "LifelineServerError", code: "INVALID_ARGUMENT", message: 'unknown session event "mesage" (known: message, close)' }),
    );
    expect(() => session.on("message", null as never)).toThrow(expect.objectContaining({ name: "LifelineServerError", code: "INVALID_ARGUMENT" }));
    const seen: string[] = [];
    session.on("message", (data) => seen.push(String(data)));
    session.on("close", () => seen.push("close"));
    session.close();
    expect(seen).toEqual(["close"]);
  });

  it("throws typed errors for oversized messages, bad data and sends after close", () => {
    const { session } = setup({ maxMessageSize: 4 });
    expect(() => session.send("12345")).toThrow(expect.objectContaining({ code: "MESSAGE_TOO_LARGE" }));
    expect(() => session.send("€€")).toThrow(expect.objectContaining({ code: "MESSAGE_TOO_LARGE" })); // 6 UTF-8 bytes
    expect(() => session.send(42 as never)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    session.send("1234");
    session.close();
    expect(() => session.send("x")).toThrow(expect.objectContaining({ code: "SESSION_CLOSED" }));
  });

  it("refuses the bytes of a buffer transferred away, and takes a Uint8Array of another realm or an empty one", () => {
    const { core, session, flush } = setup();
    const link = fakeLink();
    core.attach(link, false, 0);
    const moved = new ArrayBuffer(4);
    const view = new Uint8Array(moved);
    structuredClone(moved, { transfer: [moved] });
    expect(() => session.send(view)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringContaining("detached") }));
    session.send(new Uint8Array(0));
    session.send(runInNewContext("new Uint8Array([7, 8])") as Uint8Array);
    flush();
    expect(link.frames.filter((f) => f.type === "message")).toEqual([
      { type: "message", seq: 1, data: new Uint8Array(0) },
      { type: "message", seq: 2, data: new Uint8Array([7, 8]) },
    ]);
  });
});

describe("session: receiving", () => {
  it("reports the first message no listener heard, once, and acknowledges it as any other", () => {
    const clock = createManualClock();
    const options = resolveOptions({ clock });
    const unheard: string[] = [];
    let queued: (() => void)[] = [];
    const core = createSession({ id: "sid-u", options, schedule: (f) => void queued.push(f), onClosed: () => {}, onUnheard: (c) => void unheard.push(c.id) });
    const link = fakeLink();
    core.attach(link, false, 0);
    core.receive([text(1, "a"), text(2, "b")], link);
    core.receive([text(3, "c")], link);
    queued.splice(0).forEach((f) => f());
    expect(unheard).toEqual(["sid-u"]);
    expect(link.frames.filter((f) => f.type === "ack")).toEqual([{ type: "ack", seq: 3 }]);
    // Heard messages are not reported, nor are those of a session whose app stopped listening.
    const quiet: string[] = [];
    const other = createSession({ id: "sid-h", options, schedule: () => {}, onClosed: () => {}, onUnheard: (c) => void quiet.push(c.id) });
    const stop = other.api.on("message", () => {});
    const otherLink = fakeLink();
    other.attach(otherLink, false, 0);
    other.receive([text(1, "a")], otherLink);
    stop();
    other.receive([text(2, "b")], otherLink);
    expect(quiet).toEqual([]);
  });

  it("delivers each seq once and in order: duplicates dropped, gaps ignored", () => {
    const { core, messages, flush } = setup();
    const link = fakeLink();
    core.attach(link, false, 0);
    core.receive([text(1, "a"), text(1, "a"), text(3, "c"), text(2, "b"), text(2, "b")], link);
    expect(messages).toEqual(["a", "b"]);
    core.receive([text(3, "c")], link);
    expect(messages).toEqual(["a", "b", "c"]);
    flush();
    expect(link.frames.filter((f) => f.type === "ack")).toEqual([{ type: "ack", seq: 3 }]);
  });

  it("welcome on resume carries the last client seq delivered", () => {
    const { core } = setup();
    const first = fakeLink();
    core.attach(first, false, 0);
    core.receive([text(1, "a"), text(2, "b")], first);
    const second = fakeLink();
    core.attach(second, true, 0);
    expect(second.writes[0]![0]).toMatchObject({ type: "welcome", resumed: true, ack: 2 });
    expect(first.ends).toEqual([{ code: 4001, reason: expect.any(String) }]);
  });

  it("ignores frames from a link that was replaced", () => {
    const { core, messages } = setup();
    const first = fakeLink();
    core.attach(first, false, 0);
    core.attach(fakeLink(), true, 0);
    core.receive([text(1, "late")], first);
    expect(messages).toEqual([]);
  });

  it("closes with 4102 on a message over maxMessageBytes", () => {
    const { core, closes, removed } = setup({ maxMessageSize: 3 });
    const link = fakeLink();
    core.attach(link, false, 0);
    expect(core.receive([text(1, "abcd")], link)).toMatchObject({ code: 4102 });
    expect(closes).toEqual([{ code: 4102, reason: expect.stringContaining("over maxMessageBytes") }]);
    expect(link.ends[0]).toMatchObject({ code: 4102 });
    expect(removed).toEqual([core]);
  });

  it("closes with 4100 on an ack ahead of what was sent, and on a second hello", () => {
    const a = setup();
    const link = fakeLink();
    a.core.attach(link, false, 0);
    expect(a.core.receive([{ type: "ack", seq: 1 }], link)).toMatchObject({ code: 4100 });
    expect(a.closes[0]!.code).toBe(4100);
    const b = setup();
    b.core.attach(fakeLink(), false, 0);
    expect(b.core.receive([{ type: "hello", version: 1, ack: 0 }])).toMatchObject({ code: 4100 });
  });

  it("ends on the client's close frame with its code, without writing to the link", () => {
    const { core, session, closes, flush } = setup();
    const link = fakeLink();
    core.attach(link, false, 0);
    session.send("queued");
    core.receive([{ type: "close", code: 1000, reason: "bye" }], link);
    flush();
    expect(closes).toEqual([{ code: 1000, reason: "bye" }]);
    expect(link.ends).toEqual([undefined]);
    expect(link.writes).toHaveLength(1); // only the welcome
  });
});

describe("session: closing, heartbeat, resume window", () => {
  it("close() writes what is queued, then the close frame, once", () => {
    const { core, session, closes, flush } = setup();
    const link = fakeLink();
    core.attach(link, false, 0);
    session.send("last words");
    session.close(4321, "done");
    session.close();
    flush();
    expect(link.writes[1]).toEqual([text(1, "last words")]);
    expect(link.ends).toEqual([{ code: 4321, reason: "done" }]);
    expect(closes).toEqual([{ code: 4321, reason: "done" }]);
    expect(() => session.close(1000, "again")).not.toThrow(); // closed already: a no-op
  });

  it("rejects close codes a WebSocket close frame cannot carry, and 4001, which is the server's own", () => {
    const { session, core } = setup();
    for (const code of [999, 1004, 1005, 1006, 1015, 2000, 2999, 4001, 5000, 4000.5]) {
      expect(() => session.close(code), String(code)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
    expect(core.closed).toBe(false);
    for (const code of [1000, 1003, 1007, 1014, 3000, 4000, 4002, 4999]) {
      const other = setup();
      other.session.close(code);
      expect(other.core.closed, String(code)).toBe(true);
    }
  });

  it("answers a batch's pings with one pong, for the last of them, ahead of the app's replies", () => {
    const { core, session, flush } = setup();
    session.on("message", () => session.send("reply"));
    const link = fakeLink();
    core.attach(link, false, 0);
    core.receive([{ type: "ping", id: 4 }, text(1, "x"), { type: "ping", id: 5 }, { type: "ping", id: 6 }], link);
    flush();
    expect(link.frames.filter((f) => f.type === "pong")).toEqual([{ type: "pong", id: 6 }]);
    // Where the first ping sat: a reply written after it would count in the sender's rtt.
    expect(link.frames.map((f) => f.type).filter((type) => type === "pong" || type === "message")).toEqual(["pong", "message"]);
    core.receive([{ type: "ping", id: 7 }], link);
    flush();
    expect(link.frames.filter((f) => f.type === "pong")).toEqual([
      { type: "pong", id: 6 },
      { type: "pong", id: 7 },
    ]);
  });

  it("pings on the link every interval", () => {
    const { core, clock, flush } = setup();
    const link = fakeLink();
    core.attach(link, false, 0);
    clock.advance(1000);
    core.touch();
    flush();
    clock.advance(1000);
    flush();
    expect(link.frames.filter((f) => f.type === "ping")).toEqual([
      { type: "ping", id: 1 },
      { type: "ping", id: 2 },
    ]);
  });

  it("drops a silent link with 4000 and closes after the resume window with that code", () => {
    const { core, clock, closes, removed } = setup();
    const link = fakeLink();
    core.attach(link, false, 0);
    clock.advance(1499);
    expect(link.ends).toEqual([]);
    clock.advance(1);
    expect(link.ends).toEqual([{ code: 4000, reason: "heartbeat timeout" }]);
    expect(core.api.transport).toBeNull();
    expect(closes).toEqual([]);
    clock.advance(4999);
    expect(closes).toEqual([]);
    clock.advance(1);
    expect(closes).toEqual([{ code: 4000, reason: expect.stringContaining("resume window expired") }]);
    expect(removed).toEqual([core]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("a resume within the window keeps the session", () => {
    const { core, clock, closes } = setup();
    const first = fakeLink();
    core.attach(first, false, 0);
    core.detach(first, { code: 1006, reason: "lost" });
    clock.advance(4000);
    core.attach(fakeLink(), true, 0);
    clock.advance(1400);
    core.touch();
    clock.advance(1400);
    core.touch();
    expect(closes).toEqual([]);
  });

  it("a tracked session the client never answered waits one heartbeat window, not the resume window", () => {
    /** A session started by a hello with a cid, on a link. */
    const tracked = (overrides: ServerOptions = {}) => {
      const started = setup(overrides);
      started.core.connectionId = "client-1";
      const link = fakeLink();
      started.core.attach(link, false, 0);
      return { ...started, link };
    };
    const unanswered = tracked();
    unanswered.core.detach(unanswered.link, { code: 1006, reason: "lost" });
    unanswered.clock.advance(1499);
    expect(unanswered.closes).toEqual([]);
    unanswered.clock.advance(1);
    expect(unanswered.closes).toEqual([{ code: 1006, reason: expect.stringContaining("resume window expired") }]);
    expect(unanswered.removed).toEqual([unanswered.core]);

    // Once the client answered (its ping after the welcome), a lost link leaves the whole window.
    const answered = tracked();
    answered.core.receive([{ type: "ping", id: 1 }], answered.link);
    answered.core.detach(answered.link, { code: 1006, reason: "lost" });
    answered.clock.advance(4999);
    expect(answered.closes).toEqual([]);
    answered.clock.advance(1);
    expect(answered.closes).toHaveLength(1);

    // A window shorter than the heartbeat's is kept as it is.
    const short = tracked({ resumeWindow: 700 });
    short.core.detach(short.link, { code: 1006, reason: "lost" });
    short.clock.advance(699);
    expect(short.closes).toEqual([]);
    short.clock.advance(1);
    expect(short.closes).toHaveLength(1);
  });

  it("a resume window of 0 closes at once when the link is lost", () => {
    const { core, closes } = setup({ resumeWindow: 0 });
    const link = fakeLink();
    core.attach(link, false, 0);
    core.detach(link, { code: 1006, reason: "lost" });
    expect(closes).toEqual([{ code: 1006, reason: expect.any(String) }]);
  });

  it("a listener that throws does not break delivery; the error is rethrown outside", () => {
    const { core, session, messages } = setup();
    const link = fakeLink();
    core.attach(link, false, 0);
    const deferred: (() => void)[] = [];
    const spy = vi.spyOn(globalThis, "queueMicrotask").mockImplementation((fn) => void deferred.push(fn));
    try {
      session.on("message", () => {
        throw new Error("app bug");
      });
      core.receive([text(1, "a"), text(2, "b")], link);
    } finally {
      spy.mockRestore();
    }
    expect(messages).toEqual(["a", "b"]);
    expect(deferred).toHaveLength(2);
    expect(() => deferred[0]!()).toThrow("app bug");
  });
});
