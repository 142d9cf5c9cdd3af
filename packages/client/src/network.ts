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

export interface NetworkSources {
  readonly window?: WindowLike | undefined;
  readonly document?: DocumentLike | undefined;
  readonly appState?: AppStateLike | undefined;
}

export interface NetworkHandlers {
  /** The device says it is online again. */
  online(): void;
  /** The device says it went offline: the link is gone, whatever the socket thinks. */
  offline(): void;
  /** The app is back in the foreground (visible page, restored page, active RN app). */
  foreground(): void;
}

/**
 * Where the platform has them, turns its signals into handler calls: `online`/`offline` and
 * `pageshow` on window, `visibilitychange` on document, AppState changes in React Native.
 * Returns the function that removes every listener it added.
 */
export function watchNetwork(sources: NetworkSources, handlers: NetworkHandlers): () => void {
  const removers: (() => void)[] = [];
  const { window: win, document: doc, appState } = sources;

  if (win) {
    const online = () => handlers.online();
    const offline = () => handlers.offline();
    // A page restored from the back/forward cache had its timers and sockets frozen.
    const pageshow = (event: { persisted?: boolean }) => {
      if (event.persisted) handlers.foreground();
    };
    win.addEventListener("online", online);
    win.addEventListener("offline", offline);
    win.addEventListener("pageshow", pageshow);
    removers.push(() => {
      win.removeEventListener("online", online);
      win.removeEventListener("offline", offline);
      win.removeEventListener("pageshow", pageshow);
    });
  }

  if (doc) {
    const visibility = () => {
      if (doc.visibilityState === "visible") handlers.foreground();
    };
    doc.addEventListener("visibilitychange", visibility);
    removers.push(() => doc.removeEventListener("visibilitychange", visibility));
  }

  if (appState) {
    const change = (state: string) => {
      if (state === "active") handlers.foreground();
    };
    const subscription = appState.addEventListener("change", change);
    removers.push(() => (subscription ? subscription.remove() : appState.removeEventListener?.("change", change)));
  }

  return () => {
    for (const remove of removers.splice(0)) remove();
  };
}

/** The platform's own window and document, when there are any (browsers; not Node or RN). */
export function platformSources(appState: AppStateLike | undefined): NetworkSources {
  const g = globalThis as { addEventListener?: unknown; removeEventListener?: unknown; document?: DocumentLike };
  const hasWindowEvents = typeof g.addEventListener === "function" && typeof g.removeEventListener === "function";
  return {
    window: hasWindowEvents ? (g as unknown as WindowLike) : undefined,
    document: g.document && typeof g.document.addEventListener === "function" ? g.document : undefined,
    appState,
  };
}
