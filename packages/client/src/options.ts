import { DEFAULT_BUFFER_MAX_BYTES, DEFAULT_BUFFER_MAX_MESSAGES } from "@lifeline/protocol";
import type { Clock } from "./clock.js";
import { systemClock } from "./clock.js";
import type { CapabilityOptions } from "./env.js";
import { platformSources } from "./network.js";
import type { AppStateLike, NetworkSources } from "./network.js";
import { LifelineError } from "./errors.js";
import type { RetryPolicy } from "./reconnect.js";
import type { StorageLike } from "./transport-memory.js";
import { exponentialBackoff } from "./reconnect.js";
import type { TransportFactory, TransportName } from "./transports/transport.js";

/** Reconnection with exponential backoff and jitter; every duration in milliseconds. */
export interface ReconnectOptions {
  /** Base delay before the first retry. Default 500. */
  initialDelay?: number;
  /** Upper bound of any delay. Default 15000. */
  maxDelay?: number;
  /** Growth of the base delay per attempt. Default 2. */
  factor?: number;
  /** Share of each delay that is random, 0 (none) to 1 (full jitter). Default 0.5. */
  jitter?: number;
  /** Attempts before giving up and closing with RECONNECT_FAILED. Default Infinity. */
  maxAttempts?: number;
}

/** Bounds of the buffer of messages not yet acknowledged by the server. */
export interface BufferOptions {
  /** Default 100000. */
  maxMessages?: number;
  /** Payload bytes (UTF-8 for text). Default 64 MiB. */
  maxBytes?: number;
}

export interface ClientOptions extends CapabilityOptions {
  /** Transports allowed, in order of preference. Default: every one this environment supports. */
  transports?: TransportName[];
  /** Reconnection settings, or false to close on the first lost link. */
  reconnect?: false | ReconnectOptions;
  /** Send buffer bounds. */
  buffer?: BufferOptions;
  /** How long one transport may take to complete the handshake, in ms. Default 10000. */
  connectTimeout?: number;
  /**
   * React Native's `AppState`: when the app becomes active again, a waiting reconnect runs at
   * once and an open link is checked. (Browsers need nothing: online/offline and page
   * visibility are watched on their own.)
   */
  appState?: AppStateLike;
  /**
   * How long, in ms, a transport may try alone before the next one starts alongside it (the
   * first to complete the handshake wins). Default 500.
   */
  fallbackDelay?: number;
  /**
   * While connected over streaming or polling, keep trying WebSocket in the background and switch
   * to it, without losing or reordering a message, once it works. Default true.
   */
  upgrade?: boolean;
  /**
   * Remember the transport that worked for this endpoint (in localStorage where there is one,
   * else in memory) for 24 h, so the next connection starts with it. Default true.
   */
  rememberTransport?: boolean;
  /** Where to remember it instead of localStorage: any object with getItem/setItem/removeItem. */
  storage?: StorageLike;
  /** Log every decision (transport tried, failed, chosen, demoted, upgraded; retries): true for console.debug, or a function. */
  debug?: boolean | ((message: string) => void);
}

/** Options for the core entry, which bundles no transports of its own. */
export interface CoreOptions extends ClientOptions {
  /** The transports this connection may use; the order is the default preference. */
  transportFactories: readonly TransportFactory[];
  /** @internal Time source; tests pass a manual clock. */
  clock?: Clock;
  /** @internal Replaces the policy built from `reconnect`. */
  retryPolicy?: RetryPolicy;
  /** @internal Replaces the platform's window, document and AppState. */
  networkSources?: NetworkSources;
}

export interface ResolvedOptions {
  readonly factories: readonly TransportFactory[];
  readonly caps: CapabilityOptions;
  readonly retryPolicy: RetryPolicy | null;
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly connectTimeoutMs: number;
  readonly clock: Clock;
  readonly network: NetworkSources;
  readonly fallbackDelayMs: number;
  readonly upgrade: boolean;
  readonly rememberTransport: boolean;
  readonly storage: StorageLike | undefined;
  readonly log: ((message: string) => void) | undefined;
}

const TRANSPORTS: readonly TransportName[] = ["websocket", "streaming", "polling"];

function invalid(message: string): never {
  throw new LifelineError("INVALID_ARGUMENT", message);
}

function positive(value: number | undefined, name: string, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0 || (!allowZero && value === 0)) {
    invalid(`${name} must be a ${allowZero ? "non-negative" : "positive"} number, got ${String(value)}`);
  }
  return value;
}

function constructorOption(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== "function") invalid(`${name} must be a function or constructor`);
}

function flag(value: unknown, name: string): boolean {
  if (value !== undefined && typeof value !== "boolean") invalid(`${name} must be true or false`);
  return value !== false;
}

function storageOption(value: unknown): StorageLike | undefined {
  const storage = value as StorageLike | undefined;
  if (storage !== undefined && (typeof storage?.getItem !== "function" || typeof storage.setItem !== "function" || typeof storage.removeItem !== "function")) {
    invalid("storage must have getItem, setItem and removeItem");
  }
  return storage;
}

function logOption(value: unknown): ((message: string) => void) | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return (message) => console.debug("[lifeline] " + message);
  if (typeof value !== "function") invalid("debug must be true, false or a function");
  return value as (message: string) => void;
}

function appStateOption(value: unknown): AppStateLike | undefined {
  if (value !== undefined && typeof (value as AppStateLike | null)?.addEventListener !== "function") {
    invalid("appState must be React Native's AppState (an object with addEventListener)");
  }
  return value as AppStateLike | undefined;
}

/** Validates options and fills in defaults. Throws LifelineError("INVALID_ARGUMENT"). */
export function resolveOptions(options: CoreOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) invalid("options must be an object");
  constructorOption(options.WebSocket, "WebSocket");
  constructorOption(options.fetch, "fetch");
  constructorOption(options.XMLHttpRequest, "XMLHttpRequest");
  let factories = options.transportFactories;
  if (options.transports !== undefined) {
    const wanted = options.transports;
    if (!Array.isArray(wanted) || wanted.length === 0) invalid("transports must be a non-empty array");
    for (const name of wanted) {
      if (!TRANSPORTS.includes(name)) invalid(`unknown transport "${String(name)}"; expected ${TRANSPORTS.join(", ")}`);
    }
    factories = wanted.map(
      (name) => factories.find((f) => f.name === name) ?? invalid(`transport "${name}" is not included in this build`),
    );
  }
  const reconnect = options.reconnect ?? {};
  let retryPolicy: RetryPolicy | null = options.retryPolicy ?? null;
  if (!retryPolicy && reconnect !== false) {
    if (typeof reconnect !== "object") invalid("reconnect must be false or an object");
    const jitter = positive(reconnect.jitter, "reconnect.jitter", 0.5, true);
    if (jitter > 1) invalid("reconnect.jitter must be between 0 and 1");
    const initialDelayMs = positive(reconnect.initialDelay, "reconnect.initialDelay", 500, true);
    retryPolicy = exponentialBackoff({
      initialDelayMs,
      maxDelayMs: Math.max(initialDelayMs, positive(reconnect.maxDelay, "reconnect.maxDelay", 15_000, true)),
      factor: positive(reconnect.factor, "reconnect.factor", 2),
      jitter,
      maxAttempts: positive(reconnect.maxAttempts, "reconnect.maxAttempts", Infinity, true),
    });
  }
  const buffer = options.buffer ?? {};
  return {
    factories,
    caps: options,
    retryPolicy,
    maxMessages: positive(buffer.maxMessages, "buffer.maxMessages", DEFAULT_BUFFER_MAX_MESSAGES),
    maxBytes: positive(buffer.maxBytes, "buffer.maxBytes", DEFAULT_BUFFER_MAX_BYTES),
    connectTimeoutMs: positive(options.connectTimeout, "connectTimeout", 10_000),
    clock: options.clock ?? systemClock,
    network: options.networkSources ?? platformSources(appStateOption(options.appState)),
    fallbackDelayMs: positive(options.fallbackDelay, "fallbackDelay", 500, true),
    upgrade: flag(options.upgrade, "upgrade"),
    rememberTransport: flag(options.rememberTransport, "rememberTransport"),
    storage: storageOption(options.storage),
    log: logOption(options.debug),
  };
}
