import { describe, expect, it } from "vitest";
import { cleanupAfterEach, openThroughProxy, sleep, until } from "../helpers/integration.js";
import type { AppStateLike, TransportName } from "@lifeline/client";

/**
 * A message that takes longer to upload than the heartbeat allows a silent link: the server
 * counts the bytes on their way as life (over HTTP the client's pings also go beside them), the
 * client the server's pings, so the link stays up and the message arrives once.
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

// A foreground (or network change) gives an open link the heartbeat's timeout to show life, and
// pings. Over WebSocket that ping travels behind the upload: the server, which sees the upload's
// bytes arrive, pings every half timeout meanwhile. Over HTTP it goes in a request of its own:
// a proxy that holds request bodies back until complete (nginx by default, in front here) shows
// the server nothing of the upload, and a ping behind the upload, or in one body with a message,
// would answer too late. Either way a healthy link would be dropped, its upload started again.
// React Native calls every AppState listener in one go, so a message an app sends on "active"
// shares a batch with the check's ping.
describe.each(transports)("a slow upload over %s when the app comes to the foreground", (transport) => {
  it.each([false, true])("keeps the link: the check hears from the server during the upload (a message sent with the ping: %s)", async (sendOnActive) => {
    // The server pings every 3 s, so the 1 s check needs more than the usual pings; the upload takes 2 s.
    const heartbeat = { interval: 3000, timeout: 1000 };
    const listeners: ((state: string) => void)[] = [];
    const appState: AppStateLike = { addEventListener: (_type, listener) => void listeners.push(listener) };
    const { proxy, conn, session, states } = await openThroughProxy(cleanups, transport, { heartbeat }, { appState }, { bufferRequests: true });
    const received: number[] = [];
    session.on("message", (data) => received.push(String(data).length));
    // Right after the welcome, the client's first ping is on its way: let its pong arrive.
    await until(() => conn.rtt !== null, 5000, "the first pong");

    proxy.throttle(BYTES_PER_SECOND);
    const started = Date.now();
    conn.send(MESSAGE);
    await sleep(200);
    for (const state of ["background", "active"]) for (const listener of listeners) listener(state);
    if (sendOnActive) conn.send("back");
    const expected = sendOnActive ? [MESSAGE.length, 4] : [MESSAGE.length];
    await until(() => received.length === expected.length, 15_000, "the messages at the server");
    // The upload outlasted the check, and went up once, on the first link.
    expect(Date.now() - started).toBeGreaterThan(200 + heartbeat.timeout);
    expect(received).toEqual(expected);
    expect(states).toEqual(["open: session started"]);
  });
});
