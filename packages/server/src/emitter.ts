import { LifelineServerError } from "./errors.js";

type Listener<T> = (payload: T) => void;

/** A minimal typed event emitter. on() returns the function that removes the listener. */
export interface Emitter<Events extends object> {
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void;
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void;
  emit<K extends keyof Events>(event: K, payload: Events[K]): void;
  clear(): void;
}

type Lists<Events> = { [K in keyof Events]?: readonly Listener<Events[K]>[] };

/**
 * Every session has one, so it costs one field until a listener is added: the table of lists
 * is made on the first on(). Lists are replaced, never changed in place, so emit() walks the
 * current one without copying it, even when a listener unsubscribes while it runs.
 */
class LazyEmitter<Events extends object> implements Emitter<Events> {
  private lists: Lists<Events> | undefined = undefined;

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    if (typeof listener !== "function") throw new LifelineServerError("INVALID_ARGUMENT", `listener for "${String(event)}" must be a function`);
    const lists: Lists<Events> = (this.lists ??= {});
    const list = lists[event];
    lists[event] = list ? [...list, listener] : [listener];
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    const list = this.lists?.[event];
    if (list?.includes(listener)) this.lists![event] = list.filter((l) => l !== listener);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const list = this.lists?.[event];
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(payload);
      } catch (error) {
        // An application bug in a listener must not corrupt the session's bookkeeping (seq,
        // acks, links). Rethrow it outside our call stack, where Node reports it as it would
        // any uncaught exception from an event listener.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  clear(): void {
    this.lists = undefined;
  }
}

export function createEmitter<Events extends object>(): Emitter<Events> {
  return new LazyEmitter<Events>();
}
