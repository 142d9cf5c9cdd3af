/**
 * @lifeline/testkit: network fault injection for integration tests and benchmarks, and the
 * manual clock the unit tests of client and server share. Both proxies listen on 127.0.0.1 with
 * a free port and know nothing of Lifeline's protocol.
 */
export {
  createFaultProxy,
  type FaultProxy,
  type FaultProxyOptions,
  type FaultProxyStats,
} from "./fault-proxy.js";
export {
  createHostileProxy,
  type HostileProxy,
  type HostileProxyOptions,
  type HostileProxyStats,
  type KillRule,
  type UpgradeRefusal,
} from "./hostile-proxy.js";
export type { ProxyTarget } from "./proxy-target.js";
export { createWsFrameCounter, type WsFrameCounter } from "./ws-frame-counter.js";
export { createManualClock, type ManualClock } from "./manual-clock.js";
