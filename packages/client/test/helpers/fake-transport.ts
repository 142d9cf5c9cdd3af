import type { Frame, WelcomeFrame } from "@lifeline/protocol";
import type { LinkClose, Transport, TransportFactory, TransportName, TransportOpenOptions } from "../../src/transports/transport.js";

/** One link opened through a fake factory; the test plays the server. */
export interface FakeLink {
  readonly name: TransportName;
  readonly options: TransportOpenOptions;
  readonly sent: Frame[];
  closed: boolean;
  /** Frames from the "server". */
  deliver(...frames: Frame[]): void;
  /** Answers the hello with a welcome (defaults: new session "s1"). */
  welcome(overrides?: Partial<WelcomeFrame>): void;
  /** The link drops. */
  drop(info?: Partial<LinkClose>): void;
}

export interface FakeFactory extends TransportFactory {
  readonly links: FakeLink[];
  supported: boolean;
}

export function welcomeFrame(overrides: Partial<WelcomeFrame> = {}): WelcomeFrame {
  return {
    type: "welcome",
    version: 1,
    sessionId: "s1",
    resumed: false,
    ack: 0,
    pingIntervalMs: 1000,
    pingTimeoutMs: 500,
    maxMessageBytes: 1024,
    resumeWindowMs: 60_000,
    // As the reference server says: a hello that moves the session may wait for a pong.
    pingFirst: true,
    ...overrides,
  };
}

/** A scripted in-memory transport factory: every open() creates a FakeLink the test drives. */
export function createFakeFactory(name: TransportName = "websocket"): FakeFactory {
  const links: FakeLink[] = [];
  const factory: FakeFactory = {
    name,
    links,
    supported: true,
    isSupported: () => factory.supported,
    open(options): Transport {
      const link: FakeLink = {
        name,
        options,
        sent: [],
        closed: false,
        deliver(...frames) {
          if (link.closed) throw new Error("fake link is closed: the driver would never see this");
          options.handlers.onFrames(frames);
        },
        welcome(overrides) {
          link.deliver(welcomeFrame(overrides));
        },
        drop(info = {}) {
          if (link.closed) throw new Error("fake link already closed");
          link.closed = true;
          options.handlers.onClose({ code: 1006, reason: "dropped", ...info });
        },
      };
      links.push(link);
      return {
        name,
        send(frames) {
          if (link.closed) throw new Error("send on a closed link");
          link.sent.push(...frames);
        },
        close() {
          link.closed = true;
        },
      };
    },
  };
  return factory;
}

/** Lets queued microtasks (the driver's start and flushes) run. */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
