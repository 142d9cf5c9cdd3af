import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { connectWith } from "../../src/client.js";
import { webSocket } from "../../src/transports/websocket.js";
import { httpStream } from "../../src/transports/http-stream.js";
import { longPolling } from "../../src/transports/long-polling.js";
import type { Connection } from "../../src/types.js";
import { createServer } from "@lifeline/server";
import type { LifelineServer } from "@lifeline/server";
import { sleep, until } from "../helpers/integration.js";

let server: LifelineServer | undefined;
let conn: Connection | undefined;
afterEach(async () => {
  conn?.close();
  await server?.close();
});

describe("a resume raced on every transport at once", () => {
  it("settles on one link: a candidate that lost cannot take the session from the winner", async () => {
    server = createServer({});
    server.on("connection", () => {});
    const { url } = await server.listen(0, "127.0.0.1");
    const listeners = new Map<string, () => void>();
    const win = {
      addEventListener: (t: string, l: () => void) => void listeners.set(t, l),
      removeEventListener: (t: string) => void listeners.delete(t),
    };
    conn = connectWith(url, {
      transportFactories: [webSocket, httpStream, longPolling],
      WebSocket,
      fetch: globalThis.fetch,
      TextDecoder,
      fallbackDelay: 0,
      upgrade: false,
      rememberTransport: false,
      reconnect: { initialDelay: 50, maxDelay: 50, jitter: 0 },
      networkSources: { window: win as never },
    } as never);
    const log: string[] = [];
    conn.on("statechange", ({ from, to, reason }) => log.push(`${from}->${to}: ${reason}`));
    await until(() => conn!.state === "open", 3000, "open");
    await sleep(300);
    log.length = 0;
    listeners.get("offline")!(); // drop the link once: the retry resumes the session
    await sleep(2000);
    const losses = log.filter((l) => l.startsWith("open->reconnecting"));
    expect(losses).toHaveLength(1);
  });
});
