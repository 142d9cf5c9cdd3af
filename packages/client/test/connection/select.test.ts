import { describe, expect, it } from "vitest";
import { openFirstTransport } from "../../src/connection/select.js";
import type { SelectOptions } from "../../src/connection/select.js";
import type { LinkClose, TransportFactory } from "../../src/transports/transport.js";
import { createManualClock } from "@lifeline/testkit";
import { createFakeFactory } from "../helpers/fake-transport.js";

function race(factories: TransportFactory[], extra: Partial<SelectOptions> = {}) {
  const clock = createManualClock();
  const opened: string[] = [];
  const closes: LinkClose[] = [];
  const options: SelectOptions = {
    endpoint: { url: "http://127.0.0.1:1/lifeline", query: "" },
    hello: { type: "hello", version: 1, ack: 0 },
    caps: {},
    clock,
    connectTimeoutMs: 10_000,
    fallbackDelayMs: 500,
    factories,
    onOpen: (t) => void opened.push(t.name),
    onFrames: () => {},
    onClose: (info) => void closes.push(info),
    ...extra,
  };
  const cancel = openFirstTransport(options);
  return { clock, opened, closes, cancel };
}

const SIBLING_HOLDS = { code: 4001, reason: "attempt 2 is not newer than attempt 2, which holds the session" };

describe("openFirstTransport", () => {
  describe("a resume's candidate refused because a sibling holds the session", () => {
    /** Attempt 2's race; each newer hello comes with the next number. */
    function resumeRace(factories: TransportFactory[]) {
      let attempt = 2;
      const hello = (n: number) => ({ type: "hello" as const, version: 1, sessionId: "s1", ack: 0, attempt: n });
      const logs: string[] = [];
      const reported: string[] = [];
      const r = race(factories, {
        hello: hello(attempt),
        newerHello: () => hello(++attempt),
        log: (message) => void logs.push(message),
        onCandidateFailed: (name, reason) => void reported.push(`${name}: ${reason}`),
      });
      return { ...r, logs, reported };
    }

    it("tries once more with a newer attempt when no other candidate shows life, and gives up those on the older one", () => {
      const streaming = createFakeFactory("streaming");
      const polling = createFakeFactory("polling");
      const { clock, opened, closes, logs, reported } = resumeRace([streaming, polling]);
      // The stream's hello got through, but a buffering proxy holds its answer back: no bytes.
      clock.advance(500);
      polling.links[0]!.drop(SIBLING_HOLDS);
      expect(polling.links).toHaveLength(2);
      expect(polling.links[1]!.options.hello).toMatchObject({ sessionId: "s1", attempt: 3 });
      expect(logs).toEqual([`polling refused (${SIBLING_HOLDS.reason}): trying again with a newer attempt`]);
      // On attempt 2 it could only lose the session to attempt 3.
      expect(streaming.links[0]!.closed).toBe(true);
      polling.links[1]!.welcome({ resumed: true });
      expect(opened).toEqual(["polling"]);
      expect(closes).toEqual([]);
      // The refusal was not the winner's failure; the silent holder is why polling won.
      expect(reported).toEqual(["streaming: given up for a newer attempt"]);
      expect(clock.pendingTimers).toBe(0);
    });

    it("leaves the session to a candidate that shows life: it may only be slow", () => {
      const ws = createFakeFactory("websocket");
      const streaming = createFakeFactory("streaming");
      const { clock, opened, logs } = resumeRace([ws, streaming]);
      // The upgrade went through; the welcome, behind a large replay on a slow link, has not.
      ws.links[0]!.options.handlers.onAlive?.();
      clock.advance(500);
      streaming.links[0]!.drop(SIBLING_HOLDS);
      expect(streaming.links).toHaveLength(1);
      expect(logs).toEqual([]);
      expect(ws.links[0]!.closed).toBe(false);
      ws.links[0]!.welcome({ resumed: true });
      expect(opened).toEqual(["websocket"]);
    });

    it("gives a candidate started after the retry the newest attempt", () => {
      const ws = createFakeFactory("websocket");
      const streaming = createFakeFactory("streaming");
      const polling = createFakeFactory("polling");
      const { clock } = resumeRace([ws, streaming, polling]);
      clock.advance(500);
      streaming.links[0]!.drop(SIBLING_HOLDS);
      expect(streaming.links[1]!.options.hello).toMatchObject({ attempt: 3 });
      clock.advance(500);
      expect(polling.links[0]!.options.hello).toMatchObject({ attempt: 3 });
    });

    it("tries only once per candidate: refused again, it has failed", () => {
      const ws = createFakeFactory("websocket");
      const polling = createFakeFactory("polling");
      const { clock, closes } = resumeRace([ws, polling]);
      clock.advance(500);
      polling.links[0]!.drop(SIBLING_HOLDS);
      polling.links[1]!.drop({ code: 4001, reason: "attempt 3 is not newer than attempt 4, which holds the session" });
      expect(polling.links).toHaveLength(2);
      expect(closes).toHaveLength(1);
      expect(closes[0]!.reason).toBe(
        `no transport connected (polling: ${SIBLING_HOLDS.reason}; websocket: given up for a newer attempt; polling: attempt 3 is not newer than attempt 4, which holds the session)`,
      );
      expect(clock.pendingTimers).toBe(0);
    });

    it("without a newer hello (a race for a new session), a 4001 refusal is a failure like any other", () => {
      const ws = createFakeFactory("websocket");
      const polling = createFakeFactory("polling");
      const { clock } = race([ws, polling]);
      clock.advance(500);
      polling.links[0]!.drop(SIBLING_HOLDS);
      expect(polling.links).toHaveLength(1);
    });
  });

  it("names the preferred candidates that were merely slow when a later one wins, and only those", () => {
    const ws = createFakeFactory("websocket");
    const streaming = createFakeFactory("streaming");
    const polling = createFakeFactory("polling");
    const reported: string[] = [];
    const { clock, opened } = race([ws, streaming, polling], { onCandidateFailed: (name, reason) => void reported.push(`${name}: ${reason}`) });
    clock.advance(1000); // the upgrade hangs; streaming starts at 500, polling at 1000
    clock.advance(120);
    streaming.links[0]!.welcome();
    expect(opened).toEqual(["streaming"]);
    expect(reported).toEqual(["websocket: no handshake in 1120 ms"]);
    expect(ws.links[0]!.closed && polling.links[0]!.closed).toBe(true);
  });

  it("gives a candidate whose path answered the whole connect timeout again for its handshake, once", () => {
    const ws = createFakeFactory("websocket");
    const failed: string[] = [];
    const { clock, opened, closes } = race([ws], { onCandidateFailed: (name, reason) => void failed.push(`${name}: ${reason}`) });
    // A held hello: the pong came back late on a slow link, and the hello has a round trip to go.
    clock.advance(6000);
    ws.links[0]!.options.handlers.onAlive?.();
    clock.advance(9000);
    // More life does not extend it again (an opened HTTP link reports every chunk).
    ws.links[0]!.options.handlers.onAlive?.();
    expect(closes).toEqual([]);
    clock.advance(999);
    expect(closes).toEqual([]);
    clock.advance(1);
    expect(failed).toEqual(["websocket: no handshake in 16000 ms"]);
    expect(closes).toHaveLength(1);
    expect(opened).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("gives a held hello the whole connect timeout for each round trip: to the socket, the pong, the welcome", () => {
    const ws = createFakeFactory("websocket");
    const { clock, opened, closes } = race([ws], { holdHello: true });
    const handlers = ws.links[0]!.options.handlers;
    // Round trips of about 4.5 s: the socket opens after two (TCP, the upgrade).
    clock.advance(9000);
    handlers.onProgress?.();
    clock.advance(9900);
    handlers.onAlive?.();
    clock.advance(9900);
    expect(closes).toEqual([]);
    ws.links[0]!.welcome({ resumed: true });
    expect(opened).toEqual(["websocket"]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("fails a held hello whose socket opened but whose pong never comes, a timeout after the socket", () => {
    const ws = createFakeFactory("websocket");
    const failed: string[] = [];
    const { clock, closes } = race([ws], { holdHello: true, onCandidateFailed: (name, reason) => void failed.push(`${name}: ${reason}`) });
    clock.advance(100);
    ws.links[0]!.options.handlers.onProgress?.();
    // A step counts once.
    clock.advance(5000);
    ws.links[0]!.options.handlers.onProgress?.();
    clock.advance(4999);
    expect(closes).toEqual([]);
    clock.advance(1);
    expect(failed).toEqual(["websocket: no handshake in 10100 ms"]);
    expect(closes).toHaveLength(1);
  });

  it("a factory that throws counts as a failed candidate instead of escaping", () => {
    const throws: TransportFactory = {
      name: "websocket",
      isSupported: () => true,
      open() {
        throw new TypeError("fetch is not a function");
      },
    };
    const polling = createFakeFactory("polling");
    const { opened } = race([throws, polling]);
    expect(polling.links).toHaveLength(1);
    polling.links[0]!.welcome();
    expect(opened).toEqual(["polling"]);
  });

  it("when every candidate fails, reports TRANSPORT_UNAVAILABLE with each reason", () => {
    const ws = createFakeFactory("websocket");
    const polling = createFakeFactory("polling");
    const { closes, clock } = race([ws, polling]);
    ws.links[0]!.drop({ reason: "refused" });
    polling.links[0]!.drop({ reason: "network error" });
    expect(closes).toHaveLength(1);
    expect(closes[0]!.error?.code).toBe("TRANSPORT_UNAVAILABLE");
    expect(closes[0]!.reason).toBe("no transport connected (websocket: refused; polling: network error)");
    expect(clock.pendingTimers).toBe(0);
  });

  it("when every candidate is refused for good, the error names the refusal instead", () => {
    const ws = createFakeFactory("websocket");
    const polling = createFakeFactory("polling");
    const { closes } = race([ws, polling]);
    ws.links[0]!.deliver({ type: "close", code: 4100, reason: "bad hello" });
    polling.links[0]!.deliver({ type: "close", code: 4102, reason: "body over the limit" });
    expect(closes).toHaveLength(1);
    // The last refusal decides, as the last failure does when none is worth retrying.
    expect(closes[0]).toMatchObject({ code: 4102, reason: "no transport connected (websocket: bad hello; polling: body over the limit)" });
    expect(closes[0]!.error).toMatchObject({ code: "MESSAGE_TOO_LARGE", closeCode: 4102 });
  });

  it("when every candidate fails, retries if any failure was retryable, whatever the order", () => {
    for (const streamingFirst of [false, true]) {
      const ws = createFakeFactory("websocket");
      const streaming = createFakeFactory("streaming");
      const { closes, clock } = race([ws, streaming]);
      clock.advance(500); // both running
      const lostLink = () => ws.links[0]!.drop(); // 1006
      const notAWelcome = () => streaming.links[0]!.deliver({ type: "ping", id: 1 }); // 4100
      if (streamingFirst) {
        notAWelcome();
        lostLink();
      } else {
        lostLink();
        notAWelcome();
      }
      expect(closes).toHaveLength(1);
      expect(closes[0]!.code).toBe(1006);
      expect(closes[0]!.error?.code).toBe("TRANSPORT_UNAVAILABLE");
    }
  });
});
