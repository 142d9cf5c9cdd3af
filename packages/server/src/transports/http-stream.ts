import type { IncomingMessage, ServerResponse } from "node:http";
import { CloseCode, encodeFrame } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import type { Clock } from "../clock.js";
import type { ServerContext } from "../context.js";
import { handshake, startLink } from "../handshake.js";
import { FRAME_HEADERS, refusal, refuse } from "../http.js";
import { clientLeft } from "../link.js";
import type { Link } from "../link.js";
import { NOT_READING } from "../session.js";
import type { SessionCore } from "../session.js";

/** HTTP streaming endpoint `POST P/stream`: one long response, one frame per line. */
export interface StreamTransport {
  /** Opens a stream for the hello batch in the request body. */
  open(req: IncomingMessage, res: ServerResponse, frames: readonly Frame[]): void;
}

const STREAM_HEADERS = {
  ...FRAME_HEADERS,
  // Asks nginx and friends not to buffer the response, which would hold frames back.
  "X-Accel-Buffering": "no",
} as const;

/**
 * Empty lines, which clients skip, ahead of the first frame: on iOS the URLSession under React
 * Native's XMLHttpRequest hands over nothing of a response before its first 512 bytes, so a
 * shorter welcome would sit there until the client's connect timeout.
 */
const PRELUDE = "\n".repeat(512);

/**
 * The slowest a client may take the rest of a stream whose session the app closed (16 kbit/s):
 * Node tells when a write is done, not how far along it is, so progress cannot be watched.
 */
const MIN_DRAIN_BYTES_PER_S = 2048;

/** `graceMs`: how long an ended stream may take beyond what MIN_DRAIN_BYTES_PER_S allows before it is cut. */
function createStreamLink(res: ServerResponse, session: SessionCore, clock: Clock, graceMs: number, onStalled: () => void): Link & { readonly ended: boolean } {
  let ended = false;
  let prelude = PRELUDE;
  return {
    transport: "streaming",
    get ended() {
      return ended;
    },
    write(lines) {
      if (ended || res.writableEnded || res.destroyed) return;
      // One write per batch, every line "\n"-terminated, so the client can split at once.
      res.write(prelude + (lines.length === 1 ? lines[0]! : lines.join("\n")) + "\n");
      prelude = "";
      if (res.writableLength > session.maxUnsentBytes) onStalled();
    },
    end(close, lines = []) {
      if (ended) return;
      ended = true;
      if (res.writableEnded || res.destroyed) return;
      const last = close ? [...lines, encodeFrame({ type: "close", code: close.code, reason: close.reason })] : lines;
      res.end(last.length ? last.join("\n") + "\n" : undefined);
      // Something is left unsent: the client is behind. Ending waits for it to take the rest,
      // which a client that left never does; one that may still read (a close the app asked
      // for) has a heartbeat window plus the time the rest takes at MIN_DRAIN_BYTES_PER_S.
      if (res.writableLength === 0) return;
      if (clientLeft(close)) return void res.destroy();
      const cut = clock.setTimeout(() => res.destroy(), graceMs + (res.writableLength / MIN_DRAIN_BYTES_PER_S) * 1000);
      res.once("close", () => clock.clearTimeout(cut));
    },
  };
}

export function createStreamTransport(ctx: ServerContext): StreamTransport {
  return {
    open(req, res, frames) {
      const result = handshake(ctx, frames);
      if ("refused" in result) return refuse(res, refusal(result.refused.code, result.refused.reason, result.refused.status));
      // The stream is quiet between pings; no socket timeout may cut it.
      req.socket.setTimeout(0);
      req.socket.setNoDelay(true);
      res.writeHead(200, STREAM_HEADERS);
      res.flushHeaders();
      const { session } = result.accepted;
      const { clock, pingIntervalMs, pingTimeoutMs } = ctx.options;
      const link = createStreamLink(res, session, clock, pingIntervalMs + pingTimeoutMs, () => {
        ctx.log.warn(`[http-stream] session ${session.id}: ${NOT_READING.reason}`);
        session.detach(link, NOT_READING);
        link.end();
        res.destroy();
      });
      res.on("close", () => {
        if (!link.ended) session.detach(link, { code: CloseCode.ABNORMAL, reason: "stream closed by the client" });
      });
      startLink(ctx, result.accepted, link);
    },
  };
}
