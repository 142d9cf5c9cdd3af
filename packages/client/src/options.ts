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

/** Throws INVALID_ARGUMENT naming the option and what it got. */
function bad(name: string, value: unknown): never {
  throw new LifelineError("INVALID_ARGUMENT", `invalid option ${name}: ${String(value)}`);
}

/** A duration or count: a number ≥ 0 (> 0 unless zeroOk), or the fallback when absent. */
function num(value: number | undefined, name: string, fallback: number, zeroOk = true): number {
  if (value === undefined) return fallback;
  return typeof value === "number" && value >= 0 && (zeroOk || value > 0) ? value : bad(name, value);
}

function typed<T>(value: T, name: string, type: string): T {
  return value === undefined || typeof value === type ? value : bad(name, value);
}

const hasMethods = (value: unknown, methods: string[]) => methods.every((m) => typeof (value as Record<string, unknown> | null)?.[m] === "function");

/** Validates options and fills in defaults. Throws LifelineError("INVALID_ARGUMENT"). */
export function resolveOptions(options: CoreOptions): ResolvedOptions {
  if (typeof options !== "object" || !options) bad("options", options);
  for (const name of ["WebSocket", "fetch", "XMLHttpRequest"] as const) typed(options[name], name, "function");
  let factories = options.transportFactories;
  const wanted = options.transports;
  if (wanted !== undefined) {
    if (!Array.isArray(wanted) || !wanted.length) bad("transports", wanted);
    factories = wanted.map((name) => factories.find((f) => f.name === name) ?? bad("transports", name));
  }
  const reconnect = options.reconnect ?? {};
  let retryPolicy: RetryPolicy | null = options.retryPolicy ?? null;
  if (!retryPolicy && reconnect !== false) {
    if (typeof reconnect !== "object") bad("reconnect", reconnect);
    const jitter = num(reconnect.jitter, "reconnect.jitter", 0.5);
    if (jitter > 1) bad("reconnect.jitter", jitter);
    const initialDelayMs = num(reconnect.initialDelay, "reconnect.initialDelay", 500);
    retryPolicy = exponentialBackoff({
      initialDelayMs,
      maxDelayMs: Math.max(initialDelayMs, num(reconnect.maxDelay, "reconnect.maxDelay", 15_000)),
      factor: num(reconnect.factor, "reconnect.factor", 2, false),
      jitter,
      maxAttempts: num(reconnect.maxAttempts, "reconnect.maxAttempts", Infinity),
    });
  }
  const buffer = options.buffer ?? {};
  const { storage, appState, debug } = options;
  if (storage !== undefined && !hasMethods(storage, ["getItem", "setItem", "removeItem"])) bad("storage", storage);
  if (appState !== undefined && !hasMethods(appState, ["addEventListener"])) bad("appState", appState);
  if (debug !== undefined && typeof debug !== "boolean") typed(debug, "debug", "function");
  return {
    factories,
    caps: options,
    retryPolicy,
    maxMessages: num(buffer.maxMessages, "buffer.maxMessages", DEFAULT_BUFFER_MAX_MESSAGES, false),
    maxBytes: num(buffer.maxBytes, "buffer.maxBytes", DEFAULT_BUFFER_MAX_BYTES, false),
    connectTimeoutMs: num(options.connectTimeout, "connectTimeout", 10_000, false),
    clock: options.clock ?? systemClock,
    network: options.networkSources ?? platformSources(appState),
    fallbackDelayMs: num(options.fallbackDelay, "fallbackDelay", 500),
    upgrade: typed(options.upgrade, "upgrade", "boolean") !== false,
    rememberTransport: typed(options.rememberTransport, "rememberTransport", "boolean") !== false,
    storage,
    log: debug === true ? (message) => console.debug("[lifeline] " + message) : debug || undefined,
  };
}
