import type { LifelineError } from "./errors.js";

export interface RetryContext {
  /** 1 for the first retry after a lost link or a failed attempt. */
  readonly attempt: number;
  /** Time since the link was lost (or, before the first open, since connect()), in ms. */
  readonly elapsedMs: number;
  readonly reason: LifelineError;
}

/** Decides how long to wait before the next attempt; null gives up. */
export interface RetryPolicy {
  nextDelayMs(context: RetryContext): number | null;
}

export interface BackoffSettings {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  /** 0..1: the share of each delay that is random. */
  readonly jitter: number;
  readonly maxAttempts: number;
}

/**
 * Exponential backoff with jitter:
 *
 *   base(n)  = min(maxDelay, initialDelay × factor^(n−1))
 *   delay(n) = base(n) × (1 − jitter × random())        n = 1, 2, …
 *
 * With the defaults (500 ms, ×2, 15 s cap, jitter 0.5) delays fall in [250, 500], [500, 1000],
 * … up to [7.5 s, 15 s]. The random share spreads clients that lost the same server apart, so
 * they do not all come back in the same instant.
 */
export function exponentialBackoff(settings: BackoffSettings, random: () => number = Math.random): RetryPolicy {
  return {
    nextDelayMs({ attempt }) {
      if (attempt > settings.maxAttempts) return null;
      const base = Math.min(settings.maxDelayMs, settings.initialDelayMs * settings.factor ** (attempt - 1));
      return base * (1 - settings.jitter * random());
    },
  };
}
