import { describe, expect, it } from "vitest";
import { cleanupAfterEach, openThroughProxy, until } from "../helpers/integration.js";
import type { TransportName } from "@lifeline/client";

/**
 * A message that takes longer to upload than the heartbeat allows a silent link: the bytes on
 * their way are life, on both sides, so the link stays up and the message arrives once.
 */

// The link may be silent for 600 ms; the message below needs about 2 s to go up.
const HEARTBEAT = { interval: 300, timeout: 300 };
const BYTES_PER_SECOND = 150_000;
const MESSAGE = "x".repeat(300_000);
const transports: TransportName[] = ["websocket", "streaming", "polling"];

const cleanups = cleanupAfterEach();

describe.each(transports)("a slow upload over %s", (transport) => {
  it("keeps the link while a message takes longer to go up than the heartbeat's window", async () => {
    const { proxy, conn, session, states } = await openThroughProxy(cleanups, transport, { heartbeat: HEARTBEAT });
    const received: number[] = [];
    const serverCloses: string[] = [];
    session.on("message", (data) => received.push(String(data).length));
    session.on("close", ({ reason }) => serverCloses.push(reason));

    proxy.throttle(BYTES_PER_SECOND);
    const started = Date.now();
    conn.send(MESSAGE);
    await until(() => received.length > 0, 15_000, "the message at the server");
    // It did take longer than the heartbeat's window, and went up once, on the first link.
    expect(Date.now() - started).toBeGreaterThan(HEARTBEAT.interval + HEARTBEAT.timeout);
    expect(received).toEqual([MESSAGE.length]);
    expect(states).toEqual(["open: session started"]);
    expect(serverCloses).toEqual([]);
  });
});
