import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { connect } from "@lifeline/client";
import type { OpenEvent } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import { createFaultProxy } from "@lifeline/testkit";
import { cleanupAfterEach, until } from "../helpers/integration.js";

const cleanups = cleanupAfterEach();

describe("a WebSocket resume on a link with long round trips", () => {
  it("opens when each round trip fits in connectTimeout, though the three before the welcome do not", async () => {
    const server = createServer();
    cleanups.push(() => server.close());
    const { url } = await server.listen(0, "127.0.0.1");
    const target = new URL(url);
    const proxy = await createFaultProxy({ target: { host: "127.0.0.1", port: Number(target.port) } });
    cleanups.push(() => proxy.close());
    // The resume's hello waits for a pong: upgrade, ping, hello each take a round trip of about
    // 500 ms here, 1.5 s in all against a 900 ms connect timeout.
    const conn = connect(`${proxy.url}${target.pathname}`, { transports: ["websocket"], WebSocket, connectTimeout: 900, reconnect: { initialDelay: 50, maxDelay: 100 } });
    cleanups.push(() => conn.close());
    const opens: OpenEvent[] = [];
    conn.on("open", (open) => opens.push(open));
    await until(() => conn.state === "open", 5000, "the first open");

    proxy.latency(250);
    proxy.cut();
    await until(() => opens.length === 2, 8000, "the resume");
    expect(opens[1]).toMatchObject({ transport: "websocket", resumed: true, sessionLost: false });
  });
});
