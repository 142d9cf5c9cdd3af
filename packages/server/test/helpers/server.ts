import { createServer as createHttpServer } from "node:http";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach } from "vitest";
import { createServer } from "@lifeline/server";
import type { LifelineServer, ServerOptions, Session } from "@lifeline/server";
import { resolveOptions } from "../../src/options.js";
import { closePeers } from "./wire.js";

const running = new Set<LifelineServer>();
const ownHttpServers = new Set<HttpServer>();

/** Closes every server and peer a test opened; registered once per test file that imports this. */
afterEach(async () => {
  closePeers();
  await Promise.all([...running].map((server) => server.close()));
  running.clear();
  for (const http of ownHttpServers) http.closeAllConnections();
  await Promise.all([...ownHttpServers].map((http) => new Promise((resolve) => http.close(resolve))));
  ownHttpServers.clear();
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
  const tracked = track(server);
  const { url } = await server.listen(0, "127.0.0.1");
  return { ...tracked, url };
}

/**
 * The same, attached to an HTTP server of the test's own, so that the test sees the server's
 * side of every TCP connection (`sockets`, in the order they were accepted) and, on `http`, every
 * request after the Lifeline server has taken it.
 */
export async function startWatchedServer(options: ServerOptions = {}): Promise<TestServer & { readonly sockets: Socket[]; readonly http: HttpServer }> {
  const http = createHttpServer();
  const sockets: Socket[] = [];
  http.on("connection", (socket) => sockets.push(socket));
  const server = createServer(options);
  server.attach(http);
  const tracked = track(server);
  ownHttpServers.add(http);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return { ...tracked, url: `http://127.0.0.1:${port}${resolveOptions(options).path}`, sockets, http };
}

/** Registers the server for closing after the test and records the sessions it announces. */
function track(server: LifelineServer): Omit<TestServer, "url"> {
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
  return {
    server,
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
