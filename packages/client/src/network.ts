import { callApp } from "./errors.js";

/** Something to add and remove listeners on, whose events are of type E. */
interface EventSource<E> {
  addEventListener(type: string, listener: (event: E) => void): void;
  removeEventListener(type: string, listener: (event: E) => void): void;
}

/** The part of `window` used here: online/offline and pageshow events. */
export interface WindowLike {
  addEventListener(type: string, listener: (event: { persisted?: boolean }) => void): void;
  removeEventListener(type: string, listener: (event: { persisted?: boolean }) => void): void;
}

/** The part of `document` used here: page visibility. */
export interface DocumentLike {
  readonly visibilityState?: string;
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/**
 * React Native's `AppState` (pass it as the `appState` option). Newer versions return a
 * subscription from addEventListener; older ones have removeEventListener.
 */
export interface AppStateLike {
  addEventListener(type: "change", listener: (state: string) => void): { remove(): void } | void;
  removeEventListener?(type: "change", listener: (state: string) => void): void;
}

/**
 * `NetInfo` from `@react-native-community/netinfo` (pass it as the `netInfo` option): its
 * addEventListener calls back with the current network and returns the unsubscribe function.
 */
export interface NetInfoLike {
  addEventListener(listener: (state: { readonly type: string; readonly isConnected: boolean | null }) => void): () => void;
}

export interface NetworkSources {
  readonly window?: WindowLike | undefined;
  readonly document?: DocumentLike | undefined;
  readonly appState?: AppStateLike | undefined;
  readonly netInfo?: NetInfoLike | undefined;
}

export interface NetworkHandlers {
  /** The device says it is online again. */
  online(): void;
  /** The device says it went offline: the link is gone, whatever the socket thinks. */
  offline(): void;
  /** The app is back in the foreground (visible page, restored page, active RN app). */
  foreground(): void;
  /** The device is on another network, or back on one (React Native's NetInfo). */
  networkChanged(): void;
}

/**
 * Where the platform has them, turns its signals into handler calls: `online`/`offline` and
 * `pageshow` on window, `visibilitychange` on document, AppState and NetInfo changes in React
 * Native.
 * Returns the function that removes every listener it added.
 */
export function watchNetwork(sources: NetworkSources, handlers: NetworkHandlers): () => void {
  const removers: (() => void)[] = [];
  const { window: win, document: doc, appState, netInfo } = sources;
  const listen = <E>(target: EventSource<E>, type: string, listener: (event: E) => void) => {
    target.addEventListener(type, listener);
    removers.push(() => target.removeEventListener(type, listener));
  };

  if (win) {
    listen(win, "online", () => handlers.online());
    listen(win, "offline", () => handlers.offline());
    // A page restored from the back/forward cache had its timers and sockets frozen.
    listen(win, "pageshow", (event) => {
      if (event.persisted) handlers.foreground();
    });
  }

  if (doc) {
    listen<void>(doc, "visibilitychange", () => {
      if (doc.visibilityState === "visible") handlers.foreground();
    });
  }

  if (appState) {
    const change = (state: string) => {
      if (state === "active") handlers.foreground();
    };
    const subscription = appState.addEventListener("change", change);
    removers.push(() => (subscription ? subscription.remove() : appState.removeEventListener?.("change", change)));
  }

  if (netInfo) {
    // The first call reports where the device is now; only changes from there mean something.
    let previous: string | undefined;
    const unsubscribe: unknown = netInfo.addEventListener(({ type, isConnected }) => {
      // Android reports "unknown" (and not connected) before it knows, and for links it cannot
      // name (USB tethering): no information, neither a loss nor a change.
      if (type === "unknown") return;
      const now = isConnected === false ? "offline" : type;
      if (previous !== undefined && now !== previous) {
        if (now === "offline") handlers.offline();
        else handlers.networkChanged();
      }
      previous = now;
    });
    // A wrapper may hand back a subscription object instead of the function: close() must work.
    removers.push(() => (typeof unsubscribe === "function" ? unsubscribe() : (unsubscribe as { remove?(): void } | undefined)?.remove?.()));
  }

  return () => {
    // An AppState or NetInfo whose removal throws must not stop close() halfway.
    for (const remove of removers.splice(0)) callApp(remove, undefined);
  };
}

/** The platform's own window and document, when there are any (browsers; not Node or RN). */
export function platformSources(appState: AppStateLike | undefined, netInfo: NetInfoLike | undefined): NetworkSources {
  const g = globalThis as { addEventListener?: unknown; removeEventListener?: unknown; document?: DocumentLike };
  const hasWindowEvents = typeof g.addEventListener === "function" && typeof g.removeEventListener === "function";
  return {
    window: hasWindowEvents ? (g as unknown as WindowLike) : undefined,
    document: g.document && typeof g.document.addEventListener === "function" ? g.document : undefined,
    appState,
    netInfo,
  };
}
