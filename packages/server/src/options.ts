import {
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PING_TIMEOUT_MS,
  DEFAULT_RESUME_WINDOW_MS,
  maxBatchLines,
  maxBodyBytes,
} from "@lifeline/protocol";
import { constants as bufferConstants } from "node:buffer";
import type { Clock } from "./clock.js";
import { systemClock } from "./clock.js";
import { LifelineServerError } from "./errors.js";
import type { Logger } from "./log.js";

/** Liveness checks of each session's link; durations in milliseconds. */
export interface HeartbeatOptions {
  /**
   * The server pings every session this often (and at least every half `timeout` while a batch
   * from the client takes longer than that to arrive). Default 15000.
   */
  interval?: number | undefined;
  /** Extra silence tolerated after interval before a link counts as dead. Default 10000. */
  timeout?: number | undefined;
}

/** Bounds of the per-session buffer of sent messages kept until the client acknowledges them. */
export interface ReplayBufferOptions {
  /** Default 10000 messages. */
  maxMessages?: number | undefined;
  /** Payload bytes (UTF-8 for text). Default 16 MiB. */
  maxBytes?: number | undefined;
}

/** Options of createServer(). Durations are in milliseconds, sizes in bytes. */
export interface ServerOptions {
  /**
   * Base path of every endpoint, written as a URL sends it: no "." or ".." segment, and
   * percent-encoded what a URL encodes (non-ASCII, spaces, quotes, `<>{}`…); INVALID_OPTION
   * otherwise, as no request would match it. Default "/lifeline".
   */
  path?: string | undefined;
  /** Ping schedule and dead-link detection. */
  heartbeat?: HeartbeatOptions | undefined;
  /** How long a session without a link waits to be resumed before it closes. Default 60000. */
  resumeWindow?: number | undefined;
  /** Largest message payload accepted and sent, in bytes. Default 4 MiB. */
  maxMessageSize?: number | undefined;
  /**
   * Origins allowed to connect, e.g. `["https://app.example.com", "http://localhost:3000"]`;
   * `"*"` allows any. Each must be scheme://host[:port], matched whole: no pattern such as
   * `https://*.example.com` (anything else is refused with INVALID_OPTION, as it could never
   * match). Checked only for requests that carry an Origin header. Default: every origin.
   */
  allowedOrigins?: string[] | undefined;
  /**
   * Bounds of the replay buffer. When it overflows the oldest messages are dropped; a client
   * that still needed them gets a new session (`resumed: false`) when it reconnects.
   */
  replayBuffer?: ReplayBufferOptions | undefined;
  /** Receives diagnostics about refused requests and dropped links. Default: silent. */
  logger?: Logger | undefined;
  /** @internal Time source; tests pass a manual clock. */
  clock?: Clock;
}

export interface ResolvedOptions {
  readonly path: string;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly resumeWindowMs: number;
  readonly maxMessageBytes: number;
  /** Largest HTTP body or WebSocket message read, derived from maxMessageBytes. */
  readonly maxBodyBytes: number;
  /** Most lines read in one batch, derived from maxMessageBytes (see maxBatchLines in the protocol). */
  readonly maxBatchLines: number;
  /**
   * Bytes a link may hold unsent (socket buffers, a poll queue) before the client counts as
   * not reading: its link is dropped, as on a heartbeat timeout, instead of growing memory.
   * The least a session allows: SessionCore.maxUnsentBytes also makes room for its replay.
   */
  readonly maxUnsentBytes: number;
  /** Lowercased allowed origins, or undefined when every origin is allowed. */
  readonly allowedOrigins: ReadonlySet<string> | undefined;
  readonly replayMaxMessages: number;
  readonly replayMaxBytes: number;
  readonly logger: Logger | undefined;
  readonly clock: Clock;
}

export const DEFAULT_PATH = "/lifeline";
export const DEFAULT_REPLAY_MAX_MESSAGES = 10_000;
export const DEFAULT_REPLAY_MAX_BYTES = 16 * 1024 * 1024;

const KNOWN = new Set(["path", "heartbeat", "resumeWindow", "maxMessageSize", "allowedOrigins", "replayBuffer", "logger", "clock"]);

function invalid(message: string): never {
  throw new LifelineServerError("INVALID_OPTION", message);
}

function plainObject(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) invalid(`${name} must be an object, got ${String(value)}`);
  return value as Record<string, unknown>;
}

/**
 * A batch is read, and a message written, as one JavaScript string: a batch of maxBodyBytes
 * (escape-heavy text takes six bytes a payload byte) must fit in the longest string the engine
 * makes (about 512 Mi characters in Node 20), or one large message would throw where it is read.
 */
export const MAX_MESSAGE_SIZE = Math.floor((bufferConstants.MAX_STRING_LENGTH - maxBodyBytes(0)) / 6);

/**
 * Durations and sizes go on the wire in `welcome` as JSON integers, so they must be integers.
 * The upper bound keeps them valid for setTimeout (which would fire at once past 2^31 − 1 ms).
 */
function integer(value: unknown, name: string, fallback: number, min: number, max = 2_147_483_647): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function resolvePath(value: unknown): string {
  if (value === undefined) return DEFAULT_PATH;
  if (typeof value !== "string" || !value.startsWith("/") || /[?#\s]/.test(value)) {
    invalid(`path must be a string starting with "/" without query, fragment or spaces, got ${JSON.stringify(value)}`);
  }
  // "/lifeline/" and "/lifeline" name the same base; "/" means the endpoints sit at the root.
  const path = value.replace(/\/+$/, "");
  // Requests are matched on their URL's path, which a client's URL parser has already
  // normalised ("/a/../b" → "/b", "ä" → "%C3%A4") and which "//x" would not even begin: a base
  // in any other form would be matched by no request.
  const sent = new URL(path + "/", "http://localhost").pathname.replace(/\/+$/, "");
  // Two slashes (or backslashes) first would start a host: no path to name.
  const hint = /^[/\\]{2}/.test(value) ? "" : ` (a URL sends ${JSON.stringify(sent || "/")})`;
  if (sent !== path) invalid(`path must be written as a URL sends it, got ${JSON.stringify(value)}${hint}`);
  return path;
}

function resolveOrigins(value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((origin) => typeof origin !== "string" || origin === "")) {
    invalid("allowedOrigins must be an array of origin strings such as \"https://app.example.com\"");
  }
  const origins = value as string[];
  // Each is checked even beside "*": a typo there would bite once the "*" goes.
  const allowed = new Set(origins.filter((origin) => origin !== "*").map(normalizeOrigin));
  return origins.includes("*") ? undefined : allowed;
}

/**
 * The form a browser sends in its Origin header: scheme://host[:port] in lower case, without a
 * path (nor, for http and https, a default port); or "null" (sandboxed frames, file: pages).
 * Anything else could never match, so it is refused instead.
 */
function normalizeOrigin(origin: string): string {
  const lower = origin.toLowerCase().replace(/\/+$/, "");
  if (lower === "null") return lower;
  const refuse = (): never => invalid(`allowedOrigins: "${origin}" is not an origin such as "https://app.example.com"`);
  // No "*" in a host: origins are compared whole, so a pattern would match nothing.
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s*]+$/.test(lower)) refuse();
  if (!/^https?:/.test(lower)) return lower; // capacitor://localhost, chrome-extension://id: no URL.origin
  try {
    return new URL(lower).origin;
  } catch {
    return refuse(); // a port past 65535, a broken IPv6 address, a bad "%" escape…
  }
}

function resolveClock(value: unknown): Clock {
  if (value === undefined) return systemClock;
  const clock = value as Partial<Clock>;
  if (typeof clock.now !== "function" || typeof clock.setTimeout !== "function" || typeof clock.clearTimeout !== "function") {
    invalid("clock must have now(), setTimeout() and clearTimeout()");
  }
  return value as Clock;
}

/** Checks the options and fills in the defaults; throws LifelineServerError INVALID_OPTION. */
export function resolveOptions(input: ServerOptions | undefined): ResolvedOptions {
  const options = plainObject(input, "options");
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) invalid(`unknown option "${key}" (known: ${[...KNOWN].filter((k) => k !== "clock").join(", ")})`);
  }
  const heartbeat = plainObject(options["heartbeat"], "heartbeat");
  for (const key of Object.keys(heartbeat)) if (key !== "interval" && key !== "timeout") invalid(`unknown option "heartbeat.${key}" (known: interval, timeout)`);
  const replay = plainObject(options["replayBuffer"], "replayBuffer");
  for (const key of Object.keys(replay)) if (key !== "maxMessages" && key !== "maxBytes") invalid(`unknown option "replayBuffer.${key}" (known: maxMessages, maxBytes)`);
  const logger = options["logger"];
  const levels = ["debug", "info", "warn", "error"] as const;
  if (
    logger !== undefined &&
    (typeof logger !== "object" || logger === null || Array.isArray(logger) || levels.some((level) => !["function", "undefined"].includes(typeof (logger as Logger)[level])))
  ) {
    invalid("logger must be an object whose debug/info/warn/error, where present, are functions");
  }

  const maxMessageBytes = integer(options["maxMessageSize"], "maxMessageSize", DEFAULT_MAX_MESSAGE_BYTES, 1, MAX_MESSAGE_SIZE);
  const pingIntervalMs = integer(heartbeat["interval"], "heartbeat.interval", DEFAULT_PING_INTERVAL_MS, 1);
  const pingTimeoutMs = integer(heartbeat["timeout"], "heartbeat.timeout", DEFAULT_PING_TIMEOUT_MS, 1);
  // Some timers wait for their sum (a link's silence limit), and setTimeout fires longer ones at once.
  if (pingIntervalMs + pingTimeoutMs > 2_147_483_647) {
    invalid(`heartbeat.interval + heartbeat.timeout must be at most 2147483647 ms, got ${pingIntervalMs + pingTimeoutMs}`);
  }
  return {
    path: resolvePath(options["path"]),
    pingIntervalMs,
    pingTimeoutMs,
    resumeWindowMs: integer(options["resumeWindow"], "resumeWindow", DEFAULT_RESUME_WINDOW_MS, 0),
    maxMessageBytes,
    maxBodyBytes: maxBodyBytes(maxMessageBytes),
    maxBatchLines: maxBatchLines(maxMessageBytes),
    maxUnsentBytes: 2 * Math.max(maxBodyBytes(maxMessageBytes), integer(replay["maxBytes"], "replayBuffer.maxBytes", DEFAULT_REPLAY_MAX_BYTES, 1, Number.MAX_SAFE_INTEGER)),
    allowedOrigins: resolveOrigins(options["allowedOrigins"]),
    replayMaxMessages: integer(replay["maxMessages"], "replayBuffer.maxMessages", DEFAULT_REPLAY_MAX_MESSAGES, 1, Number.MAX_SAFE_INTEGER),
    replayMaxBytes: integer(replay["maxBytes"], "replayBuffer.maxBytes", DEFAULT_REPLAY_MAX_BYTES, 1, Number.MAX_SAFE_INTEGER),
    logger: logger as Logger | undefined,
    clock: resolveClock(options["clock"]),
  };
}
