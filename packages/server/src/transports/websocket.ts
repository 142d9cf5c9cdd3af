import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { CloseCode, encodeFrame } from "@lifeline/protocol";
import { WebSocket, WebSocketServer } from "ws";
import type { TimerId } from "../clock.js";
import type { ServerContext } from "../context.js";
import { handshake, startLink } from "../handshake.js";
import { WEBSOCKET_PIECE_BYTES, clientLeft, closeFrameReason, isWebSocketCloseCode, pieceEnd } from "../link.js";
import type { CloseInfo, Link } from "../link.js";
import { readBatch } from "../read-batch.js";
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

/** Sends `lines` as batches of at most WEBSOCKET_PIECE_BYTES, so that a slow client sees each arrive. */
function sendPieces(ws: WebSocket, lines: readonly string[]): void {
  for (let start = 0; start < lines.length; ) {
    const end = pieceEnd(lines, start, WEBSOCKET_PIECE_BYTES);
    ws.send(end - start === 1 ? lines[start]! : lines.slice(start, end).join("\n"));
    start = end;
  }
}

function closeSocket(ws: WebSocket, close: CloseInfo | undefined, lines: readonly string[] = []): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  // The close frame travels as a frame too, after anything still queued: the WebSocket close
  // code repeats it, but only the frame survives proxies that rewrite close codes.
  sendPieces(ws, close ? [...lines, encodeFrame({ type: "close", code: close.code, reason: close.reason })] : lines);
  // `ws` throws on a code a close frame may not carry. session.close() refuses those, so this
  // is a guard only; the close frame above has the code either way.
  const code = close?.code ?? CloseCode.NORMAL;
  ws.close(isWebSocketCloseCode(code) ? code : CloseCode.NORMAL, closeFrameReason(close?.reason ?? ""));
}

/** What every connection of one transport shares. */
interface Shared {
  readonly ctx: ServerContext;
  readonly sockets: Set<WebSocket>;
}

const CONNECTION = Symbol("lifeline.connection");
type Tagged = WebSocket & { [CONNECTION]: Connection };

/**
 * One accepted socket: waits for hello, then is the session's link. A class with listeners
 * shared by every socket (they find their connection on the socket), because a server holds
 * thousands of idle sockets and per-socket closures would be most of what each one costs.
 */
class Connection implements Link {
  session: SessionCore | undefined = undefined;
  private ended = false;
  // A socket that never says hello would otherwise be held forever.
  private helloTimer: TimerId | undefined;
  // One ping before hello is answered: more would let a client that reads nothing make the
  // server queue pongs, unchecked, until the hello timer fires.
  private pingedFirst = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly shared: Shared,
  ) {
    this.startHelloTimer();
  }

  private startHelloTimer(): void {
    const { options } = this.shared.ctx;
    this.helloTimer = options.clock.setTimeout(() => {
      this.helloTimer = undefined;
      this.refuse({ code: CloseCode.HEARTBEAT_TIMEOUT, reason: "no hello received" });
    }, options.pingIntervalMs + options.pingTimeoutMs);
  }

  get transport(): "websocket" {
    return "websocket";
  }

  write(lines: readonly string[]): void {
    const { ws } = this;
    if (this.ended || ws.readyState !== WebSocket.OPEN) return;
    sendPieces(ws, lines);
    if (ws.bufferedAmount > this.session!.maxUnsentBytes) this.stalled();
  }

  end(close?: CloseInfo, lines?: readonly string[]): void {
    if (this.ended) return;
    this.ended = true;
    closeSocket(this.ws, close, lines);
    // `ws` waits up to 30 s for the closing handshake, holding what is left unsent; a client
    // that left will not take it (a polite close gets those 30 s).
    if (this.ws.bufferedAmount > 0 && clientLeft(close)) this.ws.terminate();
  }

  /** Called from inside a write: the session forgets the link first, then the socket goes at
   * once, since a client that reads nothing would not finish a closing handshake. */
  private stalled(): void {
    this.shared.ctx.log.warn(`[websocket] session ${this.session!.id}: ${NOT_READING.reason}`);
    this.session!.detach(this, NOT_READING);
    this.end();
    this.ws.terminate();
  }

  private stopHelloTimer(): void {
    if (this.helloTimer !== undefined) this.shared.ctx.options.clock.clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
  }

  private refuse(info: CloseInfo): void {
    this.stopHelloTimer();
    this.shared.ctx.log.debug(`[websocket] refused: ${info.code} ${info.reason}`);
    if (this.session && this.session.link === this) this.session.close(info);
    else closeSocket(this.ws, info);
  }

  message(data: Buffer, isBinary: boolean): void {
    const { ctx } = this.shared;
    const { options } = ctx;
    if (isBinary) return this.refuse({ code: CloseCode.PROTOCOL_ERROR, reason: "binary WebSocket messages are not part of the protocol; send text batches" });
    if (data.length > options.maxBodyBytes) return this.refuse({ code: CloseCode.MESSAGE_TOO_LARGE, reason: `WebSocket message is over the limit of ${options.maxBodyBytes} bytes` });
    const batch = readBatch(data.toString("utf8"), options.maxBatchLines);
    if ("refused" in batch) return this.refuse(batch.refused);
    const { frames } = batch;
    if (this.session) {
      this.session.receive(frames, this);
      return;
    }
    if (this.ws.readyState !== WebSocket.OPEN) return;
    // A client whose hello would move a session asks first whether frames flow both ways:
    // answer, and wait for the hello as long again (it has a round trip more to make than a
    // first hello, which a slow link must not cost it).
    const [first] = frames;
    if (frames.length === 1 && first?.type === "ping" && !this.pingedFirst) {
      this.pingedFirst = true;
      this.stopHelloTimer();
      this.startHelloTimer();
      return void this.ws.send(encodeFrame({ type: "pong", id: first.id }));
    }
    this.stopHelloTimer();
    const result = handshake(ctx, frames);
    if ("refused" in result) return this.refuse(result.refused);
    this.session = result.accepted.session;
    startLink(ctx, result.accepted, this);
  }

  error(error: Error & { code?: string }): void {
    this.shared.ctx.log.debug(`[websocket] socket error: ${error.message}`);
    // ws has already failed the connection with 1009; the session cannot go on either. (Its other
    // refusals, 1002 and 1007, may concern a close frame a proxy made up for a dropped client,
    // which can resume: they only let the link go, in closed().)
    if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" && this.session && this.session.link === this) {
      this.session.close({ code: CloseCode.MESSAGE_TOO_LARGE, reason: "WebSocket message is over the limit" }, false);
    }
  }

  closed(code: number, reason: Buffer): void {
    this.shared.sockets.delete(this.ws);
    this.stopHelloTimer();
    // Without a close frame before it, the socket's own code says nothing about the session (a
    // client lets a link go with 1000, a proxy may send anything): the link dropped.
    if (this.session) this.session.detach(this, { code: CloseCode.ABNORMAL, reason: `WebSocket closed (${code}${reason.length ? `: ${reason.toString()}` : ""})` });
  }
}

// EventEmitter calls listeners with the socket as `this`.
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean) {
  (this as Tagged)[CONNECTION].message(data, isBinary);
}
function onError(this: WebSocket, error: Error & { code?: string }) {
  (this as Tagged)[CONNECTION].error(error);
}
function onClose(this: WebSocket, code: number, reason: Buffer) {
  (this as Tagged)[CONNECTION].closed(code, reason);
}
// Bytes of a message still on its way are life too: a message that takes longer to upload than
// the heartbeat allows a silent link (a large one on a slow uplink) must not cost the link.
function onSocketData(this: Duplex) {
  const connection = (this as Duplex & { [CONNECTION]?: Connection })[CONNECTION];
  const session = connection?.session;
  if (session && session.link === connection) session.receiving();
}

export function createWebSocketTransport(ctx: ServerContext): WebSocketTransport {
  const { options } = ctx;
  const { clock } = options;
  // Room above the body limit so that a batch a little too large gets a proper 4102 close
  // frame from us; only far larger ones are cut by ws itself (1009).
  const wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: options.maxBodyBytes * 2 });
  const sockets = new Set<WebSocket>();
  const shared: Shared = { ctx, sockets };

  function accept(ws: WebSocket, req: IncomingMessage) {
    sockets.add(ws);
    const connection = new Connection(ws, shared);
    (ws as Tagged)[CONNECTION] = connection;
    (req.socket as Duplex & { [CONNECTION]?: Connection })[CONNECTION] = connection;
    // Ahead of ws's own listener, which delivers the messages a chunk completes: their bytes
    // must be seen as arriving before the batch they make is whole.
    req.socket.prependListener("data", onSocketData);
    ws.on("message", onMessage);
    ws.on("error", onError);
    ws.on("close", onClose);
  }

  return {
    upgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, accept);
    },
    refuse(req, socket, head, close) {
      wss.handleUpgrade(req, socket, head, (ws) => {
        // Tracked until it closes, so close() ends it too if the peer never answers the close.
        sockets.add(ws);
        ws.on("error", noop);
        ws.once("close", () => sockets.delete(ws));
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
