import { describe, expect, it } from "vitest";
import { decodeBatch, encodeBatch } from "@lifeline/protocol";
import type { ClientFrame, Frame } from "@lifeline/protocol";
import { createManualClock } from "@lifeline/testkit";
import { createHttpLink } from "../../src/transports/http.js";
import type { LinkClose } from "../../src/transports/transport.js";
import { welcome } from "./http-fake-server.js";

/**
 * The HTTP link shared by streaming and polling, over a fetch the test answers by hand: how it
 * ends after a failed request, and how its last frames go up after our close frame.
 */

interface Call {
  readonly url: string;
  readonly init: RequestInit;
  aborted: boolean;
  answer(status: number, text?: string): void;
  fail(): void;
}

function setup(maxMessageBytes = 1 << 20) {
  const calls: Call[] = [];
  const fetch = (url: string, init: RequestInit) =>
    new Promise((resolve, reject) => {
      const call: Call = {
        url,
        init,
        aborted: false,
        answer: (status, text = "") => resolve({ status, text: async () => text }),
        fail: () => reject(new TypeError("Failed to fetch")),
      };
      init.signal!.addEventListener("abort", () => {
        call.aborted = true;
        reject(new DOMException("aborted", "AbortError"));
      });
      calls.push(call);
    });
  const clock = createManualClock();
  const closes: LinkClose[] = [];
  const link = createHttpLink({
    url: "http://lifeline.test/lifeline",
    query: "",
    hello: { type: "hello", version: 1, ack: 0, attempt: 1 },
    caps: { fetch: fetch as typeof globalThis.fetch },
    clock,
    handlers: { onFrames() {}, onClose: (info) => void closes.push(info) },
  });
  link.download("/poll", link.helloBody, () => {});
  link.receive(encodeBatch([welcome({ maxMessageBytes })]) + "\n");
  const posts = () => calls.filter((call) => call.url.includes("/send"));
  const frames = (call: Call): Frame[] => decodeBatch(String(call.init.body));
  return { calls, clock, closes, link, posts, frames };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const message = (seq: number, length = 10): ClientFrame => ({ type: "message", seq, data: "x".repeat(length) });
const goodbye: ClientFrame = { type: "close", code: 1000, reason: "closed by client" };

describe("HTTP link", () => {
  it("ends a task after a request fails, so that close() in the same task (a pagehide listener) still sends", async () => {
    const { calls, clock, closes, link, posts, frames } = setup();
    calls[0]!.fail(); // the poll, aborted by a page going away
    await tick(); // the rejection is seen
    expect(closes).toEqual([]);
    link.send([message(1), goodbye]);
    link.close();
    expect(posts().map(frames)).toEqual([[message(1), goodbye]]);
    posts()[0]!.answer(204);
    await tick();
    // The link's end a task after the failure was called off with it, and nothing else is left.
    expect(clock.pendingTimers).toBe(0);
    expect(closes).toEqual([]);
  });

  it("ends with a lost link (1006) on the next task when nothing closes it", async () => {
    const { calls, clock, closes } = setup();
    calls[0]!.fail();
    await tick();
    expect(closes).toEqual([]);
    clock.advance(0);
    expect(closes.map((c) => [c.code, c.reason])).toEqual([[1006, "network error"]]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("leaves no timer behind when requests it aborted itself fail after it ended", async () => {
    const { calls, clock, closes, link } = setup();
    link.send([message(1)]);
    calls[0]!.answer(404); // the poll refused: the link ends, aborting the POST in flight
    await tick();
    await tick();
    expect(closes).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);

    const other = setup();
    other.link.close();
    await tick();
    expect(other.clock.pendingTimers).toBe(0);
  });

  it("sends a POST that failed just before close() again, in front of the close frame", async () => {
    const { clock, link, posts, frames } = setup();
    link.send([message(1)]);
    posts()[0]!.fail();
    await tick();
    link.send([message(2), goodbye]);
    link.close();
    expect(posts().slice(1).map(frames)).toEqual([[message(1), message(2), goodbye]]);
    expect(posts()[1]!.init.keepalive).toBe(true);
    expect(clock.pendingTimers).toBe(1); // the send timeout of that last POST
  });

  it("with a small message limit, still sends everything before the close frame in one keepalive fetch", async () => {
    const { link, posts, frames } = setup(4096);
    link.send([message(1, 1500)]);
    link.send([message(2, 1500), goodbye]);
    link.close();
    const live = posts().filter((post) => !post.aborted);
    expect(live.map(frames)).toEqual([[message(1, 1500), message(2, 1500), goodbye]]);
    expect(live[0]!.init.keepalive).toBe(true);
  });

  it("sends what goes beyond the keepalive limit as before: in order, without keepalive", async () => {
    const { link, posts, frames } = setup();
    link.send([message(1, 30_000)]);
    link.send([message(2), goodbye]);
    link.close();
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.aborted).toBe(false);
    expect(posts()[0]!.init.keepalive).toBe(false);
    posts()[0]!.answer(204);
    await tick();
    expect(posts().map(frames)).toEqual([[message(1, 30_000)], [message(2), goodbye]]);
    expect(posts()[1]!.init.keepalive).toBe(true);
  });

  // The next link sends those frames again (the resume rewinds to what the server has), and a
  // request left running would outlive the connection's close().
  it("closed without a close frame (lost or replaced), gives up its POST in flight and its send timeout", async () => {
    const { calls, clock, closes, link, posts } = setup();
    link.send([message(1)]);
    link.send([message(2)]);
    link.close();
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.aborted).toBe(true);
    expect(posts()[0]!.init.keepalive).toBe(false);
    expect(calls[0]!.aborted).toBe(true);
    await tick();
    // Nothing queued behind it goes up, and nothing is left to fire.
    expect(posts()).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
    expect(closes).toEqual([]); // no handler after close()
  });

  it("renewed, goes on with its queue after its POST but not after a failed one", async () => {
    const { closes, link, posts, frames } = setup();
    link.send([message(1)]);
    link.send([message(2)]);
    link.renew();
    expect(closes.map(({ renew }) => renew)).toEqual([true]);
    posts()[0]!.answer(204);
    await tick();
    expect(posts().map(frames)).toEqual([[message(1)], [message(2)]]);
    link.send([message(3)]); // ended: what comes now is for the next link
    expect(posts()).toHaveLength(2);
    // The server would drop what follows a message it never got; the next link sends it again.
    const failing = setup();
    failing.link.send([message(1)]);
    failing.link.send([message(2)]);
    failing.link.renew();
    failing.posts()[0]!.fail();
    await tick();
    failing.clock.advance(0);
    expect(failing.posts()).toHaveLength(1);
    expect(failing.closes).toHaveLength(1); // the renewal only
    failing.link.close();
    expect(failing.clock.pendingTimers).toBe(0);
  });

  // A foreground or network-change check gives the link the heartbeat's timeout to answer a
  // ping: behind an upload that takes longer, a healthy link would be dropped.
  describe("a ping", () => {
    const ping = (id: number): ClientFrame => ({ type: "ping", id });
    const ack: ClientFrame = { type: "ack", seq: 3 };

    it("goes up beside the POST in flight at once, apart from the messages of its batch, which keep their order", async () => {
      const { closes, link, posts, frames } = setup();
      link.send([message(1, 50_000)]);
      link.send([message(2)]);
      link.send([ping(7), ack]);
      expect(posts().map(frames)).toEqual([[message(1, 50_000)], [ping(7), ack]]);
      link.send([ping(8), message(3)]);
      expect(posts().map(frames).slice(2)).toEqual([[ping(8)]]);
      posts()[2]!.answer(204);
      posts()[0]!.answer(204);
      await tick();
      expect(posts().map(frames).slice(3)).toEqual([[message(2), message(3)]]);
      expect(closes).toEqual([]);
    });

    it("with nothing in flight, goes apart from long messages and with short ones (one request at each open)", async () => {
      const { link, posts, frames } = setup();
      link.send([ping(7), ack, message(1, 5000)]);
      expect(posts().map(frames)).toEqual([[ping(7), ack], [message(1, 5000)]]);
      posts()[0]!.answer(204);
      posts()[1]!.answer(204);
      await tick();
      link.send([ping(8), message(2)]);
      expect(posts().map(frames).slice(2)).toEqual([[ping(8), message(2)]]);
    });

    it("replaces one still unanswered, which then ends nothing", async () => {
      const { clock, closes, link, posts, frames } = setup();
      link.send([message(1)]);
      link.send([ping(7)]);
      link.send([ping(8)]);
      expect(posts()[1]!.aborted).toBe(true);
      expect(posts().map(frames).slice(2)).toEqual([[ping(8)]]);
      await tick();
      clock.advance(0);
      expect(closes).toEqual([]);
    });

    it("goes in the queue when it is alone with nothing in flight, with our close frame, or after it", () => {
      const { link, posts, frames } = setup();
      link.send([ping(7)]);
      expect(posts().map(frames)).toEqual([[ping(7)]]);
      link.send([ping(8), message(1), goodbye]);
      expect(posts().map(frames).slice(1)).toEqual([[ping(7), ping(8), message(1), goodbye]]); // the first given up for the keepalive fetch
      link.send([ping(9)]);
      expect(posts()).toHaveLength(2);
    });

    it("ends the link when its request fails or is refused, and is given up by close()", async () => {
      const refused = setup();
      refused.link.send([message(1)]);
      refused.link.send([ping(7)]);
      refused.posts()[1]!.answer(404, encodeBatch([{ type: "close", code: 4004, reason: "unknown session" }]));
      await tick();
      expect(refused.closes.map(({ code }) => code)).toEqual([4004]);

      const failed = setup();
      failed.link.send([message(1)]);
      failed.link.send([ping(7)]);
      failed.posts()[1]!.fail();
      await tick();
      failed.clock.advance(0);
      expect(failed.closes.map(({ code }) => code)).toEqual([1006]);

      for (const withGoodbye of [false, true]) {
        const closed = setup();
        closed.link.send([message(1, 50_000)]);
        closed.link.send([ping(7)]);
        if (withGoodbye) closed.link.send([goodbye]);
        closed.link.close();
        expect(closed.posts()[1]!.aborted).toBe(true);
      }
    });
  });
});
