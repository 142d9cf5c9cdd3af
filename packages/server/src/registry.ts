import { randomBytes } from "node:crypto";
import type { CloseInfo } from "./link.js";
import type { SessionCore } from "./session.js";

/** Live sessions by id. A session removes itself (onClosed) when it ends. */
export interface Registry {
  get(id: string): SessionCore | undefined;
  /** Creates a session with a fresh id and registers it. */
  create(): SessionCore;
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

export function createRegistry(make: (id: string, onClosed: (core: SessionCore) => void) => SessionCore): Registry {
  const sessions = new Map<string, SessionCore>();
  const onClosed = (core: SessionCore) => {
    if (sessions.get(core.id) === core) sessions.delete(core.id);
  };
  return {
    get: (id) => sessions.get(id),
    create() {
      let id = newSessionId();
      while (sessions.has(id)) id = newSessionId();
      const core = make(id, onClosed);
      sessions.set(id, core);
      return core;
    },
    values: () => [...sessions.values()],
    get size() {
      return sessions.size;
    },
    closeAll(info) {
      for (const core of [...sessions.values()]) core.close(info);
    },
  };
}
