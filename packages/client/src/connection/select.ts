import { CloseCode, PROTOCOL_VERSION } from "@lifeline/protocol";
import type { Frame, WelcomeFrame } from "@lifeline/protocol";
import type { Clock } from "../clock.js";
import type { Capabilities } from "../env.js";
import { LifelineError, errorForClose } from "../errors.js";
import type { LinkClose, Transport, TransportFactory } from "../transports/transport.js";
import type { Endpoint } from "../url.js";

export interface SelectOptions {
  readonly factories: readonly TransportFactory[];
  readonly endpoint: Endpoint;
  readonly hello: Frame;
  readonly caps: Capabilities;
  readonly clock: Clock;
  readonly connectTimeoutMs: number;
  /** A transport completed the handshake; it is the caller's from now on. */
  onOpen(transport: Transport, welcome: WelcomeFrame, rest: readonly Frame[]): void;
  /** Frames on the opened transport. */
  onFrames(frames: readonly Frame[]): void;
  /** The opened transport ended, or no transport could open (error TRANSPORT_UNAVAILABLE). */
  onClose(info: LinkClose): void;
}

/** Close codes that refuse this client whatever the transport: trying the next one is pointless. */
const REFUSES_EVERY_TRANSPORT: readonly number[] = [CloseCode.UNSUPPORTED_VERSION, CloseCode.ORIGIN_NOT_ALLOWED];

/**
 * Tries the supported transports in order until one completes the handshake (its first frame is
 * the welcome). Each gets connectTimeoutMs. Returns a function that abandons the attempt.
 */
export function openFirstTransport(options: SelectOptions): () => void {
  const { clock, endpoint } = options;
  const candidates = options.factories.filter((factory) => factory.isSupported(options.caps));
  const failures: string[] = [];
  let index = 0;
  let pending: Transport | undefined;
  let timer: unknown;

  const giveUp = (last: LinkClose | undefined) => {
    const message = candidates.length
      ? `no transport could connect (${failures.join("; ")})`
      : `no allowed transport can run here (${options.factories.map((f) => f.name).join(", ")}); pass WebSocket, fetch or XMLHttpRequest in the options`;
    const error = new LifelineError("TRANSPORT_UNAVAILABLE", message, { cause: last?.error, closeCode: last?.code });
    options.onClose({ code: last?.code ?? CloseCode.ABNORMAL, reason: message, error, final: !candidates.length });
  };

  const next = (last?: LinkClose) => {
    const factory = candidates[index++];
    if (!factory) return giveUp(last);
    let opened = false;
    const fail = (info: LinkClose) => {
      clock.clearTimeout(timer);
      pending = undefined;
      failures.push(`${factory.name}: ${info.reason}`);
      if (REFUSES_EVERY_TRANSPORT.includes(info.code)) options.onClose(info);
      else next(info);
    };
    const transport = factory.open({
      url: endpoint.url,
      query: endpoint.query,
      hello: options.hello,
      caps: options.caps,
      handlers: {
        onFrames(frames) {
          if (opened) return options.onFrames(frames);
          const [welcome, ...rest] = frames;
          if (welcome?.type === "close") {
            // Refused before the handshake (a disallowed Origin, say): the frame says why.
            transport.close();
            return fail({ code: welcome.code, reason: welcome.reason, error: errorForClose(welcome.code, welcome.reason) });
          }
          if (welcome?.type !== "welcome" || welcome.version !== PROTOCOL_VERSION) {
            transport.close();
            const reason = "the server's first frame was not a welcome";
            return fail({ code: CloseCode.PROTOCOL_ERROR, reason, error: new LifelineError("PROTOCOL_ERROR", reason, { closeCode: CloseCode.PROTOCOL_ERROR }) });
          }
          opened = true;
          pending = undefined;
          clock.clearTimeout(timer);
          options.onOpen(transport, welcome, rest);
        },
        onClose(info) {
          if (opened) options.onClose(info);
          else fail(info);
        },
      },
    });
    pending = transport;
    timer = clock.setTimeout(() => {
      transport.close();
      const reason = `no handshake within ${options.connectTimeoutMs} ms`;
      fail({ code: CloseCode.ABNORMAL, reason, error: new LifelineError("TIMEOUT", reason) });
    }, options.connectTimeoutMs);
  };

  next();
  return () => {
    clock.clearTimeout(timer);
    pending?.close();
    pending = undefined;
    index = candidates.length;
  };
}
