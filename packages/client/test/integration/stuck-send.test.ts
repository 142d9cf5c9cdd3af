import { afterEach, describe, expect, it } from "vitest";

/** An upstream request that never answers must not hold every later message back. */
import { connect } from "@lifeline/client";
import type { Connection } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import type { LifelineServer } from "@lifeline/server";
import { sleep, until } from "../helpers/integration.js";

let server: LifelineServer | undefined;
let conn: Connection | undefined;
afterEach(async () => {
  conn?.close();
  await server?.close();
});

describe("a POST /send that never answers", () => {
  it.each(["polling", "streaming"] as const)("over %s: it is given up after interval + timeout and the link replaced, nothing lost", async (transport) => {
    server = createServer({ heartbeat: { interval: 200, timeout: 200 } });
    let received = 0;
    server.on("connection", (s) => s.on("message", () => received++));
    const { url } = await server.listen(0, "127.0.0.1");
    let stuck = true;
    const stuckAborts: AbortSignal[] = [];
    // One pooled connection went dead: POSTs to /send hang (until aborted); everything else works.
    const fetch: typeof globalThis.fetch = (input, init) => {
      if (stuck && String(input).includes("/send?")) {
        stuck = false; // only the first POST /send goes into the dead connection
        return new Promise((_, reject) => {
          const signal = init?.signal;
          if (signal) stuckAborts.push(signal);
          signal?.addEventListener("abort", () => reject(new Error("aborted")));
        });
      }
      return globalThis.fetch(input, init);
    };
    conn = connect(url, { transports: [transport], fetch });
    const states: string[] = [];
    conn.on("statechange", ({ to }) => states.push(to));
    await until(() => conn!.state === "open", 3000, "open");
    conn.send("hello");
    conn.send("second");
    // Given up after interval + timeout (400 ms), the link is replaced and both messages resent.
    await until(() => received >= 2, 3000, "both messages");
    await sleep(100);
    expect(received).toBe(2);
    expect(states).toContain("reconnecting");
    expect(stuckAborts.every((signal) => signal.aborted)).toBe(true);
  });
});
