import { Agent, createServer, STATUS_CODES, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { ProxyTarget } from "./proxy-target.js";
import { forwardRequest, type ExchangePolicy } from "./forward-request.js";
import { openTunnel, type KillRule, type Tunnel } from "./forward-upgrade.js";
import { closeServer, listenOnLoopback, LOOPBACK } from "./listen.js";

export type { KillRule } from "./forward-upgrade.js";

/** Options of {@link createHostileProxy}. */
export interface HostileProxyOptions {
  readonly target: ProxyTarget;
}

/** How upgrade requests are turned away: an HTTP status, or `"close"` to drop the socket unanswered. */
export type UpgradeRefusal = number | "close";

/** Running totals of a {@link HostileProxy}. */
export interface HostileProxyStats {
  /** Plain HTTP requests forwarded to the target. */
  readonly requestsForwarded: number;
  /** Plain HTTP requests answered by {@link HostileProxy.blockPath} instead. */
  readonly requestsBlocked: number;
  /** Responses held back and sent whole. */
  readonly responsesBuffered: number;
  /** Exchanges given up because they outlived {@link HostileProxy.blockLongRequests}'s maxMs. */
  readonly responsesCut: number;
  /** Upgrade requests received, whatever happened to them. */
  readonly upgradesSeen: number;
  readonly upgradesForwarded: number;
  readonly upgradesRefused: number;
  readonly upgradesHung: number;
  /** Forwarded WebSockets destroyed by {@link HostileProxy.killWebSockets}. */
  readonly webSocketsKilled: number;
}

/**
 * An HTTP proxy that imitates the corporate middleboxes realtime clients meet: ones that refuse
 * or swallow WebSocket upgrades, kill WebSockets, buffer responses, or time out anything long.
 * Modes are independent switches read when a request or upgrade arrives, so a change applies to
 * what comes next; what is already under way keeps the treatment it started with. It knows
 * nothing of Lifeline's protocol, only HTTP/1.1 and WebSocket framing.
 */
export interface HostileProxy {
  /** Always `127.0.0.1`. */
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>`; WebSocket clients use the same with `ws:`. */
  readonly url: string;
  /** A snapshot of the running totals. */
  readonly stats: HostileProxyStats;
  /**
   * Answers every upgrade request with `status` (e.g. 400, 403, 404) and closes, or with
   * `"close"` destroys the socket without a word; null lets upgrades through again. Plain HTTP
   * requests always pass. Takes precedence over {@link HostileProxy.hangUpgrades}.
   */
  refuseUpgrades(refusal: UpgradeRefusal | null): void;
  /**
   * While on, upgrade requests are read and never answered: the socket stays open, silent,
   * until the client gives up or the proxy closes. Switching it off does not revive the ones
   * already hanging.
   */
  hangUpgrades(on: boolean): void;
  /**
   * Lets upgrades through, then destroys each WebSocket forwarded from now on `afterMs` after its
   * 101 response, or once it has carried `afterFrames` server→client frames (every frame counts,
   * control frames included; exactly that many reach the client), or, with `atFirstFrame`, when
   * the server's first frame arrives (not carried; what the client sent got through), whichever
   * comes first. The
   * client sees the connection end without a close frame (1006); the target's socket is
   * destroyed. Null stops killing new WebSockets.
   */
  killWebSockets(rule: KillRule | null): void;
  /**
   * While on, WebSockets forwarded from now on carry the client's frames to the target and
   * nothing back after the 101: a middlebox that passes the upgrade, then swallows what the
   * server says without closing. Switching it off does not unmute the ones already open.
   */
  muteWebSockets(on: boolean): void;
  /**
   * While on, each response body is held back until the target has sent all of it, then sent at
   * once with its status, its headers and a correct content-length. Streaming responses deliver
   * nothing until they end; long polls, which end after each message, still work.
   */
  bufferResponses(on: boolean): void;
  /**
   * While on, each request body is held back until the client has sent all of it, then sent to
   * the target at once with a content-length, as nginx does by default
   * (`proxy_request_buffering`): the target sees nothing of an upload until it is complete.
   * WebSockets are not affected.
   */
  bufferRequests(on: boolean): void;
  /**
   * "Nothing but short plain HTTP": while set, upgrades are refused with 403 (unless
   * {@link HostileProxy.refuseUpgrades} chose another answer), responses are buffered, and an
   * exchange that has not completed `maxMs` after its request arrived is answered 504 with
   * nothing of the body. A streaming response never completes, so it yields only the 504; a long
   * poll the server answers within `maxMs` arrives whole, so pick maxMs above the server's
   * long-poll hold time. Null lifts the limit.
   */
  blockLongRequests(limit: { readonly maxMs: number } | null): void;
  /**
   * Answers plain HTTP requests whose path (before any query) ends with `suffix` with `status`
   * and an HTML page, never reaching the target: a filtering proxy that blocks one endpoint.
   * Null lets them through again. Upgrades are not affected.
   */
  blockPath(rule: { readonly suffix: string; readonly status: number } | null): void;
  /** Back to plain forwarding for everything that arrives from now on. */
  reset(): void;
  /** Ends every socket, exchange and timer and releases the port. */
  close(): Promise<void>;
}

interface Modes {
  refusal: UpgradeRefusal | null;
  hang: boolean;
  kill: KillRule | null;
  mute: boolean;
  buffer: boolean;
  bufferRequests: boolean;
  maxMs: number | null;
  blocked: { readonly suffix: string; readonly status: number } | null;
}

const plainModes = (): Modes => ({ refusal: null, hang: false, kill: null, mute: false, buffer: false, bufferRequests: false, maxMs: null, blocked: null });

/** What {@link HostileProxy.blockLongRequests} answers upgrades with, unless told otherwise. */
const BLOCKED_UPGRADE_STATUS = 403;

/**
 * Starts a hostile HTTP proxy on 127.0.0.1 with a free port, forwarding to `target`. Method,
 * path, headers (Origin included) and bodies pass unchanged and streamed; a target that cannot
 * be reached becomes a 502.
 *
 * @example
 * const proxy = await createHostileProxy({ target: { host: "127.0.0.1", port: server.port } });
 * proxy.refuseUpgrades(403); // the client should fall back to HTTP streaming
 * const client = connect(proxy.url);
 * await proxy.close();
 */
export async function createHostileProxy(options: HostileProxyOptions): Promise<HostileProxy> {
  const { target } = options;
  let modes = plainModes();
  const agent = new Agent({ keepAlive: true });
  const exchanges = new Set<() => void>();
  const tunnels = new Set<Tunnel>();
  const heldSockets = new Set<Duplex>();
  const stats = {
    requestsForwarded: 0,
    requestsBlocked: 0,
    responsesBuffered: 0,
    responsesCut: 0,
    upgradesSeen: 0,
    upgradesForwarded: 0,
    upgradesRefused: 0,
    upgradesHung: 0,
    webSocketsKilled: 0,
  };

  // Long-lived streams and uploads are the point; the proxy must not time them out itself.
  const server = createServer({ requestTimeout: 0 });

  server.on("request", (req, res) => {
    const { blocked } = modes;
    if (blocked && (req.url ?? "").split("?")[0]!.endsWith(blocked.suffix)) {
      stats.requestsBlocked += 1;
      req.resume();
      const page = `<html><body><h1>${blocked.status} Blocked by policy</h1></body></html>\n`;
      return void res.writeHead(blocked.status, { "content-type": "text/html", connection: "close" }).end(page);
    }
    stats.requestsForwarded += 1;
    const policy: ExchangePolicy = { buffer: modes.buffer || modes.maxMs !== null, bufferRequest: modes.bufferRequests, maxMs: modes.maxMs };
    const abort = forwardRequest(req, res, target, agent, policy, {
      done: () => exchanges.delete(abort),
      buffered: () => (stats.responsesBuffered += 1),
      cut: () => (stats.responsesCut += 1),
    });
    exchanges.add(abort);
  });

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    stats.upgradesSeen += 1;
    socket.on("error", ignore);
    const refusal = modes.refusal ?? (modes.maxMs !== null ? BLOCKED_UPGRADE_STATUS : null);
    if (refusal !== null) {
      stats.upgradesRefused += 1;
      return refuse(hold(socket), refusal);
    }
    if (modes.hang) {
      stats.upgradesHung += 1;
      return void hold(socket);
    }
    stats.upgradesForwarded += 1;
    const tunnel = openTunnel(req, socket, head, target, { kill: modes.kill, mute: modes.mute }, {
      killed: () => (stats.webSocketsKilled += 1),
      closed: () => tunnels.delete(tunnel),
    });
    tunnels.add(tunnel);
  });

  // Sockets the http server no longer owns (after "upgrade") must still die with the proxy,
  // or earlier if the client hangs up: http sockets allow half-open, so nothing else would.
  function hold(socket: Duplex): Duplex {
    heldSockets.add(socket);
    socket.on("end", () => socket.destroy());
    socket.on("close", () => heldSockets.delete(socket));
    return socket;
  }

  const port = await listenOnLoopback(server);

  return {
    host: LOOPBACK,
    port,
    url: `http://${LOOPBACK}:${port}`,
    get stats() {
      return { ...stats };
    },
    refuseUpgrades(refusal) {
      if (typeof refusal === "number" && !(Number.isInteger(refusal) && refusal >= 100 && refusal <= 599)) {
        throw new RangeError(`refusal status must be an HTTP status code, got ${refusal}`);
      }
      modes = { ...modes, refusal };
    },
    hangUpgrades(on) {
      modes = { ...modes, hang: on };
    },
    killWebSockets(rule) {
      const { afterMs, afterFrames } = rule ?? {};
      if (afterMs !== undefined && !(afterMs >= 0 && Number.isFinite(afterMs))) {
        throw new RangeError(`afterMs must be a finite ms >= 0, got ${afterMs}`);
      }
      if (afterFrames !== undefined && !(Number.isInteger(afterFrames) && afterFrames >= 0)) {
        throw new RangeError(`afterFrames must be an integer >= 0, got ${afterFrames}`);
      }
      modes = { ...modes, kill: rule };
    },
    muteWebSockets(on) {
      modes = { ...modes, mute: on };
    },
    bufferResponses(on) {
      modes = { ...modes, buffer: on };
    },
    bufferRequests(on) {
      modes = { ...modes, bufferRequests: on };
    },
    blockPath(rule) {
      if (rule !== null && !(Number.isInteger(rule.status) && rule.status >= 400 && rule.status <= 599)) {
        throw new RangeError(`blocking status must be an HTTP error status, got ${rule.status}`);
      }
      modes = { ...modes, blocked: rule };
    },
    blockLongRequests(limit) {
      if (limit !== null && !(limit.maxMs >= 0 && Number.isFinite(limit.maxMs))) {
        throw new RangeError(`maxMs must be a finite ms >= 0, got ${limit.maxMs}`);
      }
      modes = { ...modes, maxMs: limit === null ? null : limit.maxMs };
    },
    reset() {
      modes = plainModes();
    },
    async close() {
      const closed = closeServer(server);
      for (const abort of exchanges) abort();
      for (const tunnel of tunnels) tunnel.destroy();
      for (const socket of heldSockets) socket.destroy();
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

function refuse(socket: Duplex, refusal: UpgradeRefusal) {
  if (refusal === "close") return void socket.destroy();
  const body = "upgrade refused by proxy\n";
  socket.end(
    `HTTP/1.1 ${refusal} ${STATUS_CODES[refusal] ?? "Refused"}\r\n` +
      "Connection: close\r\nContent-Type: text/plain\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function ignore() {}
