import { describe, expect, it } from "vitest";
import { connectWith } from "../../src/client.js";
import { createManualClock } from "@lifeline/testkit";
import { createFakeFactory, settle } from "../helpers/fake-transport.js";

function setup(debug?: (message: string) => void) {
  const clock = createManualClock();
  const ws = createFakeFactory("websocket");
  const conn = connectWith("http://127.0.0.1:1/lifeline", {
    ...(debug && { debug }),
    retryPolicy: { nextDelayMs: () => 100 },
    rememberTransport: false,
    transportFactories: [ws],
    clock,
  });
  const events: string[] = [];
  conn.on("statechange", ({ from, to }) => events.push(`${from}->${to}`));
  conn.on("close", () => events.push("close"));
  conn.on("message", (m) => events.push(`message ${String(m)}`));
  return { clock, ws, conn, events };
}

describe("close() from a listener while reconnecting", () => {
  /**
   * Opens, loses the link, and lets the retry come due. A retry starting is no state change,
   * so the one callback between the transition and its openLink is the debug log: it closes
   * the connection then.
   */
  async function closedAsTheRetryStarts() {
    let close = () => {};
    const s = setup((message) => message.startsWith("retrying") && close());
    close = () => s.conn.close();
    await settle();
    s.ws.links[0]!.welcome({ pingIntervalMs: 1000, pingTimeoutMs: 500 });
    await settle();
    s.ws.links[0]!.drop();
    s.clock.advance(100); // retry due
    return s;
  }

  it("from the debug log: no link is opened after close", async () => {
    const s = await closedAsTheRetryStarts();
    expect(s.conn.state).toBe("closed");
    expect(s.events).toEqual(["connecting->open", "open->reconnecting", "reconnecting->closed", "close"]);
    // Expected: no transport opened after close(), nothing left running.
    expect(s.ws.links.filter((l) => !l.closed)).toHaveLength(0);
    expect(s.clock.pendingTimers).toBe(0);
  });

  it("on open -> reconnecting: no retry timer is left after close", async () => {
    const s = setup();
    s.conn.on("statechange", ({ to }) => {
      if (to === "reconnecting") s.conn.close();
    });
    await settle();
    s.ws.links[0]!.welcome({ pingIntervalMs: 1000, pingTimeoutMs: 500 });
    await settle();
    s.ws.links[0]!.drop();
    expect(s.conn.state).toBe("closed");
    expect(s.clock.pendingTimers).toBe(0);
  });

  it("a link opened after close delivers messages after the close event", async () => {
    const s = await closedAsTheRetryStarts();
    const late = s.ws.links[1];
    late?.welcome({ pingIntervalMs: 1000, pingTimeoutMs: 500, resumed: true });
    late?.deliver({ type: "message", seq: 1, data: "after close" });
    expect(s.events.indexOf("message after close")).toBe(-1);
  });
});

describe("close() from an open listener", () => {
  it("frames that came with the welcome are not delivered after close", async () => {
    const s = setup();
    s.conn.on("open", () => s.conn.close());
    await settle();
    s.ws.links[0]!.deliver(
      { type: "welcome", version: 1, sessionId: "s1", resumed: false, ack: 0, pingIntervalMs: 1000, pingTimeoutMs: 500, maxMessageBytes: 1024, resumeWindowMs: 60_000 },
      { type: "message", seq: 1, data: "with the welcome" },
    );
    await settle();
    expect(s.events).toEqual(["connecting->open", "open->closed", "close"]);
  });
});

describe("close() from a listener while the handshake completes", () => {
  it("from the 'error' about queued messages over the server's limit: no heartbeat is left running", async () => {
    const s = setup();
    s.conn.send("x".repeat(2000));
    s.conn.on("error", () => s.conn.close());
    await settle();
    s.ws.links[0]!.welcome({ maxMessageBytes: 1024 });
    await settle();
    expect(s.conn.state).toBe("closed");
    expect(s.ws.links[0]!.closed).toBe(true);
    expect(s.clock.pendingTimers).toBe(0);
  });

  it("from the 'transport' listener: the welcome is not taken up and nothing is left running", async () => {
    const s = setup();
    s.conn.on("transport", () => s.conn.close());
    await settle();
    s.ws.links[0]!.welcome();
    await settle();
    expect(s.conn.state).toBe("closed");
    expect(s.conn.id).toBeNull();
    expect(s.events).toEqual(["connecting->closed", "close"]);
    expect(s.clock.pendingTimers).toBe(0);
  });
});
