import { describe, expect, it } from "vitest";
import { cleanupAfterEach, openThroughProxy, sendThrottledBurst, until } from "../helpers/integration.js";
import type { TransportName } from "@lifeline/client";

/**
 * A burst from the server that takes longer to come down than the heartbeat allows a silent
 * link: the server sends it in pieces, each of which arrives well within the window, so the link
 * stays up and every message arrives once. Sent whole over WebSocket or in one poll answer, the
 * client would see nothing until the end, drop the link, and get the same burst on every resume.
 */

// The link may be silent for 1 s; a piece (two messages) needs about 0.5 s, the burst about 3 s.
const HEARTBEAT = { interval: 500, timeout: 500 };
const BYTES_PER_SECOND = 400_000;
const MESSAGES = Array.from({ length: 12 }, (_, i) => `${i}`.padEnd(100_000, "x"));
const transports: TransportName[] = ["websocket", "streaming", "polling"];

const cleanups = cleanupAfterEach();

describe.each(transports)("a slow download over %s", (transport) => {
  it("keeps the link while a burst takes longer to come down than the heartbeat's window", async () => {
    const { proxy, conn, session, states } = await openThroughProxy(cleanups, transport, { heartbeat: HEARTBEAT });
    const received: string[] = [];
    conn.on("message", (data) => received.push(String(data)));

    proxy.throttle(BYTES_PER_SECOND);
    const started = Date.now();
    for (const message of MESSAGES) session.send(message);
    await until(() => received.length === MESSAGES.length, 20_000, "the burst at the client");
    // It did take longer than the heartbeat's window, and came down once, on the first link.
    expect(Date.now() - started).toBeGreaterThan(HEARTBEAT.interval + HEARTBEAT.timeout);
    expect(received).toEqual(MESSAGES);
    expect(states).toEqual(["open: session started"]);
  });

  it("keeps the link while one message takes longer to come down than the heartbeat's window", async () => {
    const { proxy, conn, session, states } = await openThroughProxy(cleanups, transport, { heartbeat: HEARTBEAT });
    const received: (string | Uint8Array)[] = [];
    conn.on("message", (data) => received.push(data));
    // About 3 s of text (with a character outside the BMP at every 1000th place, so a cut can
    // fall inside a surrogate pair) and 2 s of binary (base64 on the wire).
    const text = Array.from({ length: 1200 }, (_, i) => `${i}😀`.padEnd(999, "y")).join("");
    const bytes = Uint8Array.from({ length: 600_000 }, (_, i) => (i * 7) % 256);

    proxy.throttle(BYTES_PER_SECOND);
    const started = Date.now();
    session.send(text);
    session.send(bytes);
    await until(() => received.length === 2, 20_000, "both messages at the client");
    expect(Date.now() - started).toBeGreaterThan(2 * (HEARTBEAT.interval + HEARTBEAT.timeout));
    expect(received[0]).toBe(text);
    expect(received[1]).toEqual(bytes);
    expect(states).toEqual(["open: session started"]);
  });

  it("gets a message whole and once when the link is cut in the middle of its parts", async () => {
    const { proxy, conn, session, states } = await openThroughProxy(cleanups, transport, { heartbeat: HEARTBEAT });
    const received: string[] = [];
    conn.on("message", (data) => received.push(String(data)));
    const text = Array.from({ length: 600 }, (_, i) => `${i}`.padEnd(1000, "z")).join("");

    proxy.throttle(BYTES_PER_SECOND);
    session.send(text);
    session.send("after");
    // About 0.7 s into the 1.5 s the message needs: some of its parts are in.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(received).toEqual([]);
    proxy.cut();
    await until(() => received.length === 2, 20_000, "both messages after the resume");
    expect(received[0]).toBe(text);
    expect(received).toEqual([text, "after"]);
    expect(states).toContain("open: session resumed");
  });

  it("reads to the end of a large backlog the server closed the session behind, and closes with the server's code", async () => {
    const { proxy, conn, session, states } = await openThroughProxy(cleanups, transport, { heartbeat: HEARTBEAT });
    const received: string[] = [];
    conn.on("message", (data) => received.push(String(data)));
    const closed = new Promise<{ code: number }>((resolve) => conn.on("close", resolve));

    proxy.throttle(BYTES_PER_SECOND);
    for (const message of MESSAGES) session.send(message);
    session.close(4444, "done");
    // The client acks what arrives while the rest is still on its way: the server's answer to
    // those acks must not make it reconnect before it reads the close frame.
    expect((await closed).code).toBe(4444);
    expect(received).toEqual(MESSAGES);
    expect(states).toEqual(["open: session started", "closed: done"]);
  });
});

// 150 kB/s: a 64 KiB WebSocket piece takes about 0.45 s, well inside the 1 s window (pieces cost
// nothing but a frame header, so they are small). A poll answer of 256 KiB takes 1.7 s, longer
// than the window: the client reads it as it arrives, so each frame in it is life (and is
// acknowledged) on its own.
describe.each(["websocket", "polling"] as const)("a slow download over %s, slower still", (transport) => {
  it("keeps the link while one piece takes longer to come down than the window would allow whole", async () => {
    const link = await openThroughProxy(cleanups, transport, { heartbeat: HEARTBEAT });
    const { burst, received, elapsedMs } = await sendThrottledBurst(link);
    expect(elapsedMs).toBeGreaterThan(2 * (HEARTBEAT.interval + HEARTBEAT.timeout));
    expect(received).toEqual(burst);
    expect(link.states).toEqual(["open: session started"]);
  });
});

// A connect timeout of 1 s, and a backlog of 150 kB that needs 3 s to come down: the resume's
// welcome must not wait behind it, or every attempt would time out and start the replay again.
describe.each(transports)("a resume over %s whose replay takes longer to come down than the connect timeout", (transport) => {
  it("opens at once and then brings the whole replay down, once", async () => {
    const { proxy, conn, session, states } = await openThroughProxy(cleanups, transport, {}, { connectTimeout: 1000 });
    const received: string[] = [];
    conn.on("message", (data) => received.push(String(data)));
    const backlog = Array.from({ length: 6 }, (_, i) => `${i}`.padEnd(25_000, "b"));
    proxy.throttle(50_000);
    proxy.refuse(true);
    proxy.cut();
    for (const message of backlog) session.send(message);
    await until(() => conn.state === "reconnecting", 5000, "the loss");
    proxy.refuse(false);
    await until(() => received.length === backlog.length, 15_000, "the replay at the client");
    expect(received).toEqual(backlog);
    // One resume: no attempt timed out while the replay came down.
    expect(states.filter((state) => state.startsWith("open"))).toEqual(["open: session started", "open: session resumed"]);
  });
});
