import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import type { Clock } from "../../src/clock.js";
import { createManualClock } from "@lifeline/testkit";
import { decodeBatch, encodeBatch } from "@lifeline/protocol";
import type { ClientFrame, Frame } from "@lifeline/protocol";
import { connect } from "@lifeline/client";
import type { Connection, ConnectionEvents } from "@lifeline/client";
import { webSocket } from "../../src/transports/websocket.js";
import type { LinkClose } from "../../src/transports/transport.js";
import { FakeWebSocket } from "../helpers/fake-websocket.js";
import { settle, welcomeFrame } from "../helpers/fake-transport.js";

const hello: ClientFrame = { type: "hello", version: 1, ack: 0 };
const WebSocket = FakeWebSocket as unknown as typeof globalThis.WebSocket;

afterEach(() => FakeWebSocket.reset());

/** A FakeWebSocket with what Node's `ws` adds: terminate(), and bytes still to go up. */
class TerminableWebSocket extends FakeWebSocket {
  bufferedAmount = 0;
  terminated = 0;
  terminate(): void {
    this.terminated++;
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: "", wasClean: false } as CloseEvent);
  }
}

function open(url = "http://example.test/lifeline", query = "", holdHello?: boolean, clock: Clock = systemClock, WebSocketClass = WebSocket) {
  const frames: Frame[] = [];
  const closes: LinkClose[] = [];
  const alive: string[] = [];
  const transport = webSocket.open({
    url,
    query,
    hello,
    holdHello,
    clock,
    caps: { WebSocket: WebSocketClass },
    handlers: { onFrames: (f) => frames.push(...f), onClose: (info) => closes.push(info), onAlive: () => alive.push("alive"), onProgress: () => alive.push("progress") },
  });
  return { transport, frames, closes, alive, socket: FakeWebSocket.last };
}

describe("websocket transport", () => {
  it("connects to P/ws with the ws scheme and the user's query", () => {
    open("https://example.test/lifeline", "token=abc");
    expect(FakeWebSocket.last.url).toBe("wss://example.test/lifeline/ws?token=abc");
  });

  it("sends hello as the first frame once open, and passes batches on in order", () => {
    const { socket, frames, alive } = open();
    expect(socket.sent).toEqual([]);
    expect(alive).toEqual([]);
    socket.open();
    // The upgrade went through: the race may tell a slow candidate from a silent one.
    expect(alive).toEqual(["alive"]);
    expect(socket.sent.map(decodeBatch)).toEqual([[hello]]);
    const welcome = welcomeFrame();
    socket.receive(encodeBatch([welcome, { type: "message", seq: 1, data: "a" }]));
    socket.receive(encodeBatch([{ type: "message", seq: 2, data: new Uint8Array([0, 255]) }]));
    expect(frames).toEqual([welcome, { type: "message", seq: 1, data: "a" }, { type: "message", seq: 2, data: new Uint8Array([0, 255]) }]);
  });

  it("holding its hello (a resume, an upgrade probe), sends a lone ping first, and its hello and life only once the pong proves frames flow both ways", () => {
    const { socket, frames, closes, alive } = open(undefined, undefined, true);
    socket.open();
    expect(socket.sent.map(decodeBatch)).toEqual([[{ type: "ping", id: 0 }]]);
    // An upgrade that carries nothing back is no life (the race must not wait on it), only a step.
    expect(alive).toEqual(["progress"]);
    socket.receive(encodeBatch([{ type: "pong", id: 0 }]));
    expect(alive).toEqual(["progress", "alive"]);
    // The pong is the transport's own business: the race still sees the welcome first.
    expect(frames).toEqual([]);
    expect(socket.sent.map(decodeBatch)).toEqual([[{ type: "ping", id: 0 }], [hello]]);
    const welcome = welcomeFrame();
    socket.receive(encodeBatch([welcome, { type: "pong", id: 0 }]));
    expect(frames).toEqual([welcome, { type: "pong", id: 0 }]);
    expect(socket.sent).toHaveLength(2);
    expect(closes).toEqual([]);
  });

  it("holding its hello, passes on a refusal that comes instead of the pong, and never sends its hello", () => {
    const { socket, frames } = open(undefined, undefined, true);
    socket.open();
    const refusal: Frame = { type: "close", code: 4103, reason: "origin not allowed" };
    socket.receive(encodeBatch([refusal]));
    expect(frames).toEqual([refusal]);
    expect(socket.sent.map(decodeBatch)).toEqual([[{ type: "ping", id: 0 }]]);
  });

  it("sends frames as one text message per batch", () => {
    const { socket, transport } = open();
    socket.open();
    transport.send([{ type: "message", seq: 1, data: "x" }, { type: "message", seq: 2, data: new Uint8Array([1]) }, { type: "ack", seq: 3 }]);
    expect(socket.sent).toHaveLength(2);
    expect(socket.sent[1]).toBe('["m",1,"x"]\n["b",2,"AQ=="]\n["a",3]');
  });

  it("treats a binary WebSocket message as a protocol error and closes with 4100", () => {
    const { socket, closes, frames } = open();
    socket.open();
    socket.receive(new Uint8Array([91, 93]).buffer);
    expect(frames).toEqual([]);
    expect(closes).toHaveLength(1);
    expect(closes[0]!.code).toBe(4100);
    expect(closes[0]!.error?.code).toBe("PROTOCOL_ERROR");
    expect(socket.closeCalls).toEqual([{ code: 4100, reason: undefined }]);
  });

  it("treats a malformed batch as a protocol error", () => {
    const { socket, closes } = open();
    socket.open();
    socket.receive("not json");
    expect(closes.map((c) => [c.code, c.error?.code])).toEqual([[4100, "PROTOCOL_ERROR"]]);
  });

  it.each([
    { code: 1001, error: "CLOSED_BY_SERVER" },
    { code: 1011, error: "CLOSED_BY_SERVER" },
    { code: 4000, error: "HEARTBEAT_TIMEOUT" },
    { code: 4001, error: "TRANSPORT_ERROR" },
    { code: 4100, error: "PROTOCOL_ERROR" },
    { code: 4101, error: "UNSUPPORTED_VERSION" },
    { code: 4102, error: "MESSAGE_TOO_LARGE" },
    { code: 4103, error: "ORIGIN_NOT_ALLOWED" },
    // WebSocket's own: the same payload or endpoint would fail again, so these are not retried.
    { code: 1009, error: "MESSAGE_TOO_LARGE" },
    { code: 1002, error: "PROTOCOL_ERROR" },
    { code: 1007, error: "PROTOCOL_ERROR" },
    { code: 1008, error: "TRANSPORT_ERROR" },
  ])("maps close code $code to $error", ({ code, error }) => {
    const { socket, closes } = open();
    socket.open();
    socket.serverClose(code, "why");
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({ code, reason: "why" });
    expect(closes[0]!.error).toMatchObject({ code: error, closeCode: code });
  });

  // The server says why in a close frame before it closes; a code without one is from a
  // middlebox (or an app server that is not Lifeline's), so the link is lost, not refused.
  it.each([1000, 1005, 1012, 1013, 1014])("reports infrastructure close code %i as a lost link (1006)", (code) => {
    const { socket, closes } = open();
    socket.open();
    socket.serverClose(code);
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({ code: 1006, reason: `WebSocket closed (${code})` });
    expect(closes[0]!.error).toMatchObject({ code: "TRANSPORT_ERROR", closeCode: 1006 });
  });

  it("reports a dropped socket (error, then close 1006) once, as TRANSPORT_ERROR", () => {
    const { socket, closes } = open();
    socket.open();
    socket.drop();
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({ code: 1006, reason: "WebSocket lost" });
    expect(closes[0]!.error).toMatchObject({ code: "TRANSPORT_ERROR", closeCode: 1006 });
  });

  it.each([
    ["CLOSED (Chromium, for a WebSocket CSP refuses)", 3],
    ["CONNECTING (Node's global WebSocket, undici, for a failed handshake)", 0],
  ])("ends the link after an error that leaves the socket %s with no close event", (_, readyState) => {
    const clock = createManualClock();
    const { socket, closes } = open(undefined, undefined, false, clock);
    socket.readyState = readyState;
    socket.onerror?.(new Event("error"));
    // The close event would come in the same task: the link waits that long for it.
    expect(closes).toEqual([]);
    clock.advance(0);
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({ code: 1006, reason: "WebSocket failed" });
    expect(closes[0]!.error).toMatchObject({ code: "TRANSPORT_ERROR", closeCode: 1006 });
    expect(clock.pendingTimers).toBe(0);
  });

  it("takes the close event that follows an error for the ending, leaving no timer behind", () => {
    const clock = createManualClock();
    const { socket, closes } = open(undefined, undefined, false, clock);
    socket.open();
    socket.drop();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(0);
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({ code: 1006, reason: "WebSocket lost" });
  });

  it("keeps waiting for the close event after an error while the socket is still closing (Node's ws)", () => {
    const clock = createManualClock();
    const { socket, closes } = open(undefined, undefined, false, clock);
    socket.open();
    socket.readyState = 2;
    socket.onerror?.(new Event("error"));
    clock.advance(1000);
    expect(closes).toEqual([]);
    socket.serverClose(1002, "bad frame");
    expect(closes).toMatchObject([{ code: 1002, reason: "bad frame" }]);
  });

  it("reports a close event without a code as 1006", () => {
    const { socket, closes } = open();
    socket.serverClose(0);
    expect(closes.map((c) => c.code)).toEqual([1006]);
  });

  it("close() detaches every handler first and closes with 1000", () => {
    const { socket, transport, frames, closes } = open();
    socket.open();
    transport.close();
    transport.close();
    expect(socket.onopen).toBeNull();
    expect(socket.onmessage).toBeNull();
    expect(socket.onclose).toBeNull();
    // ws throws on an 'error' event nobody listens to, so a no-op stays attached.
    expect(socket.onerror).toBeTypeOf("function");
    expect(() => socket.drop()).not.toThrow();
    expect(socket.closeCalls).toEqual([{ code: 1000, reason: undefined }]);
    expect(frames).toEqual([]);
    expect(closes).toEqual([]);
  });

  it("terminates a closed `ws` socket whose peer stays silent, once what it had to send is out (ws would hold it 30 s)", () => {
    const clock = createManualClock();
    /** A link over a socket with terminate(), opened. */
    const openTerminable = () => {
      const link = open(undefined, undefined, false, clock, TerminableWebSocket as unknown as typeof globalThis.WebSocket);
      const socket = link.socket as TerminableWebSocket;
      socket.open();
      return { ...link, socket };
    };
    // The peer never answers: terminated after 10 s.
    const silent = openTerminable();
    silent.transport.close();
    expect(silent.socket.closeCalls).toEqual([{ code: 1000, reason: undefined }]);
    clock.advance(9999);
    expect(silent.socket.terminated).toBe(0);
    clock.advance(1);
    expect(silent.socket.terminated).toBe(1);
    expect(clock.pendingTimers).toBe(0);

    // Bytes still going up (a message, the close frame): it waits until they are out.
    const busy = openTerminable();
    busy.socket.bufferedAmount = 10_000;
    busy.transport.close();
    clock.advance(25_000);
    expect(busy.socket.terminated).toBe(0);
    busy.socket.bufferedAmount = 0;
    clock.advance(10_000);
    expect(busy.socket.terminated).toBe(1);
    expect(clock.pendingTimers).toBe(0);

    // A peer still talking (a server pinging while it reads a large batch) is alive: it waits on.
    const talking = openTerminable();
    talking.transport.close();
    for (let i = 0; i < 4; i++) {
      clock.advance(5000);
      talking.socket.receive(encodeBatch([{ type: "ping", id: i }]));
    }
    expect(talking.socket.terminated).toBe(0);
    clock.advance(10_000);
    expect(talking.socket.terminated).toBe(1);
    expect(clock.pendingTimers).toBe(0);

    // A server whose heartbeat pings less often while it reads (every 15 s here, half its
    // timeout) is given twice that.
    const slowPings = openTerminable();
    slowPings.socket.receive(encodeBatch([welcomeFrame({ pingIntervalMs: 30_000, pingTimeoutMs: 30_000 })]));
    slowPings.transport.close();
    clock.advance(29_999);
    expect(slowPings.socket.terminated).toBe(0);
    clock.advance(1);
    expect(slowPings.socket.terminated).toBe(1);

    // The peer answers the close: nothing to terminate, no timer left. A failed link is closed the same way.
    const answered = openTerminable();
    answered.socket.receive(new ArrayBuffer(1));
    expect(answered.closes.map((c) => c.code)).toEqual([4100]);
    answered.socket.serverClose(4100);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(20_000);
    expect(answered.socket.terminated).toBe(0);
    expect(answered.closes).toHaveLength(1);
  });

  it("leaves a socket without terminate() (browsers, React Native) to close itself, with no timer", () => {
    const clock = createManualClock();
    const { socket, transport } = open(undefined, undefined, false, clock);
    socket.open();
    transport.close();
    expect(socket.closeCalls).toEqual([{ code: 1000, reason: undefined }]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("reports a constructor that throws as a failed link, but only after open() returned", async () => {
    FakeWebSocket.throwOnCreate = true;
    const closes: LinkClose[] = [];
    webSocket.open({ url: "http://x", query: "", hello, caps: { WebSocket }, clock: systemClock, handlers: { onFrames: () => {}, onClose: (i) => closes.push(i) } });
    expect(closes).toEqual([]);
    await settle();
    expect(closes).toHaveLength(1);
    expect(closes[0]!.error?.code).toBe("TRANSPORT_ERROR");
  });
});

describe("connect() over a fake WebSocket", () => {
  let conn: Connection | undefined;
  afterEach(() => {
    conn?.close();
    conn = undefined;
  });

  const start = () => {
    conn = connect("http://example.test/lifeline", { WebSocket, reconnect: { initialDelay: 0, jitter: 0 } });
    const states: ConnectionEvents["statechange"][] = [];
    const errors: ConnectionEvents["error"][] = [];
    const messages: unknown[] = [];
    conn.on("statechange", (s) => states.push(s));
    conn.on("error", (e) => errors.push(e));
    conn.on("message", (m) => messages.push(m));
    return { conn, states, errors, messages };
  };
  const welcome = (overrides = {}) => encodeBatch([welcomeFrame({ pingIntervalMs: 60_000, pingTimeoutMs: 60_000, ...overrides })]);

  it("picks websocket first when a WebSocket is given, and sends the close frame on close()", async () => {
    const { conn, messages } = start();
    await settle();
    const socket = FakeWebSocket.last;
    socket.open();
    socket.receive(welcome() + "\n" + encodeBatch([{ type: "message", seq: 1, data: "hi" }]));
    expect(conn.state).toBe("open");
    expect(conn.transport).toBe("websocket");
    expect(messages).toEqual(["hi"]);
    conn.close();
    const last = decodeBatch(socket.sent.at(-1)!);
    expect(last.at(-1)).toEqual({ type: "close", code: 1000, reason: "closed by client" });
    expect(socket.closeCalls).toEqual([{ code: 1000, reason: undefined }]);
    expect(socket.onmessage).toBeNull();
  });

  it("reconnects after a load balancer's close 1012, but closes on the server's close frame 1000", async () => {
    const { conn, states, errors } = start();
    const closes: ConnectionEvents["close"][] = [];
    conn.on("close", (c) => closes.push(c));
    await settle();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive(welcome());
    FakeWebSocket.last.serverClose(1012, "service restart");
    expect(conn.state).toBe("reconnecting");
    while (FakeWebSocket.instances.length < 2) await settle();
    const second = FakeWebSocket.last;
    second.open();
    second.receive(welcome({ resumed: true }));
    expect(conn.state).toBe("open");
    second.receive(encodeBatch([{ type: "close", code: 1000, reason: "bye" }]));
    second.serverClose(1000, "bye");
    expect(conn.state).toBe("closed");
    expect(states.map((s) => s.to)).toEqual(["open", "reconnecting", "open", "closed"]);
    expect(closes).toEqual([{ code: 1000, reason: "bye", unacknowledged: [] }]);
    expect(errors).toEqual([]); // closed on purpose
  });

  it("reconnects with the session id after close code 1006 and stops on 4103", async () => {
    const { conn, states, errors } = start();
    await settle();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive(welcome());
    FakeWebSocket.last.drop();
    expect(conn.state).toBe("reconnecting");
    expect(states.at(-1)!.error?.code).toBe("TRANSPORT_ERROR");
    while (FakeWebSocket.instances.length < 2) await settle();
    const second = FakeWebSocket.last;
    second.open();
    // A resume's hello waits until a ping came back: it moves the session.
    expect(second.sent.map(decodeBatch)).toEqual([[{ type: "ping", id: 0 }]]);
    second.receive(encodeBatch([{ type: "pong", id: 0 }]));
    expect(decodeBatch(second.sent[1]!)).toEqual([{ type: "hello", version: 1, sessionId: "s1", ack: 0, attempt: 2, connectionId: expect.any(String), parts: true }]);
    second.receive(welcome({ resumed: true }));
    expect(conn.state).toBe("open");
    second.receive(encodeBatch([{ type: "close", code: 4103, reason: "origin not allowed" }]));
    expect(conn.state).toBe("closed");
    expect(errors.map((e) => e.code)).toEqual(["ORIGIN_NOT_ALLOWED"]);
  });

  it("resumes with its hello at once on a server whose welcome does not say it answers a ping first (an older one)", async () => {
    const { conn } = start();
    await settle();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive(welcome({ pingFirst: undefined }));
    FakeWebSocket.last.drop();
    while (FakeWebSocket.instances.length < 2) await settle();
    const second = FakeWebSocket.last;
    second.open();
    // Such a server would refuse a ping before hello with 4100: the hello goes first.
    expect(second.sent.map(decodeBatch)).toEqual([[expect.objectContaining({ type: "hello", sessionId: "s1" })]]);
    second.receive(welcome({ resumed: true }));
    expect(conn.state).toBe("open");
  });
});
