import { LifelineError } from "./errors.js";

type Listener<T> = (payload: T) => void;

/**
 * A minimal typed event emitter. Every on() is one registration, as with Node's EventEmitter: the
 * same function added twice is called twice, and each removal takes away one registration.
 */
export interface Emitter<Events extends object> {
  /** Adds a registration; returns the function that removes it (once). */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void;
  /** Removes the latest registration of this listener, if any. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void;
  emit<K extends keyof Events>(event: K, payload: Events[K]): void;
}

export function createEmitter<Events extends object>(): Emitter<Events> {
  const listeners: { [K in keyof Events]?: Listener<Events[K]>[] } = {};
  const off = <K extends keyof Events>(event: K, listener: Listener<Events[K]>) => {
    const list = listeners[event] ?? [];
    const index = list.lastIndexOf(listener);
    // A copy, not a splice: an emit in progress iterates over the list it started with.
    if (index >= 0) (listeners[event] = list.slice()).splice(index, 1);
  };
  return {
    on(event, listener) {
      if (typeof listener !== "function") throw new LifelineError("INVALID_ARGUMENT", "listener must be a function");
      listeners[event] = (listeners[event] ?? []).concat(listener);
      let added = true;
      return () => {
        if (added) off(event, listener);
        added = false;
      };
    },
    off,
    emit(event, payload) {
      for (const listener of listeners[event] ?? []) {
        try {
          listener(payload);
        } catch (error) {
          // A throwing listener must not break the connection's bookkeeping; rethrow it
          // outside this call stack so it still reaches the host's error reporting.
          globalThis.setTimeout(() => {
            throw error;
          }, 0);
        }
      }
    },
  };
}
