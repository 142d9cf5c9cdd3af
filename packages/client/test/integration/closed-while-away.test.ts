import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { connect } from "@lifeline/client";
import type { CloseEvent, TransportName } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import type { Session } from "@lifeline/server";
import { createFaultProxy } from "@lifeline/testkit";
import { cleanupAfterEach, until } from "../helpers/integration.js";

/**
 * session.close() on the server while the client's link is down: the close frame has nowhere to
 * go, so the server keeps the app's code for the resume window, and the client that comes back
 * to resume hears it then, as it would have on its link.
 */

const cleanups = cleanupAfterEach();

describe.each(["websocket", "streaming", "polling"] as TransportName[])("a session the app closes while its client is away, over %s", (transport) => {
  it.each([
    [4999, "kicked"],
    [1000, "bye"],
  ])("ends the client with the app's code (%i) when it comes back, instead of a new session", async (code, reason) => {
    const server = createServer({ heartbeat: { interval: 500, timeout: 500 } });
    cleanups.push(() => server.close());
    const sessions: Session[] = [];
    server.on("connection", (session) => sessions.push(session));
    const { url } = await server.listen(0, "127.0.0.1");
    const target = new URL(url);
    const proxy = await createFaultProxy({ target: { host: "127.0.0.1", port: Number(target.port) } });
    cleanups.push(() => proxy.close());
    const conn = connect(`${proxy.url}${target.pathname}`, { transports: [transport], WebSocket, reconnect: { initialDelay: 100, maxDelay: 200 } });
    cleanups.push(() => conn.close());
    const opens: unknown[] = [];
    conn.on("open", (open) => opens.push(open));
    let closed: CloseEvent | undefined;
    conn.on("close", (event) => (closed = event));
    await until(() => conn.state === "open", 5000, "the first open");

    // The link goes down, and the client cannot come back until the app has closed the session.
    proxy.refuse(true);
    proxy.cut();
    await until(() => sessions[0]!.transport === null, 5000, "the server to lose the link");
    conn.send("while away");
    sessions[0]!.close(code, reason);
    proxy.refuse(false);

    await until(() => conn.state === "closed", 5000, "the client to hear of the close");
    expect(closed).toEqual({ code, reason, unacknowledged: ["while away"] });
    expect(opens).toHaveLength(1);
    expect(sessions).toHaveLength(1);
  });
});

describe("a session the app closes while its client is away, with another transport failing", () => {
  it("ends the client at once: the app's close decides, whatever the other transport does", async () => {
    const server = createServer({ heartbeat: { interval: 500, timeout: 500 } });
    cleanups.push(() => server.close());
    const sessions: Session[] = [];
    server.on("connection", (session) => sessions.push(session));
    const { url } = await server.listen(0, "127.0.0.1");
    const target = new URL(url);
    const proxy = await createFaultProxy({ target: { host: "127.0.0.1", port: Number(target.port) } });
    cleanups.push(() => proxy.close());
    // WebSocket fails every time in a way worth retrying (a proxy that blocks it, say).
    const Blocked = class {
      constructor() {
        throw new Error("blocked");
      }
    } as unknown as typeof WebSocket;
    const conn = connect(`${proxy.url}${target.pathname}`, { transports: ["websocket", "polling"], WebSocket: Blocked, reconnect: { initialDelay: 100, maxDelay: 200 } });
    cleanups.push(() => conn.close());
    let closed: CloseEvent | undefined;
    conn.on("close", (event) => (closed = event));
    await until(() => conn.state === "open", 5000, "the first open");
    expect(conn.transport).toBe("polling");

    proxy.refuse(true);
    proxy.cut();
    await until(() => sessions[0]!.transport === null, 5000, "the server to lose the link");
    sessions[0]!.close(4999, "kicked");
    proxy.refuse(false);

    await until(() => conn.state === "closed", 3000, "the client to hear of the close");
    expect(closed).toEqual({ code: 4999, reason: "kicked", unacknowledged: [] });
    expect(sessions).toHaveLength(1);
  });
});

describe.each(["websocket", "streaming", "polling"] as TransportName[])("a session the app closes with a code asking for a reconnect, over %s", (transport) => {
  it.each([
    [4000, "up"],
    [1011, "down"],
  ])("(%i) with its link %s leads the client to a new session at once", async (code, link) => {
    const server = createServer({ heartbeat: { interval: 500, timeout: 500 } });
    cleanups.push(() => server.close());
    const sessions: Session[] = [];
    server.on("connection", (session) => sessions.push(session));
    const { url } = await server.listen(0, "127.0.0.1");
    const target = new URL(url);
    const proxy = await createFaultProxy({ target: { host: "127.0.0.1", port: Number(target.port) } });
    cleanups.push(() => proxy.close());
    const conn = connect(`${proxy.url}${target.pathname}`, { transports: [transport], WebSocket, reconnect: { initialDelay: 100, maxDelay: 200 } });
    cleanups.push(() => conn.close());
    const opens: { resumed: boolean; sessionLost: boolean }[] = [];
    conn.on("open", (open) => opens.push(open));
    await until(() => conn.state === "open", 5000, "the first open");

    if (link === "down") {
      proxy.refuse(true);
      proxy.cut();
      await until(() => sessions[0]!.transport === null, 5000, "the server to lose the link");
    }
    sessions[0]!.close(code, "come back");
    proxy.refuse(false);

    // The client's hello still names the closed session: it gets a new one, not the close again.
    await until(() => opens.length === 2, 3000, "a new session");
    expect(opens[1]).toMatchObject({ resumed: false, sessionLost: true });
    expect(sessions).toHaveLength(2);
    expect(conn.state).toBe("open");
  });
});

describe("a session the app closed, after the resume window", () => {
  it("is forgotten: a client coming back later starts a new session, told the old one is lost", async () => {
    const server = createServer({ heartbeat: { interval: 500, timeout: 500 }, resumeWindow: 300 });
    cleanups.push(() => server.close());
    const sessions: Session[] = [];
    server.on("connection", (session) => sessions.push(session));
    const { url } = await server.listen(0, "127.0.0.1");
    const target = new URL(url);
    const proxy = await createFaultProxy({ target: { host: "127.0.0.1", port: Number(target.port) } });
    cleanups.push(() => proxy.close());
    const conn = connect(`${proxy.url}${target.pathname}`, { transports: ["websocket"], WebSocket, reconnect: { initialDelay: 100, maxDelay: 200 } });
    cleanups.push(() => conn.close());
    const opens: { resumed: boolean; sessionLost: boolean }[] = [];
    conn.on("open", (open) => opens.push(open));
    await until(() => conn.state === "open", 5000, "the first open");

    proxy.refuse(true);
    proxy.cut();
    await until(() => sessions[0]!.transport === null, 5000, "the server to lose the link");
    sessions[0]!.close(4999, "kicked");
    await new Promise((resolve) => setTimeout(resolve, 400));
    proxy.refuse(false);

    await until(() => opens.length === 2, 5000, "a new session");
    expect(opens[1]).toMatchObject({ resumed: false, sessionLost: true });
    expect(sessions).toHaveLength(2);
  });
});
