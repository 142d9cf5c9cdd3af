import { connect, createServer, type Socket } from "node:net";
import { createLane, type Lane, type LaneConditions, type LaneCounters } from "./lane.js";
import { closeServer, listenOnLoopback, LOOPBACK } from "./listen.js";
import type { ProxyTarget } from "./proxy-target.js";

/** Options of {@link createFaultProxy}. */
export interface FaultProxyOptions {
  readonly target: ProxyTarget;
}

/** Running totals of a {@link FaultProxy}. */
export interface FaultProxyStats {
  /** Bytes written to the target (client → target). */
  readonly bytesToTarget: number;
  /** Bytes written to clients (target → client). */
  readonly bytesToClient: number;
  /** Bytes lost to a blackhole, a cut or a closed peer, both directions together. */
  readonly bytesDropped: number;
  /** TCP connections accepted, refused ones included. */
  readonly connectionsAccepted: number;
  /** Connections reset on arrival because {@link FaultProxy.refuse} was on. */
  readonly connectionsRefused: number;
}

/**
 * A TCP proxy with a fault switchboard. Every control applies at once, to existing and new
 * connections alike. It knows nothing above TCP.
 */
export interface FaultProxy {
  /** Always `127.0.0.1`. */
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>`; swap the scheme for `ws:` as needed (the proxy is plain TCP). */
  readonly url: string;
  /** Proxied connections with at least one side still open. */
  readonly connections: number;
  /** A snapshot of the running totals. */
  readonly stats: FaultProxyStats;
  /**
   * Resets every current connection on both sides at once (TCP RST: the client and the target
   * both see ECONNRESET, or a close where the data was already gone). New connections are
   * unaffected unless {@link FaultProxy.refuse} is on.
   */
  cut(): void;
  /**
   * While on, each new connection is accepted and immediately reset. To a client this is a
   * connect that fails before any byte, like a server that is down: the port stays ours, and
   * there is no connect timeout to wait for. For a path that swallows packets instead, use
   * {@link FaultProxy.blackhole}.
   */
  refuse(on: boolean): void;
  /**
   * While on, every byte in both directions is silently dropped, FINs and resets too: sockets
   * stay open and carry nothing, as on a dead network path or a half-open TCP connection. New
   * connections are accepted but never reach the target. Switching it off heals the path for new
   * connections, and for those born in the blackhole that have sent nothing (as one whose
   * handshake a real network completes once the path heals; bytes written just before it lifts
   * and not read yet count as nothing sent, and get through). The ones that lived through the
   * blackhole stay poisoned (their bytes were lost and a real stream does not resume after that)
   * until someone closes them, which is what heartbeats exist to notice.
   */
  blackhole(on: boolean): void;
  /** Delays every chunk by `ms` in each direction, order kept; 0 turns it off. */
  latency(ms: number): void;
  /** Limits each direction of each connection to `bytesPerSecond`; null turns it off. */
  throttle(bytesPerSecond: number | null): void;
  /** Resets every connection, clears every timer and releases the port. */
  close(): Promise<void>;
}

/** One proxied connection: the accepted client socket and its twin towards the target. */
interface Link {
  /** Marks the link dead for good: bytes and closes no longer cross it. */
  poison(): void;
  /** Resets both sockets now. */
  reset(): void;
}

/**
 * Starts a fault-injecting TCP proxy on 127.0.0.1 with a free port, forwarding every connection
 * to `target`.
 *
 * @example
 * const proxy = await createFaultProxy({ target: { host: "127.0.0.1", port: server.port } });
 * const client = connect(proxy.url.replace("http", "ws"));
 * proxy.blackhole(true); // the client's heartbeat should now notice a dead link
 * await proxy.close();
 */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const { target } = options;
  const links = new Set<Link>();
  let conditions: LaneConditions = { latencyMs: 0, bytesPerSecond: null };
  let refusing = false;
  let blackholed = false;
  // Connections born in the blackhole that have sent nothing: each one's heal().
  const waitingForHandshake = new Set<() => void>();
  const stats = {
    bytesToTarget: 0,
    bytesToClient: 0,
    bytesDropped: 0,
    connectionsAccepted: 0,
    connectionsRefused: 0,
  };
  const dropped = (bytes: number) => {
    stats.bytesDropped += bytes;
  };
  const towardsTarget: LaneCounters = { delivered: (bytes) => (stats.bytesToTarget += bytes), dropped };
  const towardsClient: LaneCounters = { delivered: (bytes) => (stats.bytesToClient += bytes), dropped };

  function accept(client: Socket) {
    stats.connectionsAccepted += 1;
    client.on("error", ignore);
    if (refusing) {
      stats.connectionsRefused += 1;
      return resetSocket(client);
    }
    client.setNoDelay(true);
    const link = blackholed ? openDeadLink(client) : openLink(client);
    links.add(link);
  }

  function openLink(client: Socket): Link {
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    upstream.on("error", ignore);
    const current = () => conditions;
    const lanes: Lane[] = [
      createLane(client, upstream, current, towardsTarget),
      createLane(upstream, client, current, towardsClient),
    ];
    let poisoned = false;
    const link: Link = {
      poison() {
        poisoned = true;
        for (const lane of lanes) lane.blackhole();
      },
      reset() {
        for (const lane of lanes) lane.dispose();
        resetSocket(client);
        resetSocket(upstream);
      },
    };
    // A reset on one side is passed on to the other, as a forwarding host would; a graceful
    // close needs nothing, because each FIN already travelled through its lane.
    const onClose = (hadError: boolean) => {
      if (hadError && !poisoned) link.reset();
      if (client.destroyed && upstream.destroyed) {
        for (const lane of lanes) lane.dispose();
        links.delete(link);
      }
    };
    client.on("close", onClose);
    upstream.on("close", onClose);
    return link;
  }

  // Born during a blackhole: the target never hears of it, the client hears nothing back. One
  // that has sent nothing yet (an HTTP client's spare pooled connection, say) is still waiting
  // for its handshake on a real network, which a healed path completes: it comes alive then.
  function openDeadLink(client: Socket): Link {
    const silent = () => {
      waitingForHandshake.delete(heal);
      client.off("end", silent);
    };
    const drop = (chunk: Buffer) => {
      silent();
      dropped(chunk.length);
    };
    const forget = () => {
      silent();
      client.off("data", drop);
      links.delete(link);
    };
    const heal = () => {
      forget();
      client.off("close", forget);
      links.add(openLink(client));
    };
    const link: Link = { poison: ignore, reset: () => resetSocket(client) };
    client.on("data", drop);
    client.on("end", silent);
    client.on("close", forget);
    waitingForHandshake.add(heal);
    return link;
  }

  const server = createServer({ allowHalfOpen: true }, accept);
  const port = await listenOnLoopback(server);

  return {
    host: LOOPBACK,
    port,
    url: `http://${LOOPBACK}:${port}`,
    get connections() {
      return links.size;
    },
    get stats() {
      return { ...stats };
    },
    cut() {
      for (const link of links) link.reset();
    },
    refuse(on) {
      refusing = on;
    },
    blackhole(on) {
      blackholed = on;
      if (on) for (const link of links) link.poison();
      else for (const heal of [...waitingForHandshake]) heal();
    },
    latency(ms) {
      if (!(ms >= 0 && Number.isFinite(ms))) throw new RangeError(`latency must be a finite ms >= 0, got ${ms}`);
      conditions = { ...conditions, latencyMs: ms };
    },
    throttle(bytesPerSecond) {
      if (bytesPerSecond !== null && !(bytesPerSecond > 0 && Number.isFinite(bytesPerSecond))) {
        throw new RangeError(`throttle must be a finite bytes/s > 0 or null, got ${bytesPerSecond}`);
      }
      conditions = { ...conditions, bytesPerSecond };
    },
    async close() {
      refusing = true;
      for (const link of links) link.reset();
      links.clear();
      await closeServer(server);
    },
  };
}

/**
 * Destroys with a TCP RST when the socket is connected, so the peer sees a reset rather than an
 * orderly end; a socket still connecting has nobody to tell yet and is simply destroyed.
 */
function resetSocket(socket: Socket) {
  if (socket.destroyed) return;
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}

function ignore() {}
