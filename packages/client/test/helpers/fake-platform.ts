import type { AppStateLike, DocumentLike, NetInfoLike, WindowLike } from "../../src/network.js";

type Listener = (event: never) => void;

function listeners() {
  const map = new Map<string, Set<Listener>>();
  return {
    add: (type: string, fn: Listener) => void (map.get(type) ?? map.set(type, new Set()).get(type)!).add(fn),
    remove: (type: string, fn: Listener) => void map.get(type)?.delete(fn),
    fire: (type: string, event?: unknown) => {
      for (const fn of [...(map.get(type) ?? [])]) fn(event as never);
    },
    count: () => [...map.values()].reduce((sum, set) => sum + set.size, 0),
  };
}

export interface FakeWindow extends WindowLike {
  fire(type: "online" | "offline" | "pageshow", event?: { persisted?: boolean }): void;
  listenerCount(): number;
}

/** A window that only has the events Lifeline listens to; the test fires them. */
export function createFakeWindow(): FakeWindow {
  const l = listeners();
  return {
    addEventListener: (type, fn) => l.add(type, fn as Listener),
    removeEventListener: (type, fn) => l.remove(type, fn as Listener),
    fire: (type, event = {}) => l.fire(type, event),
    listenerCount: l.count,
  };
}

export interface FakeDocument extends DocumentLike {
  setVisibility(state: "visible" | "hidden"): void;
  listenerCount(): number;
}

export function createFakeDocument(): FakeDocument {
  const l = listeners();
  const doc = {
    visibilityState: "visible",
    addEventListener: (type: string, fn: () => void) => l.add(type, fn),
    removeEventListener: (type: string, fn: () => void) => l.remove(type, fn),
    setVisibility(state: "visible" | "hidden") {
      doc.visibilityState = state;
      l.fire("visibilitychange");
    },
    listenerCount: l.count,
  };
  return doc;
}

export interface FakeAppState extends AppStateLike {
  set(state: "active" | "background" | "inactive"): void;
  listenerCount(): number;
}

/** React Native's AppState, in its newer (subscription) or older (removeEventListener) shape. */
export function createFakeAppState(style: "subscription" | "legacy" = "subscription"): FakeAppState {
  const l = listeners();
  const add = (type: "change", fn: (state: string) => void) => {
    l.add(type, fn as Listener);
    return style === "subscription" ? { remove: () => l.remove(type, fn as Listener) } : undefined;
  };
  return {
    addEventListener: add as AppStateLike["addEventListener"],
    ...(style === "legacy" ? { removeEventListener: (type: "change", fn: (state: string) => void) => l.remove(type, fn as Listener) } : {}),
    set: (state) => l.fire("change", state),
    listenerCount: l.count,
  };
}

export interface FakeNetInfo extends NetInfoLike {
  /** The device is now on this network (`isConnected: false` for none); every listener hears it. */
  set(type: string, isConnected: boolean | null): void;
  listenerCount(): number;
}

/**
 * `NetInfo` of @react-native-community/netinfo: addEventListener calls back with the current
 * state at once (as the library does, on its next fetch) and returns the unsubscribe function.
 */
export function createFakeNetInfo(type = "wifi", isConnected: boolean | null = true): FakeNetInfo {
  const l = listeners();
  let state = { type, isConnected };
  return {
    addEventListener(fn) {
      l.add("change", fn as Listener);
      fn(state);
      return () => l.remove("change", fn as Listener);
    },
    set(type, isConnected) {
      state = { type, isConnected };
      l.fire("change", state);
    },
    listenerCount: l.count,
  };
}
