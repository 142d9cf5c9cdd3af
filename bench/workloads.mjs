// The workloads, written once against the client adapters of bench/clients.mjs. Each one is
// bounded: it rejects after its time limit or when the client reports a failure.
import { performance } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";
import { BURST, FANOUT, PAYLOAD, SLICE } from "./stacks.mjs";

const now = () => performance.now();

function timeout(ms, what) {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Waits for `promise`, the client's failure or the time limit, whichever comes first. */
async function bounded(promise, probe, ms, what) {
  const limit = timeout(ms, what);
  try {
    return await Promise.race([promise, probe.failed, limit.promise]);
  } finally {
    limit.cancel();
  }
}

/** A client plus what the workloads need: the next message, a message hook, its failure. */
function probe(open, url) {
  let fail;
  const p = {
    onMessage: undefined,
    failed: new Promise((_, reject) => (fail = reject)),
    next: () => new Promise((resolve) => (p.onMessage = (data) => ((p.onMessage = undefined), resolve(data)))),
  };
  p.failed.catch(() => {});
  p.client = open(url, { onMessage: (data) => p.onMessage?.(data), onFail: (why) => fail(new Error(why)) });
  return p;
}

async function sendMany(count, send) {
  for (let sent = 0; sent < count; ) {
    const end = Math.min(count, sent + SLICE);
    for (; sent < end; sent++) send(PAYLOAD);
    if (sent < count) await nextTurn();
  }
}

/** Resolves with the time at which `p` has received `count` more messages. */
function receiveCount(p, count) {
  return new Promise((resolve) => {
    let got = 0;
    p.onMessage = () => {
      if (++got === count) {
        p.onMessage = undefined;
        resolve(now());
      }
    };
  });
}

const percentile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const median = (values) => percentile([...values].sort((a, b) => a - b), 0.5);

/** 1. Connect: client created → first message echoed; median of `count` sequential connections. */
export async function connectTime(open, url, { count }) {
  const times = [];
  for (let i = 0; i < count + 3; i++) {
    const start = now();
    const p = probe(open, url);
    const echoed = p.next();
    p.client.send(PAYLOAD);
    await bounded(echoed, p, 15_000, "connect");
    const elapsed = now() - start;
    p.client.close();
    // The first few connections warm up the JIT and are not counted.
    if (i >= 3) times.push(elapsed);
    await nextTurn();
  }
  return { medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times) };
}

async function openOne(open, url) {
  const p = probe(open, url);
  const echoed = p.next();
  p.client.send(PAYLOAD);
  await bounded(echoed, p, 30_000, "open");
  return p;
}

/** 2. Echo latency: sequential round trips of 64 B; p50/p95/p99 in microseconds. */
export async function echoLatency(open, url, { count }) {
  const p = await openOne(open, url);
  try {
    const samples = [];
    for (let i = 0; i < count + 200; i++) {
      const start = now();
      const echoed = p.next();
      p.client.send(PAYLOAD);
      await bounded(echoed, p, 10_000, "echo");
      if (i >= 200) samples.push((now() - start) * 1000);
    }
    samples.sort((a, b) => a - b);
    return { p50Us: percentile(samples, 0.5), p95Us: percentile(samples, 0.95), p99Us: percentile(samples, 0.99), count };
  } finally {
    p.client.close();
  }
}

/**
 * 3. Throughput: client → server, `count` messages as fast as the client may send them,
 * until every echo is back; then server → client, `count` messages after one request.
 */
export async function throughput(open, url, { count }) {
  const p = await openOne(open, url);
  try {
    const up = async (n) => {
      const done = receiveCount(p, n);
      const start = now();
      await sendMany(n, (data) => p.client.send(data));
      return n / (((await bounded(done, p, 120_000, "throughput up")) - start) / 1000);
    };
    const down = async (n) => {
      const done = receiveCount(p, n);
      const start = now();
      p.client.send(BURST + n);
      return n / (((await bounded(done, p, 120_000, "throughput down")) - start) / 1000);
    };
    // Three rounds each way, the median reported: one round lasts well under a second, so a
    // single GC pause or a busy neighbour would otherwise swing the figure.
    const rounds = async (run) => {
      // A full-size warm-up round first: the JIT is still settling during the first one.
      await run(count);
      const rates = [];
      for (let i = 0; i < 3; i++) rates.push(await run(count));
      return { median: median(rates), rates };
    };
    const upRounds = await rounds(up);
    const downRounds = await rounds(down);
    return { upPerSec: upRounds.median, downPerSec: downRounds.median, upRates: upRounds.rates, downRates: downRounds.rates, count };
  } finally {
    p.client.close();
  }
}

async function openMany(open, url, count, batch = 50) {
  const probes = [];
  try {
    for (let i = 0; i < count; i += batch) {
      probes.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, () => openOne(open, url)))));
    }
  } catch (error) {
    for (const p of probes) p.client.close();
    throw error;
  }
  return probes;
}

/** 4. Fan-out: the server sends `messages` messages to each of `clients` clients; deliveries/s. */
export async function fanOut(open, url, { clients, messages }) {
  const probes = await openMany(open, url, clients);
  try {
    const round = async (n) => {
      const done = Promise.all(probes.map((p) => receiveCount(p, n)));
      const start = now();
      probes[0].client.send(FANOUT + n);
      const ends = await bounded(done, probes[0], 120_000, "fan-out");
      return (n * clients) / ((Math.max(...ends) - start) / 1000);
    };
    await round(Math.max(1, Math.floor(messages / 10)));
    return { deliveredPerSec: await round(messages), clients, messages };
  } finally {
    for (const p of probes) p.client.close();
  }
}

/** 5. Idle sessions: opens `count` clients (each confirmed by an echo) and keeps them open. */
export async function openIdle(open, url, count) {
  const probes = await openMany(open, url, count);
  return () => {
    for (const p of probes) p.client.close();
  };
}

/**
 * 7. Time to a working link with default settings: client created → first message echoed,
 * or null when there is none within `boundMs`. Also says which transport carried it.
 */
export async function timeToLink(open, url, boundMs, { givesUp }) {
  const start = now();
  const p = probe(open, url);
  try {
    const echoed = p.next();
    p.client.send(PAYLOAD);
    // A failure report ends the wait only for a client that gives up (raw ws); the others retry.
    await bounded(echoed, givesUp ? p : { failed: echoed }, boundMs, "link");
    return { ms: now() - start, transport: p.client.transport() };
  } catch (error) {
    return { ms: null, transport: null, error: String(error.message ?? error) };
  } finally {
    p.client.close();
  }
}
