import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { connect } from "@lifeline/client";
import type { ConnectionState, TransportName } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import type { Session } from "@lifeline/server";
import { cleanupAfterEach, until } from "../helpers/integration.js";

/**
 * close() while `connecting`, after the hello reached the server: the client has no welcome, so
 * no session id to end, and sends nothing. The server's session was never answered, so it waits
 * one heartbeat window (here 300 + 300 ms) for the client to come back, not the resume window.
 */

const cleanups = cleanupAfterEach();
const transports: TransportName[] = ["websocket", "streaming", "polling"];

describe.each(transports)("close() while connecting over %s", (transport) => {
  it("leaves the server's new session one heartbeat window, not the whole resume window", async () => {
    const server = createServer({ heartbeat: { interval: 300, timeout: 300 }, resumeWindow: 60_000 });
    cleanups.push(() => server.close());
    const { url } = await server.listen(0, "127.0.0.1");
    const conn = connect(url, { WebSocket, transports: [transport] });
    cleanups.push(() => conn.close());
    let session: Session | undefined;
    let stateAtHello: ConnectionState | undefined;
    const ended: { code: number; reason: string }[] = [];
    server.on("connection", (s) => {
      session = s;
      s.on("close", (info) => ended.push(info));
      // The welcome is on its way but cannot have arrived: this runs in the server's handling
      // of the hello, in the same process.
      stateAtHello = conn.state;
      conn.close();
    });
    await until(() => session !== undefined, 5000, "the hello at the server");
    expect(stateAtHello).toBe("connecting");
    expect(conn.state).toBe("closed");
    await until(() => ended.length > 0, 3000, "the unanswered session to end");
    expect(ended).toEqual([{ code: expect.any(Number), reason: expect.stringContaining("resume window expired") }]);
    expect([...server.sessions]).toEqual([]);
  });
});
