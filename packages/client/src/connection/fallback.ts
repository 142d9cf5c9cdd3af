import type { Frame, WelcomeFrame } from "@lifeline/protocol";
import type { Capabilities } from "../env.js";
import type { ResolvedOptions } from "../options.js";
import type { LinkClose, Transport, TransportFactory, TransportName } from "../transports/transport.js";
import type { Endpoint } from "../url.js";
import type { LinkRequest } from "./select.js";

/**
 * What the driver offers the fallback machinery. Everything else it needs comes from the
 * options given alongside.
 */
export interface FallbackHost {
  readonly endpoint: Endpoint;
  readonly caps: Capabilities;
  /** The transport of the open link, null while not open. */
  readonly transport: TransportName | null;
  /** The generation the driver's current link runs under. */
  readonly generation: number;
  /** Where and with which hello a new link would open now (it resumes the session). */
  linkRequest(): LinkRequest;
  /** Makes `transport` the link; returns its generation, or undefined when the connection moved on. */
  adopt(transport: Transport, welcome: WelcomeFrame, rest: readonly Frame[]): number | undefined;
  /** Frames on the adopted link. */
  receive(frames: readonly Frame[]): void;
  /** The link ended for good (the adopted one, or the old one when its replacement failed). */
  lost(info: LinkClose): void;
}

/**
 * The judgement the driver leaves to a plug-in: which transport to try first, which ones to
 * avoid, and whether to move to a better one while open. The default entry plugs in the
 * adaptive one (`adaptive.ts`); without one (the core entry), the driver tries the supported
 * transports in the order given, every time, and stays on the one that opened.
 */
export interface Fallback {
  /** Candidates in the order to try them, from the supported ones in their given order. */
  order(supported: readonly TransportFactory[], last: TransportName | null): readonly TransportFactory[];
  /**
   * Why `name` is ranked below where the app put it for now, in words, or undefined when it is
   * not: the reason given when the connection leaves it without it failing.
   */
  demotion(name: TransportName): string | undefined;
  /** A link of `name` opened (or was adopted) and the connection is open on it. */
  opened(name: TransportName): void;
  /**
   * An open link of `name` ended after `uptimeMs`. `blameless` when the device or the page was
   * the cause, not the transport: it went offline, or the link died before answering the ping
   * sent as the app came back or the network changed.
   */
  lost(name: TransportName, uptimeMs: number, blameless: boolean): void;
  /**
   * The link ended with TRANSPORT_REPLACED. True when the fallback moved the session to a link
   * of its own and will settle the loss itself (adopt, or call `host.lost` later).
   */
  defer(info: LinkClose): boolean;
  /** The connection closed its link: cancel anything planned or running. */
  stop(): void;
}

export type FallbackFactory = (host: FallbackHost, options: ResolvedOptions) => Fallback;
