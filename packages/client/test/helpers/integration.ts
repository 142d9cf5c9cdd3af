import { afterEach } from "vitest";
import { WebSocket } from "ws";
import { connect } from "@lifeline/client";
import type { ClientOptions, Connection, TransportName } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import type { LifelineServer, ServerOptions, Session } from "@lifeline/server";
import { createFaultProxy, createHostileProxy } from "@lifeline/testkit";
import type { FaultProxy } from "@lifeline/testkit";

/** Real-time helpers for the integration tests (real server, real sockets, real clock). */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds, polling every 10 ms; fails naming `what` after timeoutMs. */
export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * Sends 40 messages of 12,000 characters from the server to `conn` through its proxy throttled
 * to 150 kB/s (about 3 s in all) and waits until all of them arrived; how long that took too.
 */
export async function sendThrottledBurst({ proxy, conn, session }: Pick<ProxiedLink, "proxy" | "conn" | "session">) {
  const received: string[] = [];
  conn.on("message", (data) => received.push(String(data)));
  const burst = Array.from({ length: 40 }, (_, i) => `${i}`.padEnd(12_000, "s"));
  proxy.throttle(150_000);
  const started = Date.now();
  for (const message of burst) session.send(message);
  await until(() => received.length === burst.length, 20_000, "the burst at the client");
  return { burst, received, elapsedMs: Date.now() - started };
}

/**
 * Registers an afterEach that runs what the test queued, newest first (a client closes before
 * the proxy in front of its server, the proxy before the server), and returns the queue.
 */
export function cleanupAfterEach(): (() => unknown)[] {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}

export interface ProxiedLink {
  readonly server: LifelineServer;
  readonly proxy: FaultProxy;
  readonly conn: Connection;
  /** The server's side of the connection. */
  readonly session: Session;
  /** Every state change of `conn`, as "to: reason". */
  readonly states: string[];
}

/**
 * A reference server behind a fault proxy, and a client forced onto `transport` through it
 * (quick retries, then `clientOptions`), once open; `cleanups` closes all of it after the test.
 * With `bufferRequests`, a hostile proxy between the fault proxy and the server holds each
 * request body back until it is complete, as nginx does by default.
 */
export async function openThroughProxy(
  cleanups: (() => unknown)[],
  transport: TransportName,
  serverOptions: ServerOptions,
  clientOptions: ClientOptions = {},
  { bufferRequests = false } = {},
): Promise<ProxiedLink> {
  const server = createServer(serverOptions);
  cleanups.push(() => server.close());
  let session: Session | undefined;
  server.on("connection", (s) => (session ??= s));
  const { url } = await server.listen(0, "127.0.0.1");
  const target = new URL(url);
  let port = Number(target.port);
  if (bufferRequests) {
    const buffering = await createHostileProxy({ target: { host: "127.0.0.1", port } });
    cleanups.push(() => buffering.close());
    buffering.bufferRequests(true);
    port = buffering.port;
  }
  const proxy = await createFaultProxy({ target: { host: "127.0.0.1", port } });
  cleanups.push(() => proxy.close());
  const conn = connect(`${proxy.url}${target.pathname}`, { transports: [transport], WebSocket, reconnect: { initialDelay: 50, maxDelay: 200 }, ...clientOptions });
  cleanups.push(() => conn.close());
  const states: string[] = [];
  conn.on("statechange", ({ to, reason }) => states.push(`${to}: ${reason}`));
  await until(() => conn.state === "open" && session !== undefined, 5000, "open");
  return { server, proxy, conn, session: session!, states };
}

