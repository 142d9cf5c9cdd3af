import { randomBytes } from "node:crypto";
import { CloseCode, isRetryable } from "@lifeline/protocol";
import type { Clock } from "./clock.js";
import { closeFrameReason } from "./link.js";
import type { CloseInfo } from "./link.js";
import type { SessionCore } from "./session.js";

/** Live sessions by id. A session removes itself (onClosed) when it ends. */
export interface Registry {
  get(id: string): SessionCore | undefined;
  /**
   * True when a session of this id ended lately: within `endedKeepMs` of its end or of the last
   * time this was asked about it (a client still reading its last frames keeps asking).
   */
  endedRecently(id: string): boolean;
  /**
   * How the application closed the session of this id (session.close()) within the last
   * `closedKeepMs`, with a code that ends the client: what a client that was away then is told
   * when it comes back to resume it, its reason cut to 123 bytes of UTF-8. At most MAX_ENDED
   * closes are kept, the oldest forgotten first.
   */
  closedByApp(id: string): CloseInfo | undefined;
  /**
   * Creates a session with a fresh id and registers it, as started by the client connection
   * `connectionId` (hello.cid) when given, unless that connection already has 16 live sessions.
   */
  create(connectionId?: string): SessionCore;
  /** The live sessions started by one client connection, oldest first. */
  ofConnection(connectionId: string): readonly SessionCore[];
  values(): SessionCore[];
  readonly size: number;
  /** Closes every session with `info`; each one emits 'close'. */
  closeAll(info: CloseInfo): void;
}

/**
 * 18 random bytes = 144 bits, base64url: 24 characters, unguessable, safe in a query string
 * without escaping.
 */
export function newSessionId(): string {
  return randomBytes(18).toString("base64url");
}

/** What the registry needs to hear from each session it makes. */
export interface SessionHooks {
  onClosed(core: SessionCore, byApp?: CloseInfo): void;
  onConfirmed(core: SessionCore): void;
}

/** How the candidates a client dropped end once it went on with one of them. */
const RACE_LOST: CloseInfo = { code: CloseCode.TRANSPORT_REPLACED, reason: "another link of this connection went on with its own session" };

/**
 * Most live sessions tracked under one connection id. A client connection has a few at most
 * (race candidates, and one it is leaving); a forged id shared by thousands of hellos would make
 * every hello and every close walk them all. Past this, a session is not tracked under its id.
 */
const MAX_PER_CONNECTION = 16;

/** How many ended sessions the registry remembers at most; the oldest are forgotten first. */
const MAX_ENDED = 10_000;

export interface RegistrySettings {
  readonly clock: Clock;
  /** How long an ended session's id is remembered (endedRecently). */
  readonly endedKeepMs: number;
  /** How long the application's close of a session is remembered (closedByApp): its resume window. */
  readonly closedKeepMs: number;
}

/**
 * Values by session id, each kept `keepMs` from when it was last set, at most MAX_ENDED of them.
 * Expired entries go whenever one is set or looked up, so the memory held is what the last
 * `keepMs` stored.
 */
export function createRecent<T>(clock: Clock, keepMs: number) {
  // Every entry lives as long, and one set again moves to the end, so the map is in order of
  // expiry: pruning starts at the front.
  const entries = new Map<string, { readonly value: T; readonly until: number }>();
  const prune = (): void => {
    for (const [oldest, { until }] of entries) {
      if (until > clock.now() && entries.size <= MAX_ENDED) break;
      entries.delete(oldest);
    }
  };
  return {
    set(id: string, value: T): void {
      entries.delete(id);
      entries.set(id, { value, until: clock.now() + keepMs });
      prune();
    },
    get(id: string): T | undefined {
      prune();
      return entries.get(id)?.value;
    },
    get size(): number {
      return entries.size;
    },
  };
}

export function createRegistry(make: (id: string, hooks: SessionHooks) => SessionCore, { clock, endedKeepMs, closedKeepMs }: RegistrySettings): Registry {
  const sessions = new Map<string, SessionCore>();
  // Ids of sessions that ended lately.
  const ended = createRecent<true>(clock, endedKeepMs);
  // How the application closed a session, kept as long as a resume could come. Only codes that
  // end the client: on the others (1001, 1011, 4000–4099) it reconnects to a new session, which
  // its hello naming this one gets anyway. The reason is cut as a WebSocket close frame cuts it,
  // so what is kept does not grow with the app's reasons.
  const closed = createRecent<CloseInfo>(clock, closedKeepMs);
  // Only sessions whose hello named its connection; an entry goes when its last session does.
  const byConnection = new Map<string, SessionCore[]>();
  const ofConnection = (connectionId: string | undefined): readonly SessionCore[] =>
    connectionId === undefined ? [] : (byConnection.get(connectionId) ?? []);
  const hooks: SessionHooks = {
    onClosed(core, byApp) {
      if (sessions.get(core.id) === core) {
        sessions.delete(core.id);
        ended.set(core.id, true);
        if (byApp && closedKeepMs > 0 && !isRetryable(byApp.code)) closed.set(core.id, { code: byApp.code, reason: closeFrameReason(byApp.reason) });
      }
      if (core.connectionId === undefined) return;
      const relatives = ofConnection(core.connectionId).filter((other) => other !== core);
      if (relatives.length) byConnection.set(core.connectionId, relatives);
      else byConnection.delete(core.connectionId);
    },
    onConfirmed(core) {
      // The client went on with this session: other new sessions of its connection that it
      // never used are candidates of its race that reached us too, and lost.
      for (const other of ofConnection(core.connectionId)) if (other !== core && !other.confirmed) other.close(RACE_LOST);
    },
  };
  return {
    get: (id) => sessions.get(id),
    endedRecently(id) {
      if (!ended.get(id)) return false;
      ended.set(id, true);
      return true;
    },
    closedByApp: (id) => closed.get(id),
    create(connectionId) {
      let id = newSessionId();
      while (sessions.has(id)) id = newSessionId();
      const core = make(id, hooks);
      sessions.set(id, core);
      const relatives = ofConnection(connectionId);
      if (connectionId !== undefined && relatives.length < MAX_PER_CONNECTION) {
        core.connectionId = connectionId;
        byConnection.set(connectionId, [...relatives, core]);
      }
      return core;
    },
    ofConnection,
    values: () => [...sessions.values()],
    get size() {
      return sessions.size;
    },
    closeAll(info) {
      for (const core of [...sessions.values()]) core.close(info);
    },
  };
}
