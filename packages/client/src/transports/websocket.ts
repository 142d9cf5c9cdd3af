import { CloseCode, Endpoint, decodeServerBatch, encodeClientBatch } from "@lifeline/protocol";
import type { Frame, TimerId } from "@lifeline/protocol";
import type { WebSocketLike } from "../env.js";
import { linkClose } from "../errors.js";
import { endpointUrl } from "../url.js";
import { closeSocket } from "./socket-close.js";
import type { LinkClose, Transport, TransportFactory, TransportOpenOptions } from "./transport.js";

// This entry's value is of this type: exported so that an app's own declarations can name it.
export type { TransportFactory } from "./transport.js";

/** Close codes of WebSocket infrastructure that mean "this link is gone", not "you are wrong". */
const INFRASTRUCTURE_CLOSE = [1000, 1005, 1012, 1013, 1014];

/**
 * WebSocket transport: every text message is a batch of frames. Uses the native WebSocket in
 * browsers and React Native, or the constructor passed as the `WebSocket` option (e.g. `ws`).
 */
export const webSocket: TransportFactory = {
  name: "websocket",
  isSupported: (caps) => !!caps.WebSocket,
  open({ url, query, hello, holdHello, caps, handlers, clock }: TransportOpenOptions): Transport {
    let socket: WebSocketLike | undefined;
    let ended = false;
    // A hello that moves a session waits for the server's pong, which shows that frames flow
    // both ways: a WebSocket that a middlebox passes, then drops or mutes once the server
    // speaks, fails without taking the session from a link that works.
    let awaitingPong = holdHello;
    // How often the server pings while a batch of ours is still coming in, as its welcome says:
    // a closed socket waits on a silent peer at least twice that (socket-close.ts).
    let pingEveryMs = 0;
    let errorTimer: TimerId;

    // Detach first, so nothing the socket does afterwards reaches the handlers. The error
    // handler stays a no-op: Node's `ws` throws on an 'error' event nobody listens to.
    const detach = () => {
      clock.clearTimeout(errorTimer);
      if (!socket) return;
      socket.onopen = socket.onmessage = socket.onclose = null;
      socket.onerror = () => {};
    };
    const end = (info: LinkClose) => {
      if (ended) return;
      ended = true;
      detach();
      handlers.onClose(info);
    };
    const fail = (info: LinkClose) => {
      end(info);
      closeSocket(socket, info.code, clock, pingEveryMs);
    };

    try {
      socket = new caps.WebSocket!(endpointUrl(url.replace(/^http/, "ws"), Endpoint.websocket, query));
      detach();
      socket.onopen = () => {
        if (awaitingPong) handlers.onProgress?.();
        else handlers.onAlive?.();
        socket!.send(encodeClientBatch([awaitingPong ? { type: "ping", id: 0 } : hello]));
      };
      socket.onmessage = (event: MessageEvent) => {
        let frames: Frame[];
        try {
          if (typeof event.data !== "string") throw new Error("binary WebSocket message");
          frames = decodeServerBatch(event.data);
        } catch (cause) {
          return fail(linkClose(CloseCode.PROTOCOL_ERROR, "malformed frame", "PROTOCOL_ERROR", cause));
        }
        const [first] = frames;
        if (first?.type === "welcome") pingEveryMs = Math.min(first.pingIntervalMs, first.pingTimeoutMs / 2);
        // Anything else (a close frame refusing the link, say) goes on to the race to judge.
        if (awaitingPong && first?.type === "pong") {
          awaitingPong = false;
          handlers.onAlive?.();
          return socket!.send(encodeClientBatch([hello]));
        }
        handlers.onFrames(frames);
      };
      // The error event carries no detail; the close event after it says how it ended. Two send
      // none: Chromium for a WebSocket the page's Content-Security-Policy refuses (CLOSED at its
      // error), and older undici, Node's global WebSocket (Node 20's, under
      // --experimental-websocket), for a failed handshake (still CONNECTING). Without this, each
      // such attempt would wait out connectTimeout. A close event in the same task (Chromium,
      // Firefox, React Native) ends the link first; one a task later (WebKit) may not, and the
      // code is 1006 either way. Node's `ws` is CLOSING at its error, and its close event follows.
      socket.onerror = () => {
        const { readyState } = socket!;
        if (readyState === 0 || readyState === 3) errorTimer = clock.setTimeout(() => end(linkClose(CloseCode.ABNORMAL, "WebSocket failed")), 0);
      };
      // The server says why in a close frame first, which ends the link before this runs: a close
      // without one comes from something in between. A load balancer's 1000, 1012 (restart),
      // 1013 (try again later), 1014 (bad gateway) or a proxy's 1005 (no code) say nothing about
      // us: the link is lost. Others (1009 too big, 1002 protocol error) would come back on retry.
      socket.onclose = (event: CloseEvent) => {
        const { code } = event;
        const lost = !code || INFRASTRUCTURE_CLOSE.includes(code);
        end(linkClose(lost ? CloseCode.ABNORMAL : code, event.reason || (code && code !== CloseCode.ABNORMAL ? `WebSocket closed (${code})` : "WebSocket lost")));
      };
    } catch (cause) {
      // The constructor throws for a bad URL; report it like any failed link, but not before open() returns.
      Promise.resolve().then(() => end(linkClose(CloseCode.ABNORMAL, "WebSocket not created", undefined, cause)));
    }

    return {
      name: "websocket",
      send(frames) {
        socket!.send(encodeClientBatch(frames));
      },
      close() {
        if (ended) return;
        ended = true;
        detach();
        closeSocket(socket, 1000, clock, pingEveryMs);
      },
    };
  },
};
