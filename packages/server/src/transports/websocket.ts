import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { CloseCode, FrameError, decodeBatch, encodeFrame } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import { WebSocket, WebSocketServer } from "ws";
import type { TimerId } from "../clock.js";
import type { ServerContext } from "../context.js";
import { handshake, startLink } from "../handshake.js";
import type { CloseInfo, Link } from "../link.js";
import { NOT_READING } from "../session.js";
import type { SessionCore } from "../session.js";

/** WebSocket endpoint `P/ws`: every text message is a batch; ws runs in noServer mode. */
export interface WebSocketTransport {
  /** Completes an upgrade the router already accepted (path, method, Origin checked). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Completes the upgrade only to close at once with a close frame and code: a browser cannot
   * read why an upgrade was refused with an HTTP status, but it can read a WebSocket close code.
   * Nothing from the socket is read, and no session is made.
   */
  refuse(req: IncomingMessage, socket: Duplex, head: Buffer, close: CloseInfo): void;
  /**
   * Closes sockets still waiting for hello with 1001 and resolves once every socket closed;
   * sockets that do not finish the closing handshake within `graceMs` are terminated.
   */
  close(graceMs: number): Promise<void>;
}

const noop = () => {};

/** Codes `ws` lets a server send in a close frame (RFC 6455 §7.4, minus the reserved ones). */
function wsCloseCode(code: number): number {
  const valid = (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
  return valid ? code : CloseCode.NORMAL;
}

/** A WebSocket close reason is limited to 123 bytes of UTF-8. */
function wsCloseReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let cut = reason.slice(0, 123);
  while (Buffer.byteLength(cut) > 123) cut = cut.slice(0, -1);
  return cut;
}

function closeSocket(ws: WebSocket, close: CloseInfo | undefined, lines: readonly string[] = []): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  // The close frame travels as a frame too, after anything still queued: the WebSocket close
  // code repeats it, but only the frame survives proxies that rewrite close codes.
  const batch = close ? [...lines, encodeFrame({ type: "close", code: close.code, reason: close.reason })] : lines;
  if (batch.length) ws.send(batch.join("\n"));
  ws.close(wsCloseCode(close?.code ?? CloseCode.NORMAL), wsCloseReason(close?.reason ?? ""));
}

function createWebSocketLink(ws: WebSocket, maxUnsentBytes: number, onStalled: () => void): Link {
  let ended = false;
  return {
    transport: "websocket",
    write(lines) {
      if (ended || ws.readyState !== WebSocket.OPEN) return;
      ws.send(lines.length === 1 ? lines[0]! : lines.join("\n"));
      if (ws.bufferedAmount > maxUnsentBytes) onStalled();
    },
    end(close, lines) {
      if (ended) return;
      ended = true;
      closeSocket(ws, close, lines);
    },
  };
}

export function createWebSocketTransport(ctx: ServerContext): WebSocketTransport {
  const { options, log } = ctx;
  const { clock } = options;
  // Room above the body limit so that a batch a little too large gets a proper 4102 close
  // frame from us; only far larger ones are cut by ws itself (1009).
  const wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: options.maxBodyBytes * 2 });
  const sockets = new Set<WebSocket>();

  function accept(ws: WebSocket) {
    sockets.add(ws);
    let session: SessionCore | undefined;
    let link: Link | undefined;
    // A socket that never says hello would otherwise be held forever.
    let helloTimer: TimerId | undefined = clock.setTimeout(() => {
      helloTimer = undefined;
      refuse({ code: CloseCode.HEARTBEAT_TIMEOUT, reason: "no hello received" });
    }, options.pingIntervalMs + options.pingTimeoutMs);
    const stopHelloTimer = () => {
      if (helloTimer !== undefined) clock.clearTimeout(helloTimer);
      helloTimer = undefined;
    };

    const refuse = (info: CloseInfo) => {
      stopHelloTimer();
      log.debug(`[websocket] refused: ${info.code} ${info.reason}`);
      if (session && link && session.link === link) session.close(info);
      else closeSocket(ws, info);
    };

    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) return refuse({ code: CloseCode.PROTOCOL_ERROR, reason: "binary WebSocket messages are not part of the protocol; send text batches" });
      if (data.length > options.maxBodyBytes) return refuse({ code: CloseCode.MESSAGE_TOO_LARGE, reason: `WebSocket message is over the limit of ${options.maxBodyBytes} bytes` });
      let frames: Frame[];
      try {
        frames = decodeBatch(data.toString("utf8"));
      } catch (error) {
        return refuse({ code: CloseCode.PROTOCOL_ERROR, reason: `malformed frame: ${error instanceof FrameError ? error.message : "unreadable batch"}` });
      }
      if (session && link) {
        session.receive(frames, link);
        return;
      }
      if (ws.readyState !== WebSocket.OPEN) return;
      stopHelloTimer();
      const result = handshake(ctx, frames);
      if ("refused" in result) return refuse(result.refused);
      const accepted = result.accepted;
      session = accepted.session;
      const current = (link = createWebSocketLink(ws, options.maxUnsentBytes, () => {
        // Called from inside a write: the session forgets the link first, then the socket
        // goes at once, since a client that reads nothing would not finish a closing handshake.
        log.warn(`[websocket] session ${accepted.session.id}: ${NOT_READING.reason}`);
        accepted.session.detach(current, NOT_READING);
        current.end();
        ws.terminate();
      }));
      startLink(ctx, accepted, current);
    });
    ws.on("error", (error: Error & { code?: string }) => {
      log.debug(`[websocket] socket error: ${error.message}`);
      // ws has already failed the connection with 1009; the session cannot go on either.
      if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" && session && link && session.link === link) {
        session.close({ code: CloseCode.MESSAGE_TOO_LARGE, reason: "WebSocket message is over the limit" }, false);
      }
    });
    ws.on("close", (code: number, reason: Buffer) => {
      sockets.delete(ws);
      stopHelloTimer();
      if (session && link) session.detach(link, { code: code || CloseCode.ABNORMAL, reason: reason.toString() || "WebSocket closed" });
    });
  }

  return {
    upgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, accept);
    },
    refuse(req, socket, head, close) {
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on("error", noop);
        closeSocket(ws, close);
      });
    },
    close(graceMs) {
      const waiting = [...sockets].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once("close", () => resolve());
            closeSocket(ws, { code: CloseCode.GOING_AWAY, reason: "server shutting down" });
          }),
      );
      const timer = clock.setTimeout(() => {
        for (const ws of sockets) ws.terminate();
      }, graceMs);
      return Promise.all(waiting).then(() => {
        clock.clearTimeout(timer);
        wss.close();
      });
    },
  };
}
