import type { IncomingMessage } from "node:http";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import type { ProxyTarget } from "./proxy-target.js";
import { createWsFrameCounter } from "./ws-frame-counter.js";

/** When a proxied WebSocket is destroyed; the first limit reached wins. */
export interface KillRule {
  /** Milliseconds after the upgrade response (101) went through. */
  readonly afterMs?: number;
  /** Downstream (server → client) frames carried, control frames included. */
  readonly afterFrames?: number;
  /**
   * When the server's first bytes after the 101 arrive, without carrying them: the client's
   * frames reach the server until it answers (a proxy that drops a WebSocket once it speaks).
   */
  readonly atFirstFrame?: boolean;
}

/** What a tunnel does to the WebSocket it carries. */
export interface TunnelPolicy {
  readonly kill: KillRule | null;
  /** Carry nothing the target sends after the 101; the client's frames still get through. */
  readonly mute: boolean;
}

export interface TunnelHooks {
  /** The kill rule struck. */
  killed(): void;
  /** Both sockets are closed. Called exactly once. */
  closed(): void;
}

/** A raw byte pipe between an upgraded client socket and the target. */
export interface Tunnel {
  destroy(): void;
}

/** Upgrade response heads are small; past this, stop looking for the end of one. */
const MAX_HEAD_BYTES = 64 * 1024;
const HEAD_END = Buffer.from("\r\n\r\n");

/**
 * Replays the upgrade request to the target over a fresh TCP connection, then pipes raw bytes
 * both ways. The downstream head is watched for its status line: only after a 101 does the
 * stream carry WebSocket frames, so only then do the kill rule's clock and frame count start.
 * A kill delivers exactly the frames allowed, then ends the client socket and drops the target.
 */
export function openTunnel(
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  target: ProxyTarget,
  { kill: rule, mute }: TunnelPolicy,
  hooks: TunnelHooks,
): Tunnel {
  const upstream = connect({ host: target.host, port: target.port, noDelay: true });
  const counter = createWsFrameCounter();
  const framesAllowed = rule?.afterFrames;
  let headSoFar: Buffer | null = Buffer.alloc(0);
  let isWebSocket = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  let killed = false;
  let waitingForDrain = false;
  let closedSides = 0;

  function kill(lastBytes?: Buffer) {
    if (killed) return;
    killed = true;
    clearTimeout(killTimer);
    hooks.killed();
    client.unpipe(upstream);
    upstream.destroy();
    if (lastBytes !== undefined && lastBytes.length > 0) client.write(lastBytes);
    // End rather than reset: a reset may discard the allowed frames before the client reads them.
    client.end(() => client.destroy());
  }

  // Returns where the body starts in `chunk`, or -1 while the head is still incomplete.
  function passHead(chunk: Buffer): number {
    if (headSoFar === null) return 0;
    const previous = headSoFar.length;
    headSoFar = Buffer.concat([headSoFar, chunk]);
    const end = headSoFar.indexOf(HEAD_END);
    if (end === -1) {
      if (headSoFar.length > MAX_HEAD_BYTES) headSoFar = null;
      return -1;
    }
    isWebSocket = /^HTTP\/1\.[01] 101 /.test(headSoFar.subarray(0, end).toString("latin1"));
    headSoFar = null;
    if (isWebSocket && rule?.afterMs !== undefined) killTimer = setTimeout(kill, rule.afterMs);
    return end + HEAD_END.length - previous;
  }

  // Where in `chunk` the allowed frames end, or undefined when they do not end here.
  function cutOffset(chunk: Buffer, bodyStart: number): number | undefined {
    if (!isWebSocket) return undefined;
    if (rule?.atFirstFrame && chunk.length > bodyStart) return bodyStart;
    if (framesAllowed === undefined) return undefined;
    const framesBefore = counter.frames;
    if (framesBefore >= framesAllowed) return bodyStart;
    const ends = counter.push(chunk.subarray(bodyStart));
    const end = ends[framesAllowed - framesBefore - 1];
    return end === undefined ? undefined : bodyStart + end;
  }

  upstream.on("data", (chunk: Buffer) => {
    if (killed) return;
    const bodyStart = passHead(chunk);
    const cutAt = bodyStart === -1 ? undefined : cutOffset(chunk, bodyStart);
    if (cutAt !== undefined) return kill(chunk.subarray(0, cutAt));
    // Muted, only the upgrade response's head gets through: the part of a chunk before the body.
    if (mute && isWebSocket && bodyStart !== -1) {
      if (bodyStart > 0) client.write(chunk.subarray(0, bodyStart));
      return;
    }
    if (!client.write(chunk) && !waitingForDrain) {
      waitingForDrain = true;
      upstream.pause();
      client.once("drain", () => {
        waitingForDrain = false;
        upstream.resume();
      });
    }
  });
  upstream.on("end", () => client.end());
  upstream.on("error", () => {
    // Nothing came back yet: the client is still waiting for an HTTP answer, so give it one.
    if (headSoFar !== null && headSoFar.length === 0 && client.writable) {
      client.end("HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    }
  });
  client.on("error", () => upstream.destroy());

  const onClose = (other: Duplex) => () => {
    if (!other.writableEnded) other.destroy();
    closedSides += 1;
    if (closedSides === 2) {
      clearTimeout(killTimer);
      hooks.closed();
    }
  };
  upstream.on("close", onClose(client));
  client.on("close", onClose(upstream));

  upstream.write(requestHead(req));
  if (head.length > 0) upstream.write(head);
  client.pipe(upstream);

  return {
    destroy() {
      clearTimeout(killTimer);
      client.destroy();
      upstream.destroy();
    },
  };
}

function requestHead(req: IncomingMessage): Buffer {
  let text = `${req.method ?? "GET"} ${req.url ?? "/"} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return Buffer.from(`${text}\r\n`, "latin1");
}
