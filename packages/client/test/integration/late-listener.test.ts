import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { connect } from "@lifeline/client";
import type { TransportName } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import { cleanupAfterEach, sleep, until } from "../helpers/integration.js";

/**
 * A server app whose connection listener awaits something (a token check, say) before it adds
 * its message listener: what the client sent meanwhile waits for it, in order, and is
 * acknowledged only once it has been heard.
 */

const cleanups = cleanupAfterEach();
const transports: TransportName[] = ["websocket", "streaming", "polling"];

describe.each(transports)("a message listener added after an await, over %s", (transport) => {
  it("hears every message the client sent before it was added, in order", async () => {
    const server = createServer();
    cleanups.push(() => server.close());
    const heard: string[] = [];
    let checked!: () => void;
    const tokenChecked = new Promise<void>((resolve) => (checked = resolve));
    server.on("connection", async (session) => {
      await tokenChecked;
      session.on("message", (data) => heard.push(String(data)));
    });
    const { url } = await server.listen(0, "127.0.0.1");
    const conn = connect(url, { WebSocket, transports: [transport] });
    cleanups.push(() => conn.close());
    for (const n of [1, 2, 3]) conn.send(`early ${n}`);
    await until(() => conn.state === "open", 5000, "the open");
    conn.send("early 4");
    await sleep(200);
    // Nobody has heard them yet, so nothing is acknowledged.
    expect(heard).toEqual([]);
    expect(conn.bufferedMessages).toBe(4);
    checked();
    await until(() => heard.length === 4, 5000, "the messages at the app");
    expect(heard).toEqual(["early 1", "early 2", "early 3", "early 4"]);
    conn.send("later");
    await until(() => heard.length === 5 && conn.bufferedMessages === 0, 5000, "the acks");
  });
});
