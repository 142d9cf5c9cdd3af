import { DEFAULT_BUFFER_MAX_BYTES, DEFAULT_BUFFER_MAX_MESSAGES } from "@lifeline/protocol";
import type { Clock } from "./clock.js";
import { systemClock } from "./clock.js";
import type { CapabilityOptions } from "./env.js";
import { platformSources } from "./network.js";
import type { AppStateLike, NetInfoLike, NetworkSources } from "./network.js";
import { callApp, LifelineError } from "./errors.js";
import type { BackoffSettings, RetryPolicy } from "./reconnect.js";
import type { StorageLike } from "./transport-memory.js";
import { exponentialBackoff } from "./reconnect.js";
import type { TransportFactory, TransportName } from "./transports/transport.js";

/** Reconnection with exponential backoff and jitter; every duration in milliseconds. */
export interface ReconnectOptions {
  /** Base delay before the first retry. Default 500. */
  initialDelay?: number | undefined;
  /** Upper bound of any delay. Default 15000. */
  maxDelay?: number | undefined;
  /** Growth of the base delay per attempt, at least 1 (1 keeps it constant). Default 2. */
  factor?: number | undefined;
  /** Share of each delay that is random, 0 (none) to 1 (full jitter). Default 0.5. */
  jitter?: number | undefined;
  /** Attempts before giving up and closing with RECONNECT_FAILED. Default Infinity. */
  maxAttempts?: number | undefined;
}

/** Bounds of the buffer of messages not yet acknowledged by the server. */
export interface BufferOptions {
  /** Default 100000. */
  maxMessages?: number | undefined;
  /** Payload bytes (UTF-8 for text). Default 64 MiB. */
  maxBytes?: number | undefined;
}

export interface ClientOptions extends CapabilityOptions {
  /** Transports allowed, in order of preference. Default: every one this environment supports. */
  transports?: readonly TransportName[] | undefined;
  /** Reconnection settings, or false to close on the first lost link. */
  reconnect?: false | ReconnectOptions | undefined;
  /** Send buffer bounds. */
  buffer?: BufferOptions | undefined;
  /** How long one transport may take to complete the handshake, in ms. Default 10000. */
  connectTimeout?: number | undefined;
  /**
   * React Native's `AppState`: when the app becomes active again, a waiting reconnect runs at
   * once and an open link is checked. (Pages need nothing: online/offline and page visibility
   * are watched on their own. A worker hears neither page visibility nor, in Chromium,
   * online/offline: the page can pass them on through this and `netInfo`.)
   */
  appState?: AppStateLike | undefined;
  /**
   * React Native's `NetInfo` (from `@react-native-community/netinfo`): when the device moves to
   * another network (Wi-Fi to cellular, say) or back onto one, a waiting reconnect runs at once
   * and an open link is checked; losing the network drops the link at once.
   */
  netInfo?: NetInfoLike | undefined;
  /**
   * How long, in ms, a transport may try alone before the next one starts alongside it (the
   * first to complete the handshake wins). Default 500.
   */
  fallbackDelay?: number | undefined;
  /**
   * While connected over a transport that `transports` ranks below WebSocket (streaming or polling
   * by default), keep trying WebSocket in the background and switch to it, without losing or
   * reordering a message, once it works. Default true. (This and the next two belong to the
   * default entry's adaptive fallback; the core entry ignores them.)
   */
  upgrade?: boolean | undefined;
  /**
   * Remember the transport that worked for this endpoint (in localStorage where there is one,
   * else in memory) for 24 h, so the next connection starts with it. Default true.
   */
  rememberTransport?: boolean | undefined;
  /** Where to remember it instead of localStorage: any object with getItem/setItem/removeItem. */
  storage?: StorageLike | undefined;
  /** Log every decision (transport tried, failed, chosen, demoted, upgraded; retries): true for console.debug, or a function. */
  debug?: boolean | ((message: string) => void) | undefined;
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
  readonly retryPolicy: RetryPolicy | null;
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly connectTimeoutMs: number;
  readonly clock: Clock;
  readonly network: NetworkSources;
  readonly fallbackDelayMs: number;
  readonly log: ((message: string) => void) | undefined;
  /**
   * What the caller passed: the source of the capabilities (WebSocket, fetch, XMLHttpRequest) and
   * of a fallback plug-in's own options (upgrade, rememberTransport, storage).
   */
  readonly given: ClientOptions;
}

/** setTimeout's limit: a longer delay would fire at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Throws INVALID_ARGUMENT naming the option and what it got. */
export function invalidOption(name: string, value: unknown): never {
  throw new LifelineError("INVALID_ARGUMENT", `invalid option ${name}: ${String(value)}`);
}

/** A number from 0 (or above 0 when `positive`) to `max`, or the fallback when absent. */
function num(value: number | undefined, name: string, fallback: number, positive?: boolean, max = Infinity): number {
  if (value === undefined) return fallback;
  return typeof value === "number" && (positive ? value > 0 : value >= 0) && value <= max ? value : invalidOption(name, value);
}

/** A whole number (or Infinity) as num() checks it. */
function count(value: number | undefined, name: string, fallback: number, positive?: boolean): number {
  const n = num(value, name, fallback, positive);
  // Infinity % 1 is NaN, which passes.
  return n % 1 ? invalidOption(name, value) : n;
}

/** The value when absent or of the given type (typeof); throws otherwise. */
export function optionOfType<T>(value: T, name: string, type: string): T {
  return value === undefined || typeof value === type ? value : invalidOption(name, value);
}

/** An object with these methods, or undefined when absent; throws otherwise. */
export function optionWithMethods<T>(value: T, name: string, methods: string[]): T {
  return value === undefined || methods.every((m) => typeof (value as Record<string, unknown> | null)?.[m] === "function") ? value : invalidOption(name, value);
}

/** An object of settings: not null, not an array. */
const isPlainOption = (value: unknown): boolean => typeof value === "object" && !!value && !Array.isArray(value);

/** The backoff of `reconnect`, checked, with its defaults. */
function backoffSettings(reconnect: ReconnectOptions): BackoffSettings {
  const initialDelayMs = num(reconnect.initialDelay, "reconnect.initialDelay", 500, false, MAX_DELAY_MS);
  const factor = num(reconnect.factor, "reconnect.factor", 2);
  return {
    initialDelayMs,
    // A cap below the first delay would cut that delay short: the cap rises to it instead.
    maxDelayMs: Math.max(initialDelayMs, num(reconnect.maxDelay, "reconnect.maxDelay", 15_000, false, MAX_DELAY_MS)),
    // Below 1 every retry would come sooner than the one before: the opposite of a backoff.
    factor: factor < 1 ? invalidOption("reconnect.factor", factor) : factor,
    jitter: num(reconnect.jitter, "reconnect.jitter", 0.5, false, 1),
    maxAttempts: count(reconnect.maxAttempts, "reconnect.maxAttempts", Infinity),
  };
}

/** Validates options and fills in defaults. Throws LifelineError("INVALID_ARGUMENT"). */
export function resolveOptions(options: Partial<CoreOptions>, factories?: readonly TransportFactory[]): ResolvedOptions {
  if (typeof options !== "object" || !options) invalidOption("options", options);
  optionOfType(options.fetch, "fetch", "function");
  for (const name of ["WebSocket", "XMLHttpRequest"] as const) {
    const given = options[name];
    // Called with `new`: an arrow function would pass a typeof check and then fail every link.
    // Reflect.construct with it as new.target checks that without calling it.
    try {
      if (given !== undefined) Reflect.construct(Object, [], given);
    } catch {
      invalidOption(name, given);
    }
  }
  const all = factories ?? options.transportFactories;
  if (!Array.isArray(all)) invalidOption("transportFactories", all);
  const wanted = options.transports;
  if (wanted !== undefined && (!Array.isArray(wanted) || !wanted.length || new Set(wanted).size < wanted.length)) invalidOption("transports", wanted);
  const { reconnect = {}, buffer = {} } = options;
  if (reconnect !== false && !isPlainOption(reconnect)) invalidOption("reconnect", reconnect);
  const backoff = reconnect && backoffSettings(reconnect);
  if (!isPlainOption(buffer)) invalidOption("buffer", buffer);
  const appState = optionWithMethods(options.appState, "appState", ["addEventListener"]);
  const netInfo = optionWithMethods(options.netInfo, "netInfo", ["addEventListener"]);
  const { debug } = options;
  const print = debug === true ? (message: string) => console.debug("[lifeline] " + message) : debug === false ? undefined : optionOfType(debug, "debug", "function");
  // The log is written in the middle of state changes: a logger that throws must not stop one.
  const log = print && ((message: string) => callApp(print, message));
  return {
    // Spread: a hole in the array is then an undefined name, refused like any unknown one.
    factories: wanted ? [...wanted].map((name) => all.find((f) => f.name === name) ?? invalidOption("transports", name)) : all,
    retryPolicy: options.retryPolicy ?? (backoff ? exponentialBackoff(backoff) : null),
    maxMessages: count(buffer.maxMessages, "buffer.maxMessages", DEFAULT_BUFFER_MAX_MESSAGES, true),
    maxBytes: num(buffer.maxBytes, "buffer.maxBytes", DEFAULT_BUFFER_MAX_BYTES, true),
    connectTimeoutMs: num(options.connectTimeout, "connectTimeout", 10_000, true, MAX_DELAY_MS),
    clock: options.clock ?? systemClock,
    network: options.networkSources ?? platformSources(appState, netInfo),
    fallbackDelayMs: num(options.fallbackDelay, "fallbackDelay", 500, false, MAX_DELAY_MS),
    log,
    given: options,
  };
}
