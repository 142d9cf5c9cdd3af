import { LifelineServerError } from "./errors.js";

type Listener<T> = (payload: T) => void;

/**
 * A minimal typed event emitter. Every on() is one registration, as with Node's EventEmitter: the
 * same function added twice is called twice, and each removal takes away one registration.
 */
export interface Emitter<Events extends object> {
  /** Adds a registration; returns the function that removes that registration (and no other). */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void;
  /** Removes the latest registration of this listener, if any. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void;
  emit<K extends keyof Events>(event: K, payload: Events[K]): void;
  /** Whether the event has a listener. */
  has(event: keyof Events): boolean;
  clear(): void;
}

/** One object per registration, so on()'s remover takes away its own and no other. */
interface Registration<T> {
  readonly listener: Listener<T>;
}

type Lists<Events> = { [K in keyof Events]?: readonly Registration<Events[K]>[] };

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
    const registration: Registration<Events[K]> = { listener };
    lists[event] = [...(lists[event] ?? []), registration];
    return () => this.remove(event, registration);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.remove(event, this.lists?.[event]?.filter((registration) => registration.listener === listener).pop());
  }

  private remove<K extends keyof Events>(event: K, registration: Registration<Events[K]> | undefined): void {
    const list = this.lists?.[event];
    if (registration && list?.includes(registration)) this.lists![event] = list.filter((r) => r !== registration);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const list = this.lists?.[event];
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!.listener(payload);
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

  has(event: keyof Events): boolean {
    return !!this.lists?.[event]?.length;
  }

  clear(): void {
    this.lists = undefined;
  }
}

export function createEmitter<Events extends object>(): Emitter<Events> {
  return new LazyEmitter<Events>();
}
