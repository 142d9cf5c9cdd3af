import { describe, expect, it } from "vitest";
import { watchNetwork } from "../src/network.js";
import type { AppStateLike } from "../src/network.js";
import { createFakeAppState, createFakeDocument, createFakeNetInfo, createFakeWindow } from "./helpers/fake-platform.js";

function record() {
  const calls: string[] = [];
  const handlers = {
    online: () => calls.push("online"),
    offline: () => calls.push("offline"),
    foreground: () => calls.push("foreground"),
    networkChanged: () => calls.push("networkChanged"),
  };
  return { calls, handlers };
}

describe("watchNetwork", () => {
  it("turns online, offline, bfcache restores and visibility into handler calls", () => {
    const win = createFakeWindow();
    const doc = createFakeDocument();
    const { calls, handlers } = record();
    const stop = watchNetwork({ window: win, document: doc }, handlers);
    win.fire("offline");
    win.fire("online");
    win.fire("pageshow", { persisted: false });
    win.fire("pageshow", { persisted: true });
    doc.setVisibility("hidden");
    doc.setVisibility("visible");
    expect(calls).toEqual(["offline", "online", "foreground", "foreground"]);
    stop();
    expect(win.listenerCount()).toBe(0);
    expect(doc.listenerCount()).toBe(0);
    win.fire("online");
    expect(calls).toHaveLength(4);
  });

  it("follows React Native's AppState, with subscriptions or with removeEventListener", () => {
    for (const style of ["subscription", "legacy"] as const) {
      const appState = createFakeAppState(style);
      const { calls, handlers } = record();
      const stop = watchNetwork({ appState }, handlers);
      appState.set("background");
      appState.set("inactive");
      appState.set("active");
      expect(calls).toEqual(["foreground"]);
      stop();
      expect(appState.listenerCount()).toBe(0);
    }
  });

  it("follows React Native's NetInfo: the network it starts on is no change, a switch or a return is, and losing it is offline", () => {
    const netInfo = createFakeNetInfo("wifi", true);
    const { calls, handlers } = record();
    const stop = watchNetwork({ netInfo }, handlers);
    expect(calls).toEqual([]);
    netInfo.set("wifi", true); // the same network again: nothing
    netInfo.set("cellular", true); // Wi-Fi to cellular
    netInfo.set("cellular", false); // lost it
    netInfo.set("cellular", false);
    netInfo.set("cellular", true); // back
    netInfo.set("cellular", null); // unknown: still that network
    expect(calls).toEqual(["networkChanged", "offline", "networkChanged"]);
    stop();
    expect(netInfo.listenerCount()).toBe(0);
    netInfo.set("wifi", true);
    expect(calls).toHaveLength(3);
  });

  it("takes NetInfo's 'unknown' as no information, and accepts a subscription object back", () => {
    const removed: string[] = [];
    let listener!: (state: { type: string; isConnected: boolean | null }) => void;
    const netInfo = {
      addEventListener(fn: typeof listener) {
        listener = fn;
        return { remove: () => removed.push("remove") } as unknown as () => void;
      },
    };
    const { calls, handlers } = record();
    const stop = watchNetwork({ netInfo }, handlers);
    listener({ type: "unknown", isConnected: false }); // Android, before it knows
    listener({ type: "wifi", isConnected: true }); // the network it starts on
    listener({ type: "unknown", isConnected: false }); // a link it cannot name
    listener({ type: "wifi", isConnected: true });
    expect(calls).toEqual([]);
    stop();
    expect(removed).toEqual(["remove"]);
  });

  it("does nothing where the platform has none of these (Node)", () => {
    const { calls, handlers } = record();
    const stop = watchNetwork({}, handlers);
    stop();
    expect(calls).toEqual([]);
  });

  it("removes listeners only once, however often it is stopped", () => {
    const appState: AppStateLike & { removed: number } = {
      removed: 0,
      addEventListener: () => ({ remove: () => void appState.removed++ }),
    };
    const stop = watchNetwork({ appState }, record().handlers);
    stop();
    stop();
    expect(appState.removed).toBe(1);
  });
});
