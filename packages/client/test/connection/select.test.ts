import { describe, expect, it } from "vitest";
import { openFirstTransport } from "../../src/connection/select.js";
import type { SelectOptions } from "../../src/connection/select.js";
import type { LinkClose, TransportFactory } from "../../src/transports/transport.js";
import { createManualClock } from "@lifeline/testkit";
import { createFakeFactory } from "../helpers/fake-transport.js";

function race(factories: TransportFactory[]) {
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
  };
  const cancel = openFirstTransport(options);
  return { clock, opened, closes, cancel };
}

describe("openFirstTransport", () => {
  it("a candidate that fails inside open() starts the next at once, and nothing starts after the race is won", () => {
    const ws = createFakeFactory("websocket");
    const failsAtOnce: TransportFactory = {
      name: "websocket",
      isSupported: () => true,
      open(options) {
        const link = ws.open(options);
        options.handlers.onClose({ code: 1006, reason: "refused at once" });
        return link;
      },
    };
    const streaming = createFakeFactory("streaming");
    const polling = createFakeFactory("polling");
    const { clock, opened } = race([failsAtOnce, streaming, polling]);
    expect(streaming.links).toHaveLength(1);
    streaming.links[0]!.welcome();
    expect(opened).toEqual(["streaming"]);
    clock.advance(500);
    expect(polling.links).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
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
