import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { connect } from "@lifeline/client";
import type { TransportName } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import { cleanupAfterEach, until } from "../helpers/integration.js";

const cleanups = cleanupAfterEach();

/** A server that counts the messages it receives, and an open connection to it over `transport`. */
async function connected(transport: TransportName, maxMessageSize: number) {
  const server = createServer({ maxMessageSize });
  cleanups.push(() => server.close());
  let received = 0;
  server.on("connection", (s) => s.on("message", () => received++));
  const { url } = await server.listen(0, "127.0.0.1");
  const conn = connect(url, { transports: [transport], WebSocket });
  cleanups.push(() => conn.close());
  await new Promise<void>((r) => conn.on("open", () => r()));
  const errors: string[] = [];
  conn.on("error", (e) => errors.push(e.code));
  return { conn, errors, received: () => received };
}

describe.each(["websocket", "streaming", "polling"] as TransportName[])("batches over %s", (transport) => {
  it("many small messages accepted by send() all reach the server (maxMessageSize 64 KiB)", async () => {
    const { conn, errors, received } = await connected(transport, 65536);
    // 20 000 five-byte messages in one tick: 100 000 bytes of payload, each under the limit.
    for (let i = 0; i < 20_000; i++) conn.send(String(i % 100000).padStart(5, "0"));
    await until(() => received() === 20_000 || conn.state === "closed", 10_000, "delivery or close");
    expect(errors).toEqual([]);
    expect(received()).toBe(20_000);
  });

  it("one message at the limit made of quotes reaches the server (default limit)", async () => {
    const { conn, errors, received } = await connected(transport, 200_000);
    conn.send('"'.repeat(200_000)); // accepted: exactly the limit
    await until(() => received() === 1 || conn.state === "closed", 10_000, "delivery or close");
    expect(errors).toEqual([]);
    expect(received()).toBe(1);
  });
});
