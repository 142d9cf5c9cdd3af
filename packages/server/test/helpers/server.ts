import { afterEach } from "vitest";
import { createServer } from "@lifeline/server";
import type { LifelineServer, ServerOptions, Session } from "@lifeline/server";
import { closePeers } from "./wire.js";

const running = new Set<LifelineServer>();

/** Closes every server and peer a test opened; registered once per test file that imports this. */
afterEach(async () => {
  closePeers();
  await Promise.all([...running].map((server) => server.close()));
  running.clear();
});

export interface TestServer {
  readonly server: LifelineServer;
  readonly url: string;
  /** Sessions in the order 'connection' announced them. */
  readonly sessions: Session[];
  /** Resolves with the next new session (or the one already announced and not yet taken). */
  nextSession(): Promise<Session>;
}

/** A server on 127.0.0.1 with a free port, echoing nothing; closed after the test. */
export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const server = createServer(options);
  running.add(server);
  const sessions: Session[] = [];
  let taken = 0;
  const waiters: ((session: Session) => void)[] = [];
  server.on("connection", (session) => {
    sessions.push(session);
    const waiter = waiters.shift();
    if (waiter) {
      taken++;
      waiter(session);
    }
  });
  const { url } = await server.listen(0, "127.0.0.1");
  return {
    server,
    url,
    sessions,
    nextSession: () => (taken < sessions.length ? Promise.resolve(sessions[taken++]!) : new Promise((resolve) => waiters.push(resolve))),
  };
}

/** Sends every message of every new session back to it. */
export function echo(server: LifelineServer): void {
  server.on("connection", (session) => session.on("message", (data) => session.send(data)));
}

/** Resolves when the session emits 'close'. */
export const closeOf = (session: Session) => new Promise<{ code: number; reason: string }>((resolve) => session.on("close", resolve));
