import type { Clock } from "./clock.js";
import type { TransportName } from "./transports/transport.js";

/** The part of `localStorage` used here; any object with these methods will do. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** What worked last for one endpoint, so the next connection (or page load) starts with it. */
export interface TransportMemory {
  recall(): TransportName | undefined;
  remember(name: TransportName): void;
  forget(): void;
}

const PREFIX = "lifeline:transport:";
const NAMES: readonly string[] = ["websocket", "streaming", "polling"];

// Where there is no localStorage (Node, React Native): shared by the connections of this process.
let processMemory: Map<string, string> | undefined;

/** The page's localStorage when it can be used; reading it throws in some sandboxed frames. */
export function platformStorage(): StorageLike | undefined {
  try {
    const storage = (globalThis as { localStorage?: StorageLike }).localStorage;
    return storage && typeof storage.getItem === "function" ? storage : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Remembers the last transport that worked for `endpoint`, for `ttlMs`. Storage errors (quota,
 * private mode) only cost the memory, never the connection.
 */
export function createTransportMemory(endpoint: string, storage: StorageLike | undefined, clock: Clock, ttlMs: number): TransportMemory {
  const key = PREFIX + endpoint;
  const store: StorageLike = storage ?? {
    getItem: (k) => (processMemory ??= new Map()).get(k) ?? null,
    setItem: (k, v) => void (processMemory ??= new Map()).set(k, v),
    removeItem: (k) => void processMemory?.delete(k),
  };
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch {
      return undefined;
    }
  };
  const forget = () => attempt(() => store.removeItem(key));
  return {
    recall() {
      const value = attempt(() => store.getItem(key));
      // Anything but a string (an async storage's Promise, say) is nothing remembered.
      const [name, at] = typeof value === "string" ? value.split(" ") : [];
      if (!name || !NAMES.includes(name)) return undefined;
      // Also forgotten when stored more than ttlMs "ahead": the wall clock was set back since,
      // and counting from then would keep it for as long again.
      if (!(Math.abs(clock.now() - Number(at)) < ttlMs)) {
        forget();
        return undefined;
      }
      return name as TransportName;
    },
    remember: (name) => attempt(() => store.setItem(key, `${name} ${clock.now()}`)),
    forget,
  };
}
