import { request } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createHostileProxy, type HostileProxy } from "@lifeline/testkit";
import { closeOf, fetchText, openOf, sleep, startHttpTarget, type Target } from "./helpers/targets.js";

describe("createHostileProxy", () => {
  let target: Target & { readonly webSocketMessages: readonly string[] };
  let proxy: HostileProxy;
  const sockets: WebSocket[] = [];
  const webSocket = (query = "") => {
    const socket = new WebSocket(`${proxy.url.replace("http", "ws")}/${query}`);
    socket.on("error", () => {});
    sockets.push(socket);
    return socket;
  };
  const get = (path: string) => fetchText(`${proxy.url}${path}`);
  /** Resolves with how many messages arrived before the socket closed. */
  const messagesBeforeClose = (socket: WebSocket) => {
    let count = 0;
    socket.on("message", () => (count += 1));
    return closeOf(socket).then(() => count);
  };

  beforeEach(async () => {
    target = await startHttpTarget();
    proxy = await createHostileProxy({ target });
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await proxy.close();
    await target.close();
  });

  describe("plain forwarding", () => {
    it("keeps method, path, headers (Origin included) and body", async () => {
      const reply = await fetchText(`${proxy.url}/echo?x=1`, {
        method: "POST",
        headers: { origin: "https://app.example", "x-custom": "yes", "content-type": "text/plain" },
        body: "payload",
      });
      expect(reply.status).toBe(200);
      const seen = JSON.parse(reply.body) as { method: string; url: string; headers: Record<string, string>; body: string };
      expect(seen).toMatchObject({ method: "POST", url: "/echo?x=1", body: "payload" });
      expect(seen.headers).toMatchObject({ origin: "https://app.example", "x-custom": "yes", host: `127.0.0.1:${proxy.port}` });
      expect(proxy.stats.requestsForwarded).toBe(1);
    });

    it("streams response chunks as they come", async () => {
      const reply = await get("/stream?chunks=3&everyMs=100");
      expect(reply.body).toBe("chunk 0\nchunk 1\nchunk 2\n");
      // The chunks were written 100 ms apart and arrive that way.
      const [first = 0, , last = 0] = reply.chunkTimesMs;
      expect(reply.chunkTimesMs).toHaveLength(3);
      expect(last - first).toBeGreaterThanOrEqual(150);
    });

    it("answers 502 when the target cannot be reached", async () => {
      const vacant = createServer();
      await new Promise<void>((resolve) => vacant.listen(0, "127.0.0.1", resolve));
      const { port } = vacant.address() as AddressInfo;
      await new Promise((resolve) => vacant.close(resolve));
      const orphan = await createHostileProxy({ target: { host: "127.0.0.1", port } });
      try {
        expect((await fetchText(`${orphan.url}/echo`)).status).toBe(502);
        const socket = new WebSocket(orphan.url.replace("http", "ws"));
        const status = new Promise((resolve) => socket.on("unexpected-response", (_req, res) => resolve(res.statusCode)));
        socket.on("error", () => {});
        expect(await status).toBe(502);
        socket.terminate();
      } finally {
        await orphan.close();
      }
    });

    it("forwards WebSocket upgrades and frames both ways", async () => {
      const socket = webSocket();
      await openOf(socket);
      const echoed = new Promise((resolve) => socket.once("message", (data) => resolve(String(data))));
      socket.send("ping over the proxy");
      expect(await echoed).toBe("ping over the proxy");
      expect(proxy.stats).toMatchObject({ upgradesSeen: 1, upgradesForwarded: 1 });
    });
  });

  it("refuseUpgrades() answers upgrades with a status or a dropped socket; HTTP still passes", async () => {
    proxy.refuseUpgrades(403);
    const refused = webSocket();
    const status = new Promise((resolve) => refused.on("unexpected-response", (_req, res) => resolve(res.statusCode)));
    expect(await status).toBe(403);

    proxy.refuseUpgrades("close");
    const dropped = webSocket();
    const opened = new Promise((resolve) => dropped.on("open", () => resolve(true)));
    expect((await Promise.race([closeOf(dropped), opened])) !== true).toBe(true);

    expect((await get("/slow?ms=0")).body).toBe("done");
    expect(proxy.stats).toMatchObject({ upgradesSeen: 2, upgradesRefused: 2, upgradesForwarded: 0 });
    expect(() => proxy.refuseUpgrades(42)).toThrow(RangeError);
  });

  it("hangUpgrades() leaves upgrades unanswered until the proxy closes", async () => {
    proxy.hangUpgrades(true);
    const hung = webSocket();
    const closed = closeOf(hung);
    await sleep(200);
    expect(hung.readyState).toBe(WebSocket.CONNECTING);
    expect(proxy.stats.upgradesHung).toBe(1);

    await proxy.close();
    expect((await closed).code).toBe(1006);
  });

  it("killWebSockets({ afterMs }) ends each WebSocket that long after it opened", async () => {
    proxy.killWebSockets({ afterMs: 200 });
    const socket = webSocket();
    await openOf(socket);
    const { code, afterMs } = await closeOf(socket);
    expect(code).toBe(1006);
    expect(afterMs).toBeGreaterThanOrEqual(180);
    expect(proxy.stats.webSocketsKilled).toBe(1);
  });

  it("killWebSockets({ afterFrames }) lets exactly N server frames through, in one chunk or many", async () => {
    proxy.killWebSockets({ afterFrames: 3 });
    // Ten small frames written at once share a TCP chunk.
    expect(await messagesBeforeClose(webSocket("?burst=10"))).toBe(3);

    // Frames of 100 kB span many chunks.
    proxy.killWebSockets({ afterFrames: 2 });
    expect(await messagesBeforeClose(webSocket("?burst=5&size=100000"))).toBe(2);
    expect(proxy.stats.webSocketsKilled).toBe(2);
  });

  it("killWebSockets({ atFirstFrame }) carries the client's frames and drops the WebSocket when the server answers", async () => {
    proxy.killWebSockets({ atFirstFrame: true });
    const socket = webSocket();
    await openOf(socket);
    // Nothing from the server yet: the tunnel stays up.
    await sleep(100);
    expect(socket.readyState).toBe(WebSocket.OPEN);
    const closed = messagesBeforeClose(socket);
    socket.send("reaches the target, which echoes it");
    // The echo proves the message got through; it is not carried, and the WebSocket ends.
    expect(await closed).toBe(0);
    expect(proxy.stats.webSocketsKilled).toBe(1);
  });

  it("muteWebSockets() carries the client's frames and nothing the server sends, without closing", async () => {
    proxy.muteWebSockets(true);
    const muted = webSocket("?burst=3");
    const received: string[] = [];
    muted.on("message", (data) => received.push(String(data)));
    await openOf(muted);
    muted.send("reaches the target");
    await expect.poll(() => target.webSocketMessages).toEqual(["reaches the target"]);
    // The burst and the echo were sent back, and swallowed.
    await sleep(100);
    expect(received).toEqual([]);
    expect(muted.readyState).toBe(WebSocket.OPEN);
    expect(proxy.stats.webSocketsKilled).toBe(0);

    // Those opened after it is switched off are carried both ways again.
    proxy.muteWebSockets(false);
    const plain = webSocket();
    await openOf(plain);
    const echoed = new Promise((resolve) => plain.once("message", (data) => resolve(String(data))));
    plain.send("both ways");
    expect(await echoed).toBe("both ways");
  });

  it("killWebSockets() applies to WebSockets opened afterwards only", async () => {
    const before = webSocket();
    await openOf(before);
    proxy.killWebSockets({ afterFrames: 0 });
    const after = webSocket();
    expect(await messagesBeforeClose(after)).toBe(0);

    const echoed = new Promise((resolve) => before.once("message", (data) => resolve(String(data))));
    before.send("still here");
    expect(await echoed).toBe("still here");
  });

  it("bufferResponses() sends a streamed body only once it is complete, with a content-length", async () => {
    proxy.bufferResponses(true);
    const reply = await get("/stream?chunks=3&everyMs=100");
    expect(reply.body).toBe("chunk 0\nchunk 1\nchunk 2\n");
    expect(reply.headers["content-length"]).toBe(String(reply.body.length));
    expect(reply.headers["transfer-encoding"]).toBeUndefined();
    // Nothing arrived before the last chunk was written (about 200 ms in).
    expect(reply.chunkTimesMs[0]).toBeGreaterThanOrEqual(180);
    expect(proxy.stats.responsesBuffered).toBe(1);

    // A long poll is a response that ends, so it arrives whole.
    expect((await get("/slow?ms=50")).body).toBe("done");

    // WebSockets are not HTTP responses and are not affected.
    await openOf(webSocket());
  });

  it("bufferRequests() sends a request body on only once the client has sent all of it", async () => {
    proxy.bufferRequests(true);
    const upload = request(`${proxy.url}/echo`, { method: "POST", headers: { "content-type": "text/plain" } });
    const answer = new Promise<string>((resolve, reject) => {
      upload.on("response", (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve(body));
      });
      upload.on("error", reject);
    });
    upload.write("first half, ");
    await sleep(100);
    upload.end("second half");
    const seen = JSON.parse(await answer) as { body: string; headers: Record<string, string> };
    expect(seen.body).toBe("first half, second half");
    // Sent by the client in chunks, it reached the target whole, with its length.
    expect(seen.headers["content-length"]).toBe(String(seen.body.length));
    expect(seen.headers["transfer-encoding"]).toBeUndefined();
  });

  it("blockLongRequests() lets short requests through and nothing else", async () => {
    proxy.blockLongRequests({ maxMs: 300 });

    const stream = await get("/stream?chunks=20&everyMs=50");
    expect(stream.status).toBe(504);
    expect(stream.body).not.toContain("chunk");

    const poll = await get("/slow?ms=100");
    expect(poll).toMatchObject({ status: 200, body: "done" });

    const socket = webSocket();
    const status = new Promise((resolve) => socket.on("unexpected-response", (_req, res) => resolve(res.statusCode)));
    expect(await status).toBe(403);
    expect(proxy.stats).toMatchObject({ responsesCut: 1, upgradesRefused: 1 });
  });

  it("blockPath() answers one endpoint with an HTML error page and lets the rest through", async () => {
    expect(() => proxy.blockPath({ suffix: "/stream", status: 200 })).toThrow(RangeError);
    proxy.blockPath({ suffix: "/stream", status: 403 });

    const blocked = await get("/stream?chunks=3&everyMs=10");
    expect(blocked.status).toBe(403);
    expect(blocked.body).toContain("<html>");
    expect(blocked.body).not.toContain("chunk");
    const other = await get("/slow?ms=10");
    expect(other).toMatchObject({ status: 200, body: "done" });
    await openOf(webSocket());
    expect(proxy.stats).toMatchObject({ requestsBlocked: 1, requestsForwarded: 1, upgradesForwarded: 1 });

    proxy.blockPath(null);
    expect((await get("/stream?chunks=2&everyMs=10")).status).toBe(200);
  });

  it("reset() restores plain forwarding", async () => {
    proxy.refuseUpgrades(404);
    proxy.bufferResponses(true);
    proxy.blockLongRequests({ maxMs: 50 });
    proxy.killWebSockets({ afterFrames: 0 });
    proxy.muteWebSockets(true);
    proxy.reset();

    const socket = webSocket("?burst=2");
    expect(await new Promise((resolve) => socket.on("message", (data) => data.toString().startsWith("1") && resolve(true)))).toBe(
      true,
    );
    const reply = await get("/stream?chunks=3&everyMs=100");
    expect(reply.chunkTimesMs).toHaveLength(3);
  });

  it("close() ends tunnels, in-flight exchanges and hung upgrades, and releases the port", async () => {
    const tunnel = webSocket();
    await openOf(tunnel);
    const tunnelClosed = closeOf(tunnel);
    proxy.hangUpgrades(true);
    const hungClosed = closeOf(webSocket());
    const streaming = get("/stream?chunks=100&everyMs=50").then(
      () => "completed",
      () => "aborted",
    );
    await sleep(100);

    const { port } = proxy;
    await proxy.close();
    await Promise.all([tunnelClosed, hungClosed]);
    expect(await streaming).toBe("aborted");

    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
    await new Promise((resolve) => squatter.close(resolve));
  });
});
