import { request, type Agent, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { ProxyTarget } from "./proxy-target.js";

/** How one exchange is treated, fixed when its request arrives. */
export interface ExchangePolicy {
  /** Hold the response body back until the target has sent all of it. */
  readonly buffer: boolean;
  /** Hold the request body back until the client has sent all of it. */
  readonly bufferRequest: boolean;
  /** Give up on the exchange this long after the request arrived; null for never. */
  readonly maxMs: number | null;
}

export interface ExchangeHooks {
  /** The exchange is over, however it ended. Called exactly once. */
  done(): void;
  /** The response was held back and sent whole. */
  buffered(): void;
  /** maxMs ran out before the response was complete. */
  cut(): void;
}

/** Headers that describe one hop, not the message; Node sets its own for the next hop. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
]);

/**
 * Forwards one HTTP request to the target and its response back, bodies streamed both ways
 * (unless the policy buffers them). A target that cannot be reached, or fails before answering,
 * becomes a 502. Returns a function that aborts the exchange on both sides.
 */
export function forwardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  target: ProxyTarget,
  agent: Agent,
  policy: ExchangePolicy,
  hooks: ExchangeHooks,
): () => void {
  const upstream = request({
    host: target.host,
    port: target.port,
    method: req.method,
    path: req.url,
    headers: endToEnd(req.headers),
    agent,
  });
  let finished = false;
  let replyComplete = false;
  const deadline = policy.maxMs === null ? undefined : setTimeout(giveUp, policy.maxMs);

  function finish() {
    if (finished) return;
    finished = true;
    clearTimeout(deadline);
    // A complete reply leaves its socket to the agent's keep-alive pool.
    if (!replyComplete) upstream.destroy();
    hooks.done();
  }

  function fail(status: number) {
    if (res.writableEnded || res.destroyed) return;
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { "content-type": "text/plain", connection: "close" });
    res.end(`hostile proxy: ${status}\n`);
  }

  // A buffering proxy that times out has nothing sent yet, so it can still say why.
  function giveUp() {
    hooks.cut();
    fail(504);
    upstream.destroy();
  }

  upstream.on("error", () => fail(502));
  upstream.on("response", (reply) => {
    const status = reply.statusCode ?? 502;
    const headers = endToEnd(reply.headers);
    // A reply cut off mid-body must not look complete to the client.
    reply.on("end", () => {
      replyComplete = true;
    });
    reply.on("close", () => {
      if (!reply.complete && !res.writableEnded) res.destroy();
    });
    if (!policy.buffer) {
      res.writeHead(status, headers);
      // Streaming responses must show their headers before the first chunk is ready.
      res.flushHeaders();
      reply.pipe(res);
      return;
    }
    const chunks: Buffer[] = [];
    reply.on("data", (chunk: Buffer) => chunks.push(chunk));
    reply.on("end", () => {
      const body = Buffer.concat(chunks);
      hooks.buffered();
      res.writeHead(status, { ...headers, "content-length": String(body.length) });
      res.end(body);
    });
  });

  req.on("error", () => upstream.destroy());
  if (policy.bufferRequest) {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    // Sent in one end(), before its headers: Node gives it a content-length.
    req.on("end", () => upstream.end(Buffer.concat(chunks)));
  } else req.pipe(upstream);
  // "close" fires once the response is sent, or when the client went away first.
  res.on("close", finish);
  return () => {
    res.destroy();
    finish();
  };
}

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && value !== undefined) kept[name] = value;
  }
  return kept;
}
