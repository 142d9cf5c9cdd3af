import { readFileSync } from "node:fs";
import { connect as connectHttp2, createSecureServer, type ClientHttp2Session, type Http2SecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createServer, type LifelineServer } from "../src/index.js";

/**
 * The server attached to Node's HTTP/2 server (TLS, allowing HTTP/1.1 beside it), as behind no
 * proxy: browsers then stream and poll over HTTP/2, where six tabs no longer share six
 * connections. The certificate in fixtures/ is a self-signed one for 127.0.0.1, for tests only.
 */

const key = readFileSync(new URL("./fixtures/localhost-key.pem", import.meta.url));
const cert = readFileSync(new URL("./fixtures/localhost-cert.pem", import.meta.url));

let open: { h2: Http2SecureServer; lifeline: LifelineServer; client: ClientHttp2Session } | undefined;

afterEach(async () => {
  if (!open) return;
  const { h2, lifeline, client } = open;
  open = undefined;
  client.destroy();
  await lifeline.close();
  await new Promise<void>((resolve) => h2.close(() => resolve()));
});

async function start(): Promise<ClientHttp2Session> {
  const h2 = createSecureServer({ key, cert, allowHTTP1: true });
  const lifeline = createServer({ path: "/lifeline", maxMessageSize: 1024 });
  // Typed to take it: no cast.
  lifeline.attach(h2);
  await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
  const client = connectHttp2(`https://127.0.0.1:${(h2.address() as AddressInfo).port}`, { ca: cert });
  open = { h2, lifeline, client };
  return client;
}

/**
 * POSTs `body` to `path` over HTTP/2; resolves with the status, the headers and the body up to
 * its first frame (a stream opens with blank lines that get it past buffering proxies).
 */
function post(client: ClientHttp2Session, path: string, body: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; first: string }>((resolve, reject) => {
    const stream = client.request({ ":method": "POST", ":path": path, "content-type": "text/plain;charset=UTF-8" });
    let headers: Record<string, unknown> = {};
    let text = "";
    stream.on("response", (received) => (headers = received));
    stream.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (!text.trim()) return;
      resolve({ status: Number(headers[":status"]), headers, first: text.trimStart() });
      stream.close();
    });
    stream.on("end", () => resolve({ status: Number(headers[":status"]), headers, first: text.trimStart() }));
    stream.on("error", reject);
    stream.end(body);
  });
}

describe("attached to an HTTP/2 server", () => {
  it("streams over HTTP/2: a stream's welcome arrives before the response ends", async () => {
    const client = await start();
    const { status, first } = await post(client, "/lifeline/stream", '["h",{"v":1,"ack":0}]');
    expect(status).toBe(200);
    expect(first).toMatch(/^\["w",\{"v":1,"sid":"/);
  });

  it("refuses an oversized body with 413 and no Connection header, which HTTP/2 does not allow", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    try {
      const client = await start();
      const { status, headers, first } = await post(client, "/lifeline/stream", `["h",{"v":1,"ack":0}]\n["m",1,"${"x".repeat(100_000)}"]`);
      expect(status).toBe(413);
      expect(headers["connection"]).toBeUndefined();
      expect(first).toMatch(/^\["c",4102,/);
      // Node warns on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });
});
