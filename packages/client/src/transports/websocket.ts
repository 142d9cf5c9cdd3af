import { CloseCode, Endpoint, decodeBatch, encodeBatch } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import { LifelineError, errorForClose } from "../errors.js";
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
    let socket: WebSocket | undefined;
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
    const fail = (code: number, reason: string, error: LifelineError) => {
      end({ code, reason, error });
      try {
        socket?.close(code === CloseCode.PROTOCOL_ERROR ? code : 1000);
      } catch {
        // Already closing.
      }
    };

    try {
      socket = new caps.WebSocket!(endpointUrl(url.replace(/^http/, "ws"), Endpoint.websocket, query));
      detach();
      socket.onopen = () => socket!.send(encodeBatch([hello]));
      socket.onmessage = (event: MessageEvent) => {
        let frames: Frame[];
        try {
          if (typeof event.data !== "string") throw new Error("binary WebSocket message");
          frames = decodeBatch(event.data);
        } catch (cause) {
          const reason = "malformed frame from server";
          fail(CloseCode.PROTOCOL_ERROR, reason, new LifelineError("PROTOCOL_ERROR", reason, { cause, closeCode: CloseCode.PROTOCOL_ERROR }));
          return;
        }
        handlers.onFrames(frames);
      };
      // The error event carries no detail in browsers; the close event that follows says how it ended.
      socket.onclose = (event: CloseEvent) => {
        const code = event.code || CloseCode.ABNORMAL;
        const reason = event.reason || (code === CloseCode.ABNORMAL ? "WebSocket connection lost" : "");
        end({ code, reason, error: code === CloseCode.ABNORMAL ? new LifelineError("TRANSPORT_ERROR", reason, { closeCode: code }) : errorForClose(code, reason) });
      };
    } catch (cause) {
      // The constructor throws for a bad URL; report it like any failed link, but not before open() returns.
      Promise.resolve().then(() => end({ code: CloseCode.ABNORMAL, reason: "WebSocket could not be created", error: new LifelineError("TRANSPORT_ERROR", "WebSocket could not be created", { cause }) }));
    }

    return {
      name: "websocket",
      send(frames) {
        socket!.send(encodeBatch(frames));
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
