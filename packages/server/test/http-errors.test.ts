import { encodeFrame, maxBatchLines } from "@lifeline/protocol";
import { request as httpRequest } from "node:http";
import { describe, expect, it, vi } from "vitest";
import { echo, startServer } from "./helpers/server.js";
import { hello, openStream, openWs, postFrames, request, text, wsSession } from "./helpers/wire.js";

describe("HTTP refusals (docs/protocol.md §2)", () => {
  it("404 + 4004 for an unknown path under the base path", async () => {
    const { url } = await startServer();
    for (const path of ["", "/", "/nope", "/ws/extra"]) {
      const answer = await request(url + path);
      expect(answer.status, path).toBe(404);
      expect(answer.frames, path).toEqual([{ type: "close", code: 4004, reason: expect.any(String) }]);
    }
  });

  it("405 + 4100 with Allow for a wrong method", async () => {
    const { url } = await startServer();
    const cases: [string, string, string][] = [
      ["GET", "/stream", "POST"],
      ["GET", "/send?sid=abc", "POST"],
      ["PUT", "/poll", "GET, POST"],
      ["DELETE", "/ws", "GET"],
    ];
    for (const [method, path, allow] of cases) {
      const answer = await request(url + path, { method });
      expect(answer.status, `${method} ${path}`).toBe(405);
      expect(answer.headers.get("allow")).toBe(allow);
      expect(answer.frames).toEqual([expect.objectContaining({ type: "close", code: 4100 })]);
    }
  });

  it("400 + 4100 for a GET on the WebSocket endpoint without upgrade", async () => {
    const { url } = await startServer();
    expect(await request(url + "/ws")).toMatchObject({ status: 400, frames: [expect.objectContaining({ code: 4100 })] });
  });

  it("400 + 4100, saying why, for an Upgrade on an endpoint other than the WebSocket one (curl --http2)", async () => {
    const { url } = await startServer();
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const headers = { connection: "Upgrade, HTTP2-Settings", upgrade: "h2c", "http2-settings": "AAMAAABkAAQAoAAAAAIAAAAA", "content-type": "text/plain" };
      const req = httpRequest(url + "/poll", { method: "POST", headers, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end(encodeFrame(hello()));
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual(["c", 4100, expect.stringMatching(/\/poll takes no Upgrade \(only \/ws does\)/)]);
  });

  it("400 + 4100 for a malformed body, a missing sid, or a body that is not UTF-8", async () => {
    const { url } = await startServer();
    expect(await request(url + "/stream", { method: "POST", body: "{not json" })).toMatchObject({ status: 400, frames: [expect.objectContaining({ code: 4100 })] });
    expect(await request(url + "/poll", { method: "POST", body: '["m",1,"x"]' })).toMatchObject({ status: 400, frames: [expect.objectContaining({ code: 4100 })] });
    expect(await request(url + "/poll", { method: "POST", body: "" })).toMatchObject({ status: 400 });
    expect(await postFrames(url + "/send", [text(1, "x")])).toMatchObject({ status: 400, frames: [expect.objectContaining({ code: 4100 })] });
    const invalidUtf8 = await fetch(url + "/stream", { method: "POST", body: new Uint8Array([0x5b, 0xff, 0xfe, 0x5d]) });
    expect(invalidUtf8.status).toBe(400);
    expect(await invalidUtf8.text()).toContain("UTF-8");
  });

  it("400 + 4101 for an unsupported version over HTTP", async () => {
    const { url } = await startServer();
    expect(await postFrames(url + "/poll", [hello(undefined, 0, 7)])).toMatchObject({ status: 400, frames: [expect.objectContaining({ code: 4101 })] });
  });

  it("404 + 4004 for /send to a session that does not exist", async () => {
    const { url } = await startServer();
    expect(await postFrames(url + "/send?sid=AAAAAAAAAAAAAAAAAAAAAAAA", [text(1, "x")])).toMatchObject({
      status: 404,
      frames: [{ type: "close", code: 4004, reason: expect.any(String) }],
    });
  });

  it("413 + 4102 for a body over the limit, and for one message over maxMessageSize", async () => {
    const { url, sessions } = await startServer({ maxMessageSize: 1000 }); // body limit 6 × 1000 + 64 KiB
    const huge = "x".repeat(6000 + 64 * 1024 + 1);
    const tooBig = await request(url + "/stream", { method: "POST", body: huge });
    expect(tooBig).toMatchObject({ status: 413, frames: [expect.objectContaining({ code: 4102 })] });

    const opened = await postFrames(url + "/poll", [hello()]);
    const sid = (opened.frames[0] as { sessionId: string }).sessionId;
    const overMessage = await postFrames(`${url}/send?sid=${sid}`, [text(1, "y".repeat(1001))]);
    expect(overMessage).toMatchObject({ status: 413, frames: [expect.objectContaining({ code: 4102 })] });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.transport).toBeNull(); // closed with 4102
    // Ended just now: a later send is taken and dropped (204), since its client may still be
    // reading the close frame; the session stays closed.
    expect(await postFrames(`${url}/send?sid=${sid}`, [text(1, "late")])).toMatchObject({ status: 204 });
    expect(sessions[0]!.transport).toBeNull();
  });

  it("413 + 4102 for a batch of more lines than maxBatchLines, though within the body limit", async () => {
    const { url, sessions } = await startServer({ maxMessageSize: 100_000 });
    const maxLines = maxBatchLines(100_000); // 12500 + 8192, in a body far under the byte limit
    const opened = await postFrames(url + "/poll", [hello()]);
    const sid = (opened.frames[0] as { sessionId: string }).sessionId;
    const pings = (count: number) => Array.from({ length: count }, (_, i) => `["p",${i}]`).join("\n");
    expect(await request(`${url}/send?sid=${sid}`, { method: "POST", body: pings(maxLines) })).toMatchObject({ status: 204 });
    const over = await request(`${url}/send?sid=${sid}`, { method: "POST", body: pings(maxLines + 1) });
    expect(over).toMatchObject({ status: 413, frames: [{ type: "close", code: 4102, reason: `batch of more than ${maxLines} lines` }] });
    expect(sessions[0]!.transport).toBeNull(); // ended with 4102
    // Blank lines count: they cost the reader as much as frames.
    const blank = await request(url + "/stream", { method: "POST", body: `${encodeFrame(hello())}${"\n".repeat(maxLines)}` });
    expect(blank).toMatchObject({ status: 413, frames: [expect.objectContaining({ code: 4102 })] });
  });

  it("a /send body refused as too large or malformed ends its session, as over WebSocket", async () => {
    for (const body of ["z".repeat(6000 + 64 * 1024 + 1), "not a frame"]) {
      const { url, sessions, server } = await startServer({ maxMessageSize: 1000 });
      const stream = await openStream(url, [hello()]);
      const sid = (await stream.inbox.next("welcome")).sessionId;
      const closed = new Promise<{ code: number }>((resolve) => sessions[0]!.on("close", resolve));
      const answer = await request(`${url}/send?sid=${sid}`, { method: "POST", body });
      const code = body.startsWith("z") ? 4102 : 4100;
      expect(answer).toMatchObject({ status: code === 4102 ? 413 : 400, frames: [expect.objectContaining({ code })] });
      expect((await closed).code).toBe(code);
      expect([...server.sessions]).toEqual([]);
      // The stream hears why and ends.
      expect(await stream.inbox.next("close")).toMatchObject({ code });
      await stream.ended;
    }
  });

  it("refuses a new session whose opening batch breaks the rules with the status, before announcing it", async () => {
    const { url, sessions, server } = await startServer({ maxMessageSize: 10 });
    const stream = await openStream(url, [hello(), text(1, "x".repeat(100))]);
    expect(stream.status).toBe(413);
    await stream.ended;
    expect(stream.lines.map((line) => JSON.parse(line)[0])).toEqual(["c"]);
    const poll = await postFrames(url + "/poll", [hello(), { type: "ack", seq: 5 }]);
    expect(poll).toMatchObject({ status: 400, frames: [expect.objectContaining({ code: 4100 })] });
    const ws = await openWs(url);
    ws.send(hello(), text(1, "x".repeat(100)));
    expect((await ws.closed).code).toBe(4102);
    expect(sessions).toEqual([]);
    expect([...server.sessions]).toEqual([]);
  });

  it("403 + 4103 for a disallowed Origin; allowed origins are echoed, requests without Origin pass", async () => {
    const { url } = await startServer({ allowedOrigins: ["https://app.example"] });
    const refused = await postFrames(url + "/poll", [hello()], { Origin: "https://evil.example" });
    expect(refused).toMatchObject({ status: 403, frames: [expect.objectContaining({ code: 4103 })] });
    expect(refused.headers.get("vary")).toBe("Origin");

    const allowed = await postFrames(url + "/poll", [hello()], { Origin: "https://APP.example" });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://APP.example");
    expect(allowed.headers.get("vary")).toBe("Origin");

    const noOrigin = await postFrames(url + "/poll", [hello()]);
    expect(noOrigin.status).toBe(200);
    expect(noOrigin.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("410 + the app's own close frame for a resume of a session the app closed while its client was away", async () => {
    const { url, nextSession } = await startServer();
    const away = await wsSession(url);
    const session = await nextSession();
    away.ws.close();
    await vi.waitFor(() => expect(session.transport).toBeNull());
    session.close(4999, "kicked");
    for (const endpoint of ["/poll", "/stream"]) {
      const answer = await postFrames(url + endpoint, [hello(away.welcome.sessionId, 0)]);
      expect(answer.status, endpoint).toBe(410);
      expect(answer.frames, endpoint).toEqual([{ type: "close", code: 4999, reason: "kicked" }]);
    }
    const back = await openWs(url);
    back.send(hello(away.welcome.sessionId, 0));
    expect(await back.inbox.next("close")).toEqual({ type: "close", code: 4999, reason: "kicked" });
    expect(await back.closed).toEqual({ code: 4999, reason: "kicked" });

    // A session that ended otherwise (here by the client's own close frame) leaves nothing: a
    // hello naming it starts a new session, as one naming an expired session does.
    const leaving = await wsSession(url);
    leaving.send({ type: "close", code: 1000, reason: "" });
    await leaving.closed;
    const after = await wsSession(url, leaving.welcome.sessionId, 0);
    expect(after.welcome).toMatchObject({ resumed: false });
    expect(after.welcome.sessionId).not.toBe(leaving.welcome.sessionId);
  });

  it("answers OPTIONS preflights under the base path with 204", async () => {
    const { url } = await startServer();
    const answer = await request(url + "/send?sid=x", {
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, x-trace" },
    });
    expect(answer.status).toBe(204);
    expect(answer.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(answer.headers.get("access-control-allow-methods")).toContain("POST");
    expect(answer.headers.get("access-control-allow-headers")).toBe("content-type, x-trace");
  });

  it("keeps serving a healthy session while others send garbage", async () => {
    const { server, url } = await startServer({ maxMessageSize: 100 });
    echo(server);
    const healthy = await wsSession(url);
    const attacks = [
      request(url + "/stream", { method: "POST", body: "\u0000\u0001garbage" }),
      request(url + "/send?sid=forged", { method: "POST", body: '["m",1,"x"]' }),
      request(url + "/poll?sid=forged"),
      request(url + "/send", { method: "POST", body: "x".repeat(200_000) }).catch(() => undefined),
      openWs(url).then((peer) => peer.ws.send("][")),
      openWs(url).then((peer) => peer.send(hello("forged-but-well-formed", 99))),
    ];
    await Promise.all(attacks);
    healthy.send(text(1, "still fine"));
    expect(await healthy.inbox.next("message")).toEqual(text(1, "still fine"));
  });
});
