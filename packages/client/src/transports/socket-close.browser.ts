import type { Clock } from "../clock.js";
import type { WebSocketLike } from "../env.js";

/**
 * socket-close.ts for the CDN bundles, which rollup.config.mjs swaps this file in for: a
 * browser ends a closed socket itself, so the wait for Node's `ws` stays out.
 */
export function closeSocket(socket: WebSocketLike | undefined, code: number, _clock: Clock, _pingEveryMs: number): void {
  try {
    socket?.close(code);
  } catch {
    // Already closing, or never opened (some implementations throw then).
  }
}
