import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { connect, type Connection, type MessageData } from "@lifeline/client";
import { createServer, type LifelineServer } from "@lifeline/server";

type TransportName = "websocket" | "streaming" | "polling";
const transports: TransportName[] = ["websocket", "streaming", "polling"];

let server: LifelineServer | undefined;
let conn: Connection | undefined;

afterEach(async () => {
  conn?.close();
  conn = undefined;
  await server?.close();
  server = undefined;
});

async function echoServer(): Promise<string> {
  server = createServer();
  server.on("connection", (session) => session.on("message", (data) => session.send(data)));
  const { url } = await server.listen(0, "127.0.0.1");
  return url;
}

function nextMessages(c: Connection, count: number): Promise<MessageData[]> {
  return new Promise((resolve) => {
    const got: MessageData[] = [];
    const off = c.on("message", (m) => {
      got.push(m);
      if (got.length === count) {
        off();
        resolve(got);
      }
    });
  });
}

function opened(c: Connection) {
  return new Promise<{ transport: string; resumed: boolean }>((resolve) => c.on("open", resolve));
}

describe.each(transports)("client ↔ server over %s", (transport) => {
  it("opens on the forced transport and echoes text and binary", async () => {
    const url = await echoServer();
    conn = connect(url, { transports: [transport], WebSocket: WebSocket as never });
    const open = await opened(conn);
    expect(open.transport).toBe(transport);
    expect(conn.transport).toBe(transport);
    expect(conn.id).toMatch(/.{16,}/);
    const replies = nextMessages(conn, 2);
    conn.send("hello");
    conn.send(new Uint8Array([0, 1, 2, 255]));
    const [text, bytes] = await replies;
    expect(text).toBe("hello");
    expect(bytes).toEqual(new Uint8Array([0, 1, 2, 255]));
  });
});
