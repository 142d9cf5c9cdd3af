import { createServer as createHttpServer } from "node:http";
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Http2SecureServer } from "node:http2";
import type { Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { CloseCode, uploadAllowanceMs } from "@lifeline/protocol";
import type { ServerContext } from "./context.js";
import { createEmitter } from "./emitter.js";
import { LifelineServerError } from "./errors.js";
import { createFlushQueue } from "./flush-queue.js";
import { createHeartbeats } from "./heartbeat.js";
import { refusal, refuse, refuseUpgrade } from "./http.js";
import { createLog } from "./log.js";
import type { ResolvedOptions, ServerOptions } from "./options.js";
import { resolveOptions } from "./options.js";
import { createRegistry } from "./registry.js";
import { createRouter } from "./router.js";
import type { Session, SessionCore } from "./session.js";
import { createSession } from "./session.js";
import { createStreamTransport } from "./transports/http-stream.js";
import { createPollingTransport } from "./transports/long-polling.js";
import { createSendHandler } from "./transports/send.js";
import { createWebSocketTransport } from "./transports/websocket.js";

/** Events of a server. */
export interface ServerEvents {
  /** A new session opened (not emitted when a session resumes). */
  connection: Session;
}

/** A Lifeline endpoint: WebSocket, HTTP streaming and long polling under one base path. */
export interface LifelineServer {
  /**
   * Starts a dedicated HTTP server on `port` (default 0: any free port) and `host` (default
   * "127.0.0.1"). Resolves with the endpoint URL clients connect to.
   */
  listen(port?: number, host?: string): Promise<{ url: string }>;
  /**
   * Serves the endpoints from an existing HTTP server (an Express app's, say): requests and
   * upgrades under the base path are handled here, every other one goes to the listeners the
   * server had when attach() was called. Attach after the app installed its listeners. An
   * HTTP/2 server must allow HTTP/1.1 (`http2.createSecureServer({ allowHTTP1: true })`): Node's
   * clients and every WebSocket upgrade speak it.
   */
  attach(server: HttpServer | HttpsServer | Http2SecureServer): void;
  on<K extends keyof ServerEvents>(event: K, listener: (payload: ServerEvents[K]) => void): () => void;
  off<K extends keyof ServerEvents>(event: K, listener: (payload: ServerEvents[K]) => void): void;
  /** The open sessions, including those waiting to be resumed. A snapshot. */
  readonly sessions: Iterable<Session>;
  /**
   * Closes every session with 1001 GOING_AWAY, ends held polls and streams, releases the port
   * if listen() opened it and detaches from attached servers. Idempotent.
   */
  close(): Promise<void>;
}

/** How long WebSockets get to finish the closing handshake in close() before being cut. */
const CLOSE_GRACE_MS = 1_000;

const EVENTS = new Set<string>(["connection"]);

/**
 * The base path of each Lifeline server attached to an HTTP server. Each answers every path under
 * its own (404 where it has no endpoint), so one whose path lies under another's would never be
 * reached, or reached only depending on the order of attach(): such a pair is refused.
 */
const attachedPaths = new WeakMap<object, Map<object, string>>();
const overlap = (a: string, b: string) => a === b || a.startsWith(b + "/") || b.startsWith(a + "/");

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * Node ends a request whose body is still arriving after `requestTimeout` (5 min by default):
 * too soon for a large message on a slow uplink, which the client still waits for
 * (uploadAllowanceMs). This covers the largest body the server takes, and never lowers Node's
 * default.
 */
function requestTimeoutMs({ pingIntervalMs, pingTimeoutMs, maxBodyBytes }: ResolvedOptions): number {
  return Math.max(300_000, uploadAllowanceMs(pingIntervalMs + pingTimeoutMs, maxBodyBytes));
}

/**
 * Creates a Lifeline server. It serves nothing until listen() or attach().
 * @throws LifelineServerError `INVALID_OPTION` for a bad option.
 * @example
 * const server = createServer({ heartbeat: { interval: 10_000 } });
 * server.on("connection", (session) => {
 *   session.on("message", (data) => session.send(data));
 * });
 * const { url } = await server.listen(8080);
 */
export function createServer(input?: ServerOptions): LifelineServer {
  const options = resolveOptions(input);
  const log = createLog(options.logger);
  const events = createEmitter<ServerEvents>();
  const flushQueue = createFlushQueue((error) => log.error("[session] flush failed", error));
  const heartbeats = createHeartbeats({ clock: options.clock, intervalMs: options.pingIntervalMs, timeoutMs: options.pingTimeoutMs });
  // The mistake is easy to make (an await before session.on("message")) and silent otherwise; it
  // is the app's, not a session's, so it is said once.
  let unheardReported = false;
  const onUnheard = (core: SessionCore) => {
    if (unheardReported) return;
    unheardReported = true;
    log.warn(`[session] ${core.id}: a message from the client found no "message" listener and was dropped; add the listener in the connection listener, before any await (said once)`);
  };
  const registry = createRegistry((id, hooks) => createSession({ id, options, schedule: flushQueue.schedule, ...hooks, heartbeats, onUnheard }), {
    clock: options.clock,
    endedKeepMs: options.pingIntervalMs + options.pingTimeoutMs,
    closedKeepMs: options.resumeWindowMs,
  });
  let closing: Promise<void> | undefined;
  const ctx: ServerContext = {
    options,
    log,
    registry,
    closing: () => closing !== undefined,
    announce: (session) => events.emit("connection", session),
  };

  const websocket = createWebSocketTransport(ctx);
  const stream = createStreamTransport(ctx);
  const polling = createPollingTransport(ctx);
  const router = createRouter(ctx, {
    stream: stream.open,
    pollOpen: polling.open,
    poll: polling.poll,
    send: createSendHandler(ctx),
    upgrade: websocket.upgrade,
    refuseUpgrade: websocket.refuse,
  });

  let own: HttpServer | undefined;
  let abortListen: (() => void) | undefined;
  const detachers: (() => void)[] = [];
  const forgetPaths: (() => void)[] = [];

  const notFound = (res: ServerResponse) => refuse(res, refusal(CloseCode.SESSION_NOT_FOUND, "not found", 404));

  const checkEvent = (event: string) => {
    if (!EVENTS.has(event)) throw new LifelineServerError("INVALID_ARGUMENT", `unknown server event "${event}" (known: connection)`);
  };

  /** Ends every session at once; what it returns settles once sockets and the port are let go. */
  function shutdown(): Promise<void> {
    // Set before the sessions end: their close listeners may call close() again, and get this.
    closing = Promise.resolve().then(release);
    // The attached paths are free at once: another server may take one as soon as close() returns.
    for (const forget of forgetPaths.splice(0)) forget();
    abortListen?.();
    registry.closeAll({ code: CloseCode.GOING_AWAY, reason: "server shutting down" });
    polling.close();
    flushQueue.clear();
    return closing;
  }

  async function release() {
    await websocket.close(CLOSE_GRACE_MS);
    for (const detach of detachers.splice(0)) detach();
    if (own) {
      const server = own;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections would hold the port until they time out.
        server.closeAllConnections();
      });
    }
    events.clear();
  }

  return {
    async listen(port = 0, host = "127.0.0.1") {
      if (closing) throw new LifelineServerError("SERVER_CLOSED", "listen() after close()");
      if (own) throw new LifelineServerError("ALREADY_LISTENING", "listen() was already called");
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new LifelineServerError("INVALID_ARGUMENT", `port must be an integer from 0 to 65535, got ${String(port)}`);
      if (typeof host !== "string" || host === "") throw new LifelineServerError("INVALID_ARGUMENT", "host must be a non-empty string");
      const server = (own = createHttpServer({ requestTimeout: requestTimeoutMs(options) }));
      server.on("request", (req: IncomingMessage, res: ServerResponse) => {
        if (!router.request(req, res)) notFound(res);
      });
      server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (!router.upgrade(req, socket, head)) refuseUpgrade(socket, refusal(CloseCode.SESSION_NOT_FOUND, "not found", 404));
      });
      try {
        await new Promise<void>((resolve, reject) => {
          // close() while binding: Node then reports neither 'listening' nor 'error'.
          abortListen = () => {
            reject(new LifelineServerError("SERVER_CLOSED", "close() was called while listen() was binding"));
            // Should the bind still complete, the port is let go at once.
            server.once("listening", () => server.close());
          };
          server.once("error", reject);
          server.listen(port, host, () => {
            server.off("error", reject);
            resolve();
          });
        });
      } catch (cause) {
        if (cause instanceof LifelineServerError) throw cause;
        own = undefined;
        throw new LifelineServerError("LISTEN_FAILED", `could not listen on ${host}:${port}: ${(cause as Error).message}`, { cause });
      } finally {
        abortListen = undefined;
      }
      if (closing) throw new LifelineServerError("SERVER_CLOSED", "close() was called while listen() was binding");
      server.on("error", (error) => log.error("[server] HTTP server error", error));
      const { port: bound } = server.address() as AddressInfo;
      return { url: `http://${urlHost(host)}:${bound}${options.path}` };
    },

    attach(given) {
      if (closing) throw new LifelineServerError("SERVER_CLOSED", "attach() after close()");
      // Node's HTTP/2 compatibility API hands over requests and responses shaped as node:http's.
      const server = given as HttpServer;
      if (!server || typeof server.listeners !== "function" || typeof server.on !== "function") {
        throw new LifelineServerError("INVALID_ARGUMENT", "attach() takes a node:http, node:https or node:http2 (secure, allowHTTP1) Server");
      }
      const paths = attachedPaths.get(server) ?? new Map<object, string>();
      attachedPaths.set(server, paths);
      for (const [owner, path] of paths) {
        if (owner !== router && overlap(path, options.path)) {
          throw new LifelineServerError("INVALID_ARGUMENT", `another Lifeline server on this HTTP server has path "${path || "/"}", which overlaps "${options.path || "/"}": give each a path outside the other's`);
        }
      }
      paths.set(router, options.path);
      forgetPaths.push(() => paths.delete(router));
      const uploadMs = requestTimeoutMs(options);
      if (server.requestTimeout > 0 && server.requestTimeout < uploadMs) {
        log.warn(`[server] the HTTP server's requestTimeout (${server.requestTimeout} ms) cuts off HTTP/1.1 uploads that a client still waits for; set it (server.requestTimeout = ...) to 0 or at least ${uploadMs} ms`);
      }
      // engine.io's approach: take over 'request' and 'upgrade', handle our path, and hand
      // everything else to the listeners that were there before, in their order.
      const requestListeners = server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
      const upgradeListeners = server.listeners("upgrade") as ((req: IncomingMessage, socket: Duplex, head: Buffer) => void)[];
      server.removeAllListeners("request");
      server.removeAllListeners("upgrade");
      // Set on close(). A later attach() (a second Lifeline server on another path) may hold our
      // listeners among the ones it passes requests on to: from then on they only pass on.
      let detached = false;
      const onRequest = (req: IncomingMessage, res: ServerResponse) => {
        if (!detached && router.request(req, res)) return;
        for (const listener of requestListeners) listener.call(server, req, res);
        // Nobody else answers: without this the request would hang.
        if (!requestListeners.length && server.listenerCount("request") === 1) notFound(res);
      };
      const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (!detached && router.upgrade(req, socket, head)) return;
        for (const listener of upgradeListeners) listener.call(server, req, socket, head);
        if (!upgradeListeners.length && server.listenerCount("upgrade") === 1) refuseUpgrade(socket, refusal(CloseCode.SESSION_NOT_FOUND, "not found", 404));
      };
      server.on("request", onRequest);
      server.on("upgrade", onUpgrade);
      // Puts the listeners we took back in our place, unless a later attach() has taken ours:
      // they are in its hands then, and ours pass everything on to them.
      type Listener = Parameters<HttpServer["off"]>[1];
      const restore = (event: "request" | "upgrade", ours: Listener, theirs: readonly Listener[]) => {
        if (!server.listeners(event).includes(ours)) return;
        server.off(event, ours);
        for (const listener of theirs.slice().reverse()) server.prependListener(event, listener);
      };
      detachers.push(() => {
        detached = true;
        restore("request", onRequest, requestListeners);
        restore("upgrade", onUpgrade, upgradeListeners);
      });
    },

    on(event, listener) {
      checkEvent(event);
      return events.on(event, listener);
    },
    off(event, listener) {
      events.off(event, listener);
    },
    get sessions() {
      return registry.values().map((core) => core.api);
    },
    close() {
      return closing ?? shutdown();
    },
  };
}
