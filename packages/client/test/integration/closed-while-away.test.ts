import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { connect } from "@lifeline/client";
import type { ClientOptions, CloseEvent, OpenEvent, TransportName } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import type { ServerOptions, Session } from "@lifeline/server";
import { createFaultProxy } from "@lifeline/testkit";
import { cleanupAfterEach, sleep, until } from "../helpers/integration.js";

/**
 * session.close() on the server while the client's link is down: the close frame has nowhere to
 * go, so the server keeps the app's code for the resume window, and the client that comes back
 * to resume hears it then, as it would have on its link.
 */

const cleanups = cleanupAfterEach();
const transports: TransportName[] = ["websocket", "streaming", "polling"];

/** A server with a 500 + 500 ms heartbeat behind a fault proxy, and a client through it, open. */
async function openStack(clientOptions: ClientOptions, serverOptions: ServerOptions = {}) {
  const server = createServer({ heartbeat: { interval: 500, timeout: 500 }, ...serverOptions });
  cleanups.push(() => server.close());
  const sessions: Session[] = [];
  server.on("connection", (session) => sessions.push(session));
  const { url } = await server.listen(0, "127.0.0.1");
  const target = new URL(url);
  const proxy = await createFaultProxy({ target: { host: "127.0.0.1", port: Number(target.port) } });
  cleanups.push(() => proxy.close());
  const conn = connect(`${proxy.url}${target.pathname}`, { WebSocket, reconnect: { initialDelay: 100, maxDelay: 200 }, ...clientOptions });
  cleanups.push(() => conn.close());
  const opens: OpenEvent[] = [];
  conn.on("open", (open) => opens.push(open));
  const closes: CloseEvent[] = [];
  conn.on("close", (event) => closes.push(event));
  await until(() => conn.state === "open", 5000, "the first open");
  return {
    sessions,
    conn,
    opens,
    closes,
    /** The link goes down, and the client cannot come back until `meanwhile` has run. */
    async away(meanwhile: () => unknown) {
      proxy.refuse(true);
      proxy.cut();
      await until(() => sessions[0]!.transport === null, 5000, "the server to lose the link");
      await meanwhile();
      proxy.refuse(false);
    },
  };
}

describe.each(transports)("a session the app closes while its client is away, over %s", (transport) => {
  it.each([
    [4999, "kicked"],
    [1000, "bye"],
  ])("ends the client with the app's code (%i) when it comes back, instead of a new session", async (code, reason) => {
    const { sessions, conn, opens, closes, away } = await openStack({ transports: [transport] });
    await away(() => {
      conn.send("while away");
      sessions[0]!.close(code, reason);
    });
    await until(() => conn.state === "closed", 5000, "the client to hear of the close");
    expect(closes).toEqual([{ code, reason, unacknowledged: ["while away"] }]);
    expect(opens).toHaveLength(1);
    expect(sessions).toHaveLength(1);
  });
});

describe("a session the app closes while its client is away, with another transport failing", () => {
  it("ends the client at once: the app's close decides, whatever the other transport does", async () => {
    // WebSocket fails every time in a way worth retrying (a proxy that blocks it, say).
    const Blocked = class {
      constructor() {
        throw new Error("blocked");
      }
    } as unknown as typeof WebSocket;
    const { sessions, conn, closes, away } = await openStack({ transports: ["websocket", "polling"], WebSocket: Blocked });
    expect(conn.transport).toBe("polling");
    await away(() => sessions[0]!.close(4999, "kicked"));
    await until(() => conn.state === "closed", 3000, "the client to hear of the close");
    expect(closes).toEqual([{ code: 4999, reason: "kicked", unacknowledged: [] }]);
    expect(sessions).toHaveLength(1);
  });
});

describe.each(transports)("a session the app closes with a code asking for a reconnect, over %s", (transport) => {
  it.each([
    [4000, "up"],
    [1011, "down"],
  ])("(%i) with its link %s leads the client to a new session at once", async (code, link) => {
    const { sessions, conn, opens, away } = await openStack({ transports: [transport] });
    const close = () => sessions[0]!.close(code, "come back");
    if (link === "down") await away(close);
    else close();
    // The client's hello still names the closed session: it gets a new one, not the close again.
    await until(() => opens.length === 2, 3000, "a new session");
    expect(opens[1]).toMatchObject({ resumed: false, sessionLost: true });
    expect(sessions).toHaveLength(2);
    expect(conn.state).toBe("open");
  });
});

describe("a session the app closed, after the resume window", () => {
  it("is forgotten: a client coming back later starts a new session, told the old one is lost", async () => {
    const { sessions, opens, away } = await openStack({ transports: ["websocket"] }, { resumeWindow: 300 });
    await away(async () => {
      sessions[0]!.close(4999, "kicked");
      // The client stays out past the 300 ms window.
      await sleep(400);
    });
    await until(() => opens.length === 2, 5000, "a new session");
    expect(opens[1]).toMatchObject({ resumed: false, sessionLost: true });
    expect(sessions).toHaveLength(2);
  });
});
