type Listener<T> = (payload: T) => void;

/** A minimal typed event emitter. on() returns the function that removes the listener. */
export interface Emitter<Events extends object> {
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void;
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void;
  emit<K extends keyof Events>(event: K, payload: Events[K]): void;
  clear(): void;
}

export function createEmitter<Events extends object>(): Emitter<Events> {
  let listeners: { [K in keyof Events]?: Listener<Events[K]>[] } = {};
  const off = <K extends keyof Events>(event: K, listener: Listener<Events[K]>) => {
    listeners[event] = listeners[event]?.filter((l) => l !== listener);
  };
  return {
    on(event, listener) {
      if (typeof listener !== "function") throw new TypeError(`listener for "${String(event)}" must be a function`);
      (listeners[event] ||= []).push(listener);
      return () => off(event, listener);
    },
    off,
    emit(event, payload) {
      // A snapshot, since listeners may unsubscribe while being called.
      for (const listener of listeners[event]?.slice() ?? []) {
        try {
          listener(payload);
        } catch (error) {
          // An application bug in a listener must not corrupt the session's bookkeeping (seq,
          // acks, links). Rethrow it outside our call stack, where Node reports it as it would
          // any uncaught exception from an event listener.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    },
    clear() {
      listeners = {};
    },
  };
}
