import { optionOfType, optionWithMethods } from "../options.js";
import { createTransportMemory, platformStorage } from "../transport-memory.js";
import type { TransportName } from "../transports/transport.js";
import type { FallbackFactory } from "./fallback.js";
import { createTransportHealth } from "./health.js";
import { createUpgrader } from "./upgrade.js";

/** How long the transport that worked is remembered for the endpoint. */
const MEMORY_TTL_MS = 24 * 3600_000;

/**
 * The fallback of the default entry. It starts with the transport that worked last for the
 * endpoint (remembered across page loads), keeps transports whose links die soon after opening
 * out of the way for a while, and from a transport ranked below WebSocket (streaming or polling
 * by default) upgrades to WebSocket once it works.
 */
export const adaptiveFallback: FallbackFactory = (host, options) => {
  const { clock, log } = options;
  const health = createTransportHealth(clock);
  const { given } = options;
  const storage = optionWithMethods(given.storage, "storage", ["getItem", "setItem", "removeItem"]);
  const remember = optionOfType(given.rememberTransport, "rememberTransport", "boolean") !== false;
  const upgrade = optionOfType(given.upgrade, "upgrade", "boolean") !== false;
  // Only a connection that had a choice teaches the next one: one forced onto a transport (a
  // polling-only widget, say) must not start every other connection to the endpoint on it. One
  // given its own order remembers apart, so neither order overrides the other.
  const names = given.transports ? " " + options.factories.map((f) => f.name).join() : "";
  const memory = remember && options.factories.length > 1 ? createTransportMemory(host.endpoint.url + names, storage ?? platformStorage(), clock, MEMORY_TTL_MS) : undefined;
  const webSocket = upgrade ? options.factories.find((f) => f.name === "websocket" && f.isSupported(host.caps)) : undefined;
  const upgrader = webSocket ? createUpgrader(host, { factory: webSocket, clock, health, log }) : undefined;
  // The allowed order is the app's preference: a transport it ranks above WebSocket
  // (`transports: ["polling", "websocket"]`) is kept, not upgraded from.
  const rank = (name: string) => options.factories.findIndex((f) => f.name === name);
  const demotion = (name: TransportName) => {
    const ms = health.demotedForMs(name);
    return ms ? `${name} demoted for ${ms} ms: its links keep dying soon after opening` : undefined;
  };
  return {
    order: (supported, last) => health.order(supported, memory ? memory.recall() : (last ?? undefined)),
    opened(name) {
      memory?.remember(name);
      if (rank(name) > rank("websocket")) upgrader?.schedule();
    },
    lost(name, uptimeMs, blameless) {
      if (!health.lost(name, uptimeMs, blameless)) return;
      // It keeps dying soon after opening (a proxy that kills it): stop starting with it.
      log?.(demotion(name)!);
      memory?.forget();
    },
    demotion,
    defer: (info) => !!upgrader?.defer(info),
    stop: () => upgrader?.stop(),
  };
};
