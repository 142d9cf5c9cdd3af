import { CloseCode, Endpoint, decodeServerBatch, encodeClientBatch } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import type { WebSocketLike } from "../env.js";
import { linkClose } from "../errors.js";
import { endpointUrl } from "../url.js";
import type { LinkClose, Transport, TransportFactory, TransportOpenOptions } from "./transport.js";

/**
 * WebSocket transport: every text message is a batch of frames. Uses the native WebSocket in
 * browsers and React Native, or the constructor passed as the `WebSocket` option (e.g. `ws`).
 */
export const webSocket: TransportFactory = {
  name: "websocket",
  isSupported: (caps) => !!caps.WebSocket,
  open({ url, query, hello, caps, handlers }: TransportOpenOptions): Transport {
    let socket: WebSocketLike | undefined;
    let ended = false;

    // Detach first, so nothing the socket does afterwards reaches the handlers. The error
    // handler stays a no-op: Node's `ws` throws on an 'error' event nobody listens to.
    const detach = () => {
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
      try {
        socket?.close(info.code);
      } catch {
        // Already closing.
      }
    };

    try {
      socket = new caps.WebSocket!(endpointUrl(url.replace(/^http/, "ws"), Endpoint.websocket, query));
      detach();
      socket.onopen = () => socket!.send(encodeClientBatch([hello]));
      socket.onmessage = (event: MessageEvent) => {
        let frames: Frame[];
        try {
          if (typeof event.data !== "string") throw new Error("binary WebSocket message");
          frames = decodeServerBatch(event.data);
        } catch (cause) {
          return fail(linkClose(CloseCode.PROTOCOL_ERROR, "malformed frame", "PROTOCOL_ERROR", cause));
        }
        handlers.onFrames(frames);
      };
      // The error event carries no detail in browsers; the close event that follows says how it ended.
      socket.onclose = (event: CloseEvent) => {
        const code = event.code || CloseCode.ABNORMAL;
        end(linkClose(code, event.reason || (code === CloseCode.ABNORMAL ? "WebSocket lost" : "")));
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
        try {
          socket?.close(1000);
        } catch {
          // Closing a socket that never opened can throw in some implementations.
        }
      },
    };
  },
};
