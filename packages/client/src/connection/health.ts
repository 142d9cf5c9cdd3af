import type { Clock } from "../clock.js";
import type { TransportFactory, TransportName } from "../transports/transport.js";

/** A link that dies sooner than this after opening counts against its transport. */
export const SHORT_LIVED_MS = 10_000;
/** First demotion; each later one of the same transport lasts twice as long, up to the cap. */
const DEMOTION_MS = 60_000;
const MAX_DEMOTION_MS = 15 * 60_000;

interface Record {
  strikes: number;
  demotions: number;
  demotedUntil: number;
  /** The length of the last demotion. */
  demotionMs: number;
}

/**
 * Tracks which transports keep dying soon after they open (a proxy that kills WebSockets after
 * a few seconds, say) and keeps them out of the way for a while: two short-lived links in a row
 * demote a transport; once demoted, one more is enough.
 */
export interface TransportHealth {
  /**
   * Candidates in the order to try: the healthy ones, `preferred` first, then the demoted ones,
   * the one whose demotion ends soonest first.
   */
  order(factories: readonly TransportFactory[], preferred: TransportName | undefined): TransportFactory[];
  /** How long `name` stays demoted, 0 when it is not. */
  demotedForMs(name: TransportName): number;
  /**
   * An open link of `name` ended after `uptimeMs`; true when that demoted the transport. A
   * `blameless` loss (the device's or the page's doing) is no strike, though a long life still
   * clears the strikes.
   */
  lost(name: TransportName, uptimeMs: number, blameless: boolean): boolean;
}

export function createTransportHealth(clock: Clock): TransportHealth {
  const records = new Map<TransportName, Record>();
  const get = (name: TransportName) => {
    let record = records.get(name);
    if (!record) records.set(name, (record = { strikes: 0, demotions: 0, demotedUntil: 0, demotionMs: 0 }));
    return record;
  };
  const demotedForMs = (name: TransportName) => {
    const record = records.get(name);
    if (!record) return 0;
    const now = clock.now();
    // The deadline is wall-clock time, which can be set back (an NTP step, a phone correcting its
    // time): a demotion never lasts longer than its length from now, however far back that went,
    // and one seen to have ended stays ended.
    record.demotedUntil = Math.min(record.demotedUntil, now + record.demotionMs);
    if (record.demotedUntil > now) return record.demotedUntil - now;
    record.demotionMs = 0;
    return 0;
  };
  const isDemoted = (name: TransportName) => demotedForMs(name) > 0;
  return {
    demotedForMs,
    order(factories, preferred) {
      const healthy = factories.filter((f) => !isDemoted(f.name));
      const first = healthy.findIndex((f) => f.name === preferred);
      if (first > 0) healthy.unshift(...healthy.splice(first, 1));
      // Demoted ones stay in, last: a transport that cannot connect here at all (a refused
      // upgrade) is never demoted, since only open links that die are strikes, so leaving them
      // out could leave only it. They start once the others failed, or were slow.
      const demoted = factories.filter((f) => isDemoted(f.name)).sort((a, b) => demotedForMs(a.name) - demotedForMs(b.name));
      return [...healthy, ...demoted];
    },
    lost(name, uptimeMs, blameless) {
      const record = get(name);
      // A negative uptime means the wall clock was set back while the link was up: how long it
      // lived is unknown, so it counts neither for nor against the transport.
      if (!(uptimeMs >= 0)) return false;
      if (uptimeMs >= SHORT_LIVED_MS) {
        record.strikes = 0;
        return false;
      }
      if (blameless || ++record.strikes < (record.demotions ? 1 : 2)) return false;
      record.strikes = 0;
      // Lost while still demoted, it was tried because nothing better was left (a flapping
      // network demotes them all): demoted again for as long. Only failing again after its
      // demotion ended makes the next one longer.
      if (!demotedForMs(name)) record.demotionMs = Math.min(MAX_DEMOTION_MS, DEMOTION_MS * 2 ** record.demotions++);
      record.demotedUntil = clock.now() + record.demotionMs;
      return true;
    },
  };
}
