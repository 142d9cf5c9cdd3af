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
      (listeners[event] ||= []).push(listener);
      return () => off(event, listener);
    },
    off,
    emit(event, payload) {
      // Iterate over a snapshot: listeners may unsubscribe while being called.
      for (const listener of listeners[event]?.slice() ?? []) {
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
    clear() {
      listeners = {};
    },
  };
}
