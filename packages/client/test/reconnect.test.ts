import { describe, expect, it } from "vitest";
import { LifelineError } from "../src/errors.js";
import { exponentialBackoff } from "../src/reconnect.js";

const reason = new LifelineError("TRANSPORT_ERROR", "lost");
const settings = { initialDelayMs: 500, maxDelayMs: 15_000, factor: 2, jitter: 0.5, maxAttempts: 5 };

describe("exponentialBackoff", () => {
  it("stays within [base × (1 − jitter), base] with base doubling up to the cap", () => {
    const low = exponentialBackoff({ ...settings, maxAttempts: 100 }, () => 0.999999);
    const high = exponentialBackoff({ ...settings, maxAttempts: 100 }, () => 0);
    const bases = [500, 1000, 2000, 4000, 8000, 15_000, 15_000];
    bases.forEach((base, i) => {
      const attempt = i + 1;
      expect(high.nextDelayMs({ attempt, elapsedMs: 0, reason })).toBe(base);
      expect(low.nextDelayMs({ attempt, elapsedMs: 0, reason })).toBeCloseTo(base / 2, 0);
    });
  });

  it("gives up after maxAttempts", () => {
    const policy = exponentialBackoff(settings, () => 0.5);
    expect(policy.nextDelayMs({ attempt: 5, elapsedMs: 0, reason })).not.toBeNull();
    expect(policy.nextDelayMs({ attempt: 6, elapsedMs: 0, reason })).toBeNull();
  });

  it("spreads many clients that lost the same server over the whole jitter window", () => {
    const policy = exponentialBackoff({ ...settings, jitter: 1 });
    const delays = Array.from({ length: 1000 }, () => policy.nextDelayMs({ attempt: 3, elapsedMs: 0, reason })!);
    // Full jitter over a 2000 ms base: ten 200 ms buckets should each get a fair share.
    const buckets = new Array(10).fill(0);
    for (const d of delays) buckets[Math.min(9, Math.floor(d / 200))]++;
    for (const count of buckets) expect(count).toBeGreaterThan(50);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(1500);
  });
});
