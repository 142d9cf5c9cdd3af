import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { CloseCode, Endpoint, uploadAllowanceMs } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import type { ServerContext } from "./context.js";
import type { HttpRefusal } from "./http.js";
import { readFrames, refusal, refuse, refuseUpgrade } from "./http.js";

/** What the router dispatches to, once method, path, Origin and body are checked. */
export interface RouteHandlers {
  stream(req: IncomingMessage, res: ServerResponse, frames: readonly Frame[]): void;
  pollOpen(req: IncomingMessage, res: ServerResponse, frames: readonly Frame[]): void;
  /** `attempt`: the hello attempt of the link the poll belongs to, when the client names it. */
  poll(req: IncomingMessage, res: ServerResponse, sid: string, attempt: number | undefined): void;
  send(res: ServerResponse, sid: string, frames: readonly Frame[]): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Accepts a WebSocket upgrade only to close it at once with this code and reason. */
  refuseUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, close: { code: number; reason: string }): void;
}

/** Maps requests under the base path to their handlers; says false for anything else. */
export interface Router {
  request(req: IncomingMessage, res: ServerResponse): boolean;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
}

// Ids the server issues are 24 base64url characters; this only rejects what cannot be one.
const SID = /^[A-Za-z0-9_-]{1,256}$/;
/** A hello attempt number: a safe integer ≥ 0 (2^53 − 1 has 16 digits; isSafeInteger decides). */
const ATTEMPT = /^\d{1,16}$/;
const noop = () => {};

const METHODS: Record<string, readonly string[]> = {
  [Endpoint.websocket]: ["GET"],
  [Endpoint.stream]: ["POST"],
  [Endpoint.poll]: ["GET", "POST"],
  [Endpoint.send]: ["POST"],
};

function parseUrl(raw: string | undefined): URL | undefined {
  try {
    return new URL(raw ?? "/", "http://localhost");
  } catch {
    return undefined;
  }
}

/** CORS preflight: the HTTP transports only send simple requests, but proxies and SDKs may add headers. */
function preflight(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(204, {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": req.headers["access-control-request-headers"] ?? "Content-Type",
    "Access-Control-Max-Age": "86400",
  });
  res.end();
}

export function createRouter(ctx: ServerContext, handlers: RouteHandlers): Router {
  const { options } = ctx;
  const base = options.path;
  /**
   * An upgrade on an HTTP endpoint is an HTTP/2 one (curl --http2 on http:) or another that Node
   * hands over unparsed, so the request cannot be served as it is: say how to send it instead.
   * Elsewhere under the base path there is nothing.
   */
  const upgradeElsewhere = (endpoint: string, pathname: string): HttpRefusal =>
    endpoint === Endpoint.stream || endpoint === Endpoint.poll || endpoint === Endpoint.send
      ? refusal(CloseCode.PROTOCOL_ERROR, `${pathname} takes no Upgrade (only ${Endpoint.websocket} does): send the request without one`, 400)
      : refusal(CloseCode.SESSION_NOT_FOUND, `no WebSocket endpoint at ${pathname}`, 404);

  /**
   * The endpoint under the base path, read from the path as the request wrote it: the URL parser
   * resolves "/x/../lifeline/poll", reads "//host/lifeline/poll" as a host and "\\" as "/", which
   * would serve paths outside the base (past a proxy's prefix rules, or from under an app's own
   * routes). An absolute-form target ("http://host/lifeline/poll", from a proxy) is read after
   * its authority.
   */
  const endpointOf = (raw: string | undefined, url: URL | undefined) => {
    if (!url || raw === undefined) return undefined;
    const path = (raw.startsWith("/") ? raw : raw.replace(/^[a-z][a-z\d+.-]*:\/\/[^/?#\\]*/i, "")).split(/[?#]/, 1)[0]!;
    if (path !== base && !path.startsWith(base + "/")) return undefined;
    return path.slice(base.length);
  };

  /** Refuses requests from origins not allowed; null when the request may go on. */
  const originRefusal = (req: IncomingMessage): HttpRefusal | null => {
    const origin = req.headers.origin;
    if (!origin || !options.allowedOrigins || options.allowedOrigins.has(origin.toLowerCase())) return null;
    return refusal(CloseCode.ORIGIN_NOT_ALLOWED, `origin ${origin} is not allowed`);
  };

  const sidOf = (url: URL): string | undefined => {
    const sid = url.searchParams.get("sid");
    return sid !== null && SID.test(sid) ? sid : undefined;
  };

  /** Reads the body's frames; a refused body also ends the session it was sent on, if any. */
  const withFrames = (req: IncomingMessage, res: ServerResponse, then: (frames: Frame[]) => void, sid?: string) => {
    // A body still arriving is life: a large message on a slow uplink may take longer to upload
    // than the heartbeat allows a silent link, and its pong waits behind it.
    const session = sid === undefined ? undefined : ctx.registry.get(sid);
    if (session) req.on("data", () => session.receiving());
    // A body may take as long as the client waits for its answer, and no longer: one that trickles
    // in slower is cut, as Node's own requestTimeout would, which listen() sets far out to fit the
    // largest body.
    const expectedBytes = Number(req.headers["content-length"]) || options.maxBodyBytes;
    const { clock } = options;
    const deadline = clock.setTimeout(() => req.destroy(), uploadAllowanceMs(options.pingIntervalMs + options.pingTimeoutMs, expectedBytes));
    readFrames(req, options.maxBodyBytes, options.maxBatchLines).then((body) => {
      clock.clearTimeout(deadline);
      if (!body || res.writableEnded || res.destroyed) return;
      if ("refused" in body) {
        ctx.log.debug(`[http] refused ${req.method} ${req.url}: ${body.refused.reason}`);
        // As over WebSocket: a body the session cannot take (too large, malformed) ends it.
        if (sid) ctx.registry.get(sid)?.close({ code: body.refused.code, reason: body.refused.reason });
        // The rest of an oversized body is not worth reading: close the connection instead. (Not
        // over HTTP/2, which has no such header: ending the response resets the stream.)
        const closeConnection = body.refused.code === CloseCode.MESSAGE_TOO_LARGE && req.httpVersionMajor === 1;
        return refuse(res, body.refused, closeConnection ? { Connection: "close" } : {});
      }
      if (ctx.closing()) return refuse(res, refusal(CloseCode.GOING_AWAY, "server shutting down"));
      then(body.frames);
    });
  };

  function route(req: IncomingMessage, res: ServerResponse, url: URL, endpoint: string) {
    const method = req.method ?? "GET";
    const allowed = METHODS[endpoint];
    if (!allowed) return refuse(res, refusal(CloseCode.SESSION_NOT_FOUND, `no endpoint at ${url.pathname}`, 404));
    if (!allowed.includes(method)) {
      return refuse(res, refusal(CloseCode.PROTOCOL_ERROR, `${method} is not allowed on ${url.pathname}`, 405), { Allow: allowed.join(", ") });
    }
    if (endpoint === Endpoint.websocket) return refuse(res, refusal(CloseCode.PROTOCOL_ERROR, "this endpoint takes WebSocket upgrades only"));
    if (endpoint === Endpoint.stream) return withFrames(req, res, (frames) => handlers.stream(req, res, frames));
    if (endpoint === Endpoint.poll && method === "POST") return withFrames(req, res, (frames) => handlers.pollOpen(req, res, frames));
    // A held poll and a send both name their session.
    const sid = sidOf(url);
    if (!sid) return refuse(res, refusal(CloseCode.PROTOCOL_ERROR, "missing or malformed sid query parameter"));
    if (endpoint === Endpoint.poll) {
      const attempt = url.searchParams.get("attempt");
      if (attempt !== null && !(ATTEMPT.test(attempt) && Number.isSafeInteger(Number(attempt)))) return refuse(res, refusal(CloseCode.PROTOCOL_ERROR, "malformed attempt query parameter"));
      return handlers.poll(req, res, sid, attempt === null ? undefined : Number(attempt));
    }
    withFrames(req, res, (frames) => handlers.send(res, sid, frames), sid);
  }

  return {
    request(req, res) {
      const url = parseUrl(req.url);
      const endpoint = endpointOf(req.url, url);
      if (endpoint === undefined || !url) return false;
      // A client that goes away mid-request must not crash the process.
      req.on("error", noop);
      res.on("error", noop);
      const origin = req.headers.origin;
      // The request's own origin is echoed even on a 403: the refusal is no secret, and a
      // browser client can then read why instead of seeing an opaque network error.
      res.setHeader("Access-Control-Allow-Origin", origin ?? "*");
      res.setHeader("Vary", "Origin");
      const refused = originRefusal(req) ?? (ctx.closing() ? refusal(CloseCode.GOING_AWAY, "server shutting down") : null);
      if (refused) {
        // As over WebSocket: an allowedOrigins mistake should show somewhere.
        if (refused.code === CloseCode.ORIGIN_NOT_ALLOWED) ctx.log.debug(`[http] refused ${req.method} ${req.url}: ${refused.reason}`);
        refuse(res, refused);
      }
      else if (req.method === "OPTIONS") preflight(req, res);
      else route(req, res, url, endpoint);
      return true;
    },
    upgrade(req, socket, head) {
      const url = parseUrl(req.url);
      const endpoint = endpointOf(req.url, url);
      if (endpoint === undefined) return false;
      socket.on("error", noop);
      const originRefused = endpoint === Endpoint.websocket && req.method === "GET" ? originRefusal(req) : null;
      if (originRefused) {
        ctx.log.debug(`[websocket] refused after the upgrade: ${originRefused.reason}`);
        handlers.refuseUpgrade(req, socket, head, { code: originRefused.code, reason: originRefused.reason });
        return true;
      }
      const refused =
        originRefusal(req) ??
        (ctx.closing() ? refusal(CloseCode.GOING_AWAY, "server shutting down") : null) ??
        (endpoint !== Endpoint.websocket ? upgradeElsewhere(endpoint, url!.pathname) : null) ??
        (req.method !== "GET" ? refusal(CloseCode.PROTOCOL_ERROR, `${req.method} is not allowed for a WebSocket upgrade`, 405) : null);
      if (refused) {
        ctx.log.debug(`[websocket] upgrade refused: ${refused.reason}`);
        refuseUpgrade(socket, refused);
      } else handlers.upgrade(req, socket, head);
      return true;
    },
  };
}
