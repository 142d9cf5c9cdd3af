import { PROTOCOL_VERSION, decodeBatch } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import { describe, expect, it } from "vitest";
import { createManualClock } from "@lifeline/testkit";
import { POLL_PIECE_BYTES } from "../src/link.js";
import type { Session } from "@lifeline/server";
import { closeOf, echo, startServer } from "./helpers/server.js";
import { bytes, hello, nextTurn, postFrames, request, startPoll, text, wsSession } from "./helpers/wire.js";

async function openPolling(url: string, frames = [hello()]) {
  const opened = await postFrames(`${url}/poll`, frames);
  expect(opened.status).toBe(200);
  const welcome = opened.frames[0];
  if (welcome?.type !== "welcome") throw new Error(`expected welcome, got ${opened.text}`);
  return { opened, welcome, sid: welcome.sessionId };
}

/**
 * Sends 90 messages of 1000 control characters (6000 chars each as JSON) to a polling client,
 * which takes them in polls of 10 and acknowledges none; returns the message.
 */
async function sendPolledUnacknowledged(url: string, sid: string, session: Session): Promise<string> {
  const control = "\u0001".repeat(1000);
  for (let i = 0; i < 9; i++) {
    for (let j = 0; j < 10; j++) session.send(control);
    await nextTurn();
    expect((await startPoll(url, sid).answer).frames).toHaveLength(10);
  }
  return control;
}

describe("long-polling transport", () => {
  it("answers the opening POST at once with welcome", async () => {
    const { url, nextSession } = await startServer();
    const { opened, welcome } = await openPolling(url);
    expect(opened.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(opened.headers.get("cache-control")).toBe("no-cache, no-store, no-transform");
    expect(opened.headers.get("x-content-type-options")).toBe("nosniff");
    expect(welcome).toMatchObject({ resumed: false, ack: 0 });
    const session = await nextSession();
    expect(session.id).toBe(welcome.sessionId);
    expect(session.transport).toBe("polling");
  });

  it("holds a poll until a message is pushed, then answers with the burst in one response", async () => {
    const { url, nextSession } = await startServer();
    const { sid } = await openPolling(url);
    const session = await nextSession();
    const poll = startPoll(url, sid);
    let answered = false;
    void poll.answer.then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    session.send("one");
    session.send("two");
    const answer = await poll.answer;
    expect(answer.status).toBe(200);
    expect(answer.frames).toEqual([text(1, "one"), text(2, "two")]);
  });

  it("answers with at most POLL_PIECE_BYTES of a large backlog per poll; the next poll gets the rest", async () => {
    const { url, nextSession } = await startServer();
    const { sid } = await openPolling(url);
    const session = await nextSession();
    const big = "p".repeat(100_000);
    for (let i = 0; i < 5; i++) session.send(big);
    await nextTurn();
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await startPoll(url, sid).answer);
    expect(answers.map((a) => a.frames.length)).toEqual([2, 2, 1]);
    expect(answers.every((a) => Buffer.byteLength(a.text) <= POLL_PIECE_BYTES)).toBe(true);
    expect(answers.flatMap((a) => a.frames)).toEqual([1, 2, 3, 4, 5].map((seq) => text(seq, big)));
  });

  it("answers a poll at once when frames are already waiting", async () => {
    const { url, nextSession } = await startServer();
    const { sid } = await openPolling(url);
    const session = await nextSession();
    session.send("waiting");
    await nextTurn();
    expect((await startPoll(url, sid).answer).frames).toEqual([text(1, "waiting")]);
  });

  it("echoes text and binary: POST /send up, held poll down", async () => {
    const { server, url } = await startServer();
    echo(server);
    const { sid } = await openPolling(url);
    const poll = startPoll(url, sid);
    const payload = new Uint8Array([255, 0, 128]);
    expect((await postFrames(`${url}/send?sid=${sid}`, [text(1, "ping?"), bytes(2, payload)])).status).toBe(204);
    const { frames } = await poll.answer;
    expect(frames).toEqual(expect.arrayContaining([text(1, "ping?"), bytes(2, payload), { type: "ack", seq: 2 }]));
  });

  it("a second poll answers the first with an empty 200 and is held itself", async () => {
    const { url, nextSession } = await startServer();
    const { sid } = await openPolling(url);
    const session = await nextSession();
    const first = startPoll(url, sid);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = startPoll(url, sid);
    const firstAnswer = await first.answer;
    expect(firstAnswer).toMatchObject({ status: 200, text: "" });
    session.send("for the second");
    expect((await second.answer).frames).toEqual([text(1, "for the second")]);
  });

  it("answers a held poll with the ping at pingInterval", async () => {
    const clock = createManualClock();
    const { url } = await startServer({ clock, heartbeat: { interval: 1000, timeout: 1000 } });
    const { sid } = await openPolling(url);
    const poll = startPoll(url, sid);
    await new Promise((resolve) => setTimeout(resolve, 20));
    clock.advance(1000);
    expect((await poll.answer).frames).toEqual([{ type: "ping", id: 1 }]);
  });

  it("a poll counts as activity; without polls the link dies and the next poll hears 4000", async () => {
    const clock = createManualClock();
    const { url, nextSession } = await startServer({ clock, heartbeat: { interval: 1000, timeout: 500 }, resumeWindow: 10_000 });
    const { sid } = await openPolling(url);
    const session = await nextSession();
    clock.advance(1000);
    expect((await startPoll(url, sid).answer).frames).toEqual([{ type: "ping", id: 1 }]); // activity at 1000
    clock.advance(1400);
    expect(session.transport).toBe("polling");
    clock.advance(100); // 1500 ms after the last poll
    expect(session.transport).toBeNull();
    const late = await startPoll(url, sid).answer;
    expect(late.status).toBe(200);
    expect(late.frames).toEqual([expect.objectContaining({ type: "close", code: 4000 })]);
    // Without leftovers, a poll for a detached session is told to resume.
    expect(await startPoll(url, sid).answer).toMatchObject({ status: 409, frames: [expect.objectContaining({ code: 4001 })] });
  });

  it("a /send counts as activity too, even one with an empty body", async () => {
    const clock = createManualClock();
    const { url, nextSession } = await startServer({ clock, heartbeat: { interval: 1000, timeout: 500 }, resumeWindow: 10_000 });
    const { sid } = await openPolling(url);
    const session = await nextSession();
    clock.advance(1400);
    expect((await request(`${url}/send?sid=${sid}`, { method: "POST", body: "" })).status).toBe(204); // activity at 1400
    clock.advance(1400);
    expect(session.transport).toBe("polling");
    clock.advance(100); // 1500 ms after the send
    expect(session.transport).toBeNull();
  });

  it("resumes with POST /poll and replays unacked messages", async () => {
    const { url, nextSession } = await startServer();
    const { sid } = await openPolling(url);
    const session = await nextSession();
    session.send("1");
    session.send("2");
    await nextTurn();
    const again = await postFrames(`${url}/poll`, [hello(sid, 1)]);
    expect(again.frames).toEqual([expect.objectContaining({ type: "welcome", resumed: true, sessionId: sid }), text(2, "2")]);
  });

  it("session.close() answers the held poll with the close frame after queued messages", async () => {
    const { url, nextSession } = await startServer();
    const { sid } = await openPolling(url);
    const session = await nextSession();
    const poll = startPoll(url, sid);
    await new Promise((resolve) => setTimeout(resolve, 20));
    session.send("bye");
    session.close(1000, "done");
    expect((await poll.answer).frames).toEqual([text(1, "bye"), { type: "close", code: 1000, reason: "done" }]);
  });

  it("keeps a close that found no poll held for the next poll", async () => {
    const { url, nextSession } = await startServer();
    const { sid } = await openPolling(url);
    const session = await nextSession();
    session.send("bye");
    session.close(4444, "kicked");
    expect((await startPoll(url, sid).answer).frames).toEqual([text(1, "bye"), { type: "close", code: 4444, reason: "kicked" }]);
    expect(await startPoll(url, sid).answer).toMatchObject({ status: 404, frames: [expect.objectContaining({ code: 4004 })] });
  });

  it("hands out a large backlog left at session.close() one piece per poll, the close frame last", async () => {
    const { url, nextSession } = await startServer();
    const { sid } = await openPolling(url);
    const session = await nextSession();
    const big = "q".repeat(100_000);
    for (let i = 0; i < 5; i++) session.send(big);
    await nextTurn();
    const first = await startPoll(url, sid).answer; // one piece of the live link's queue
    session.close(4444, "kicked");
    const answers = [first];
    while (!answers.at(-1)!.frames.some((frame) => frame.type === "close")) answers.push(await startPoll(url, sid).answer);
    expect(answers.every((a) => a.status === 200 && Buffer.byteLength(a.text) <= POLL_PIECE_BYTES)).toBe(true);
    expect(answers.flatMap((a) => a.frames)).toEqual([...[1, 2, 3, 4, 5].map((seq) => text(seq, big)), { type: "close", code: 4444, reason: "kicked" }]);
    expect(answers.length).toBe(3);
  });

  it("a link replaced by a newer one keeps only its close for the next poll: the newer link replays the messages", async () => {
    const { url, nextSession } = await startServer();
    const { sid } = await openPolling(url);
    const session = await nextSession();
    session.send("queued, never polled");
    await nextTurn();
    const ws = await wsSession(url, sid, 0);
    expect(await ws.inbox.next("message")).toEqual(text(1, "queued, never polled"));
    expect((await startPoll(url, sid).answer).frames).toEqual([expect.objectContaining({ type: "close", code: 4001 })]);
  });

  it("answers a poll of an older link at once, so it cannot take frames meant for the link that holds the session", async () => {
    const { url, nextSession } = await startServer();
    const hello = (attempt: number, sessionId?: string): Frame => ({ type: "hello", version: 1, ack: 0, attempt, ...(sessionId ? { sessionId } : {}) });
    const { sid } = await openPolling(url, [hello(1)]);
    const session = await nextSession();
    // The client moved to a new polling link (attempt 2); a poll of the first one is still around.
    const resumed = await postFrames(`${url}/poll`, [hello(2, sid)]);
    expect(resumed.frames[0]).toMatchObject({ type: "welcome", resumed: true });
    const current = request(`${url}/poll?sid=${sid}&attempt=2`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const stale = await request(`${url}/poll?sid=${sid}&attempt=1`);
    expect(stale.status).toBe(200); // the first link's own last words: it was replaced
    expect(stale.frames).toEqual([expect.objectContaining({ type: "close", code: 4001 })]);
    expect(await request(`${url}/poll?sid=${sid}&attempt=1`)).toMatchObject({ status: 409, frames: [expect.objectContaining({ code: 4001 })] });
    session.send("for the current link");
    expect((await current).frames).toEqual([text(1, "for the current link")]);
  });

  it("refuses a poll with a malformed attempt with 400", async () => {
    const { url } = await startServer();
    const { sid } = await openPolling(url);
    expect(await request(`${url}/poll?sid=${sid}&attempt=-1`)).toMatchObject({ status: 400, frames: [expect.objectContaining({ code: 4100, reason: "malformed attempt query parameter" })] });
    expect(await request(`${url}/poll?sid=${sid}&attempt=${2 ** 53}`)).toMatchObject({ status: 400 });
  });

  it("polls with any attempt number a hello may carry, up to 2^53 − 1", async () => {
    const { url, nextSession } = await startServer();
    const attempt = Number.MAX_SAFE_INTEGER;
    const { sid } = await openPolling(url, [{ type: "hello", version: PROTOCOL_VERSION, ack: 0, attempt }]);
    const session = await nextSession();
    const poll = fetch(`${url}/poll?sid=${sid}&attempt=${attempt}`).then((res) => res.text());
    await nextTurn();
    session.send("reached");
    expect(decodeBatch(await poll)).toEqual([text(1, "reached")]);
  });

  it("answers /send for a session that just ended with 204, for as long as its client keeps sending", async () => {
    const clock = createManualClock();
    const { url, nextSession } = await startServer({ clock, heartbeat: { interval: 1000, timeout: 500 } });
    const { sid } = await openPolling(url);
    const session = await nextSession();
    session.close(4444, "done");
    const ack = () => postFrames(`${url}/send?sid=${sid}`, [{ type: "ack", seq: 0 }]);
    expect((await ack()).status).toBe(204); // its client may still be reading the close frame
    clock.advance(1400);
    expect((await ack()).status).toBe(204); // each send keeps the ended session in mind
    clock.advance(1400);
    expect((await ack()).status).toBe(204);
    clock.advance(1500);
    expect(await ack()).toMatchObject({ status: 404, frames: [expect.objectContaining({ code: 4004 })] });
    expect(await postFrames(`${url}/send?sid=never-was`, [{ type: "ack", seq: 0 }])).toMatchObject({ status: 404 });
  });

  it("keeps a large leftover as long as its polls keep coming, one piece each", async () => {
    const clock = createManualClock();
    const { url, nextSession } = await startServer({ clock, heartbeat: { interval: 1000, timeout: 500 } });
    const { sid } = await openPolling(url);
    const session = await nextSession();
    const big = "l".repeat(100_000);
    for (let i = 0; i < 5; i++) session.send(big);
    session.close(4444, "done"); // no poll held: everything waits for the next polls
    const frames = [];
    for (let i = 0; i < 3; i++) {
      clock.advance(1400); // each piece comes just within pingInterval + pingTimeout of the last
      frames.push(...(await startPoll(url, sid).answer).frames);
    }
    expect(frames).toEqual([...[1, 2, 3, 4, 5].map((seq) => text(seq, big)), { type: "close", code: 4444, reason: "done" }]);
  });

  it("answers 409 and 4001 to a poll for a session that moved to another transport", async () => {
    const { url, nextSession } = await startServer();
    const { sid } = await openPolling(url);
    await nextSession();
    const held = startPoll(url, sid);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const stream = await fetch(`${url}/stream`, { method: "POST", body: JSON.stringify(["h", { v: 1, sid, ack: 0 }]) });
    expect(stream.status).toBe(200);
    expect((await held.answer).frames).toEqual([expect.objectContaining({ type: "close", code: 4001 })]);
    const stale = await startPoll(url, sid).answer;
    expect(stale.status).toBe(409);
    expect(stale.frames).toEqual([expect.objectContaining({ type: "close", code: 4001 })]);
    await stream.body?.cancel();
  });

  it("refuses a poll for an unknown session with 404 and 4004, and one without sid with 400", async () => {
    const { url } = await startServer();
    expect(await startPoll(url, "ZZZZZZZZZZZZZZZZZZZZZZZZ").answer).toMatchObject({ status: 404, frames: [{ type: "close", code: 4004, reason: expect.any(String) }] });
    expect(await request(`${url}/poll`)).toMatchObject({ status: 400, frames: [expect.objectContaining({ code: 4100 })] });
    expect(await request(`${url}/poll?sid=${encodeURIComponent("bad sid!")}`)).toMatchObject({ status: 400 });
  });

  it("ends the session on a client close frame", async () => {
    const { url, nextSession } = await startServer();
    const { sid } = await openPolling(url);
    const closed = closeOf(await nextSession());
    const held = startPoll(url, sid);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await postFrames(`${url}/send?sid=${sid}`, [{ type: "close", code: 1000, reason: "" }]);
    expect(await closed).toEqual({ code: 1000, reason: "" });
    expect(await held.answer).toMatchObject({ status: 200, frames: [] });
  });

  it("refuses a client close frame with a code session.close() could not send, ending the session with 4100", async () => {
    const { url, nextSession } = await startServer();
    const { sid } = await openPolling(url);
    const closed = closeOf(await nextSession());
    const sent = await postFrames(`${url}/send?sid=${sid}`, [{ type: "close", code: 1005, reason: "" }]);
    expect(sent).toMatchObject({ status: 400, frames: [expect.objectContaining({ code: 4100 })] });
    expect(await closed).toEqual({ code: 4100, reason: "close code 1005 is not one a client may send" });
  });

  it("drops the link of a client that stops polling while data piles up, keeping the messages for a resume", async () => {
    const { url, nextSession } = await startServer({ maxMessageSize: 1000, replayBuffer: { maxBytes: 1_000_000 } });
    const { sid } = await openPolling(url);
    const session = await nextSession();
    const chunk = "z".repeat(1000);
    // Limit: 2 × max(body limit, replay bytes) = 2 MB of queued frames: 1980 frames of 1010 chars.
    let sent = 0;
    while (sent < 2500 && session.transport) {
      session.send(chunk);
      if (++sent % 10 === 0) await nextTurn();
    }
    await nextTurn();
    expect(session.transport).toBeNull();
    expect(sent).toBe(1980); // (the drop is seen at a flush, every 10 sends)
    const late = await startPoll(url, sid).answer;
    expect(late.frames).toEqual([{ type: "close", code: 4000, reason: expect.stringContaining("not reading") }]);
    const resumed = await postFrames(`${url}/poll`, [hello(sid, sent - 1)]);
    expect(resumed.frames[0]).toMatchObject({ type: "welcome", resumed: true });
    expect(resumed.frames.slice(1)).toEqual([text(sent, chunk)]);
  });

  it("keeps a resumed link whose replay is still going out while newer messages evict it from the buffer", async () => {
    // 90 messages of 6000 chars replayed (540,000 chars over a 200,000 base); then lighter ones
    // push them out of the buffer (90 messages at most) before the client has acknowledged them.
    const { url, nextSession } = await startServer({ maxMessageSize: 1000, replayBuffer: { maxBytes: 100_000, maxMessages: 90 } });
    const { sid } = await openPolling(url);
    const session = await nextSession();
    const control = await sendPolledUnacknowledged(url, sid, session);
    const resumed = await postFrames(`${url}/poll`, [hello(sid, 0)]);
    expect(resumed.frames[0]).toMatchObject({ type: "welcome", resumed: true });
    for (let sent = 0; sent < 80; sent++) {
      session.send("x".repeat(1000));
      await nextTurn();
    }
    expect(session.transport).toBe("polling");
    const received: Frame[] = resumed.frames.slice(1);
    while (received.length < 170) received.push(...(await startPoll(url, sid).answer).frames.filter((f) => f.type === "message"));
    expect(received.map((f) => (f.type === "message" ? f.seq : -1))).toEqual(Array.from({ length: 170 }, (_, i) => i + 1));
  });

  it("drops the link of a client that never reads at the configured limit, however the messages encode", async () => {
    // 2 × max(body limit, replay bytes) = 200,000 chars: about 33 messages of 6000 (\u0001 each).
    const { url, nextSession } = await startServer({ maxMessageSize: 1000, replayBuffer: { maxBytes: 100_000 } });
    const { sid } = await openPolling(url);
    const session = await nextSession();
    let sent = 0;
    while (sent < 100 && session.transport) {
      session.send("\u0001".repeat(1000));
      sent++;
      await nextTurn();
    }
    expect(session.transport).toBeNull();
    expect(sent).toBe(34);
    const late = await startPoll(url, sid).answer;
    expect(late.frames).toEqual([{ type: "close", code: 4000, reason: expect.stringContaining("not reading") }]);
  });

  it("keeps the link of a client that resumes into an escape-heavy replay larger than the base limit", async () => {
    // Base limit: 2 × max(body limit, replay bytes) = 200,000 chars. Each message is 1000 payload
    // bytes that JSON writes as 6000 chars (\u0001 each), so 90 of them replay 540,000 chars.
    const { url, nextSession } = await startServer({ maxMessageSize: 1000, replayBuffer: { maxBytes: 100_000 } });
    const { sid } = await openPolling(url);
    const session = await nextSession();
    const control = await sendPolledUnacknowledged(url, sid, session);
    // Nothing was acknowledged: the resume replays all 90; the hello's answer takes the first piece.
    const received: Frame[] = (await postFrames(`${url}/poll`, [hello(sid, 0)])).frames;
    expect(received[0]).toMatchObject({ type: "welcome", resumed: true });
    // Written while no poll waits, with most of the replay still queued.
    session.send("after");
    await nextTurn();
    expect(session.transport).toBe("polling");
    while (received.length < 92) {
      const { frames } = await startPoll(url, sid).answer;
      expect(frames.length).toBeGreaterThan(0);
      received.push(...frames);
    }
    expect(received.slice(1)).toEqual([...Array.from({ length: 90 }, (_, i) => text(i + 1, control)), text(91, "after")]);
  });
});
