import { callApp, LifelineError } from "./errors.js";

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
  /** Forgets every registration; an emit under way calls none of the listeners it has not called yet. */
  clear(): void;
}

/** `names`: the events there are; on() refuses any other, which from JavaScript is a typo that would wait forever. */
export function createEmitter<Events extends object>(names: readonly (keyof Events & string)[]): Emitter<Events> {
  // One object per registration, so on()'s remover takes away its own and no other.
  type Registration = { readonly listener: Listener<never> };
  // No prototype: off("toString") must find nothing, not Object's method.
  let registrations: { [K in keyof Events]?: Registration[] } = Object.create(null);
  const remove = (event: keyof Events, registration: Registration | undefined) => {
    const list = registrations[event] ?? [];
    const index = list.indexOf(registration!);
    // A copy, not a splice: an emit in progress iterates over the list it started with.
    if (index >= 0) (registrations[event] = list.slice()).splice(index, 1);
  };
  return {
    on(event, listener) {
      if (!names.includes(event as keyof Events & string)) throw new LifelineError("INVALID_ARGUMENT", `unknown event "${String(event)}" (known: ${names.join(", ")})`);
      if (typeof listener !== "function") throw new LifelineError("INVALID_ARGUMENT", "listener must be a function");
      const registration: Registration = { listener };
      registrations[event] = (registrations[event] ?? []).concat(registration);
      return () => remove(event, registration);
    },
    off(event, listener) {
      remove(event, registrations[event]?.filter((registration) => registration.listener === listener).pop());
    },
    emit(event, payload) {
      const current = registrations;
      for (const { listener } of current[event] ?? []) {
        // A listener cleared them (it closed the connection): the rest would hear of one that is gone.
        if (current !== registrations) return;
        callApp(listener as Listener<Events[typeof event]>, payload);
      }
    },
    clear() {
      registrations = Object.create(null);
    },
  };
}
