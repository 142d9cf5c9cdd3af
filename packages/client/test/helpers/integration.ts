import { afterEach } from "vitest";

/** Real-time helpers for the integration tests (real server, real sockets, real clock). */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds, polling every 10 ms; fails naming `what` after timeoutMs. */
export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * Registers an afterEach that runs what the test queued, newest first (a client closes before
 * the proxy in front of its server, the proxy before the server), and returns the queue.
 */
export function cleanupAfterEach(): (() => unknown)[] {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}
