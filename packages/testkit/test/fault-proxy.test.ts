import { createServer, type AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFaultProxy, type FaultProxy } from "@lifeline/testkit";
import { sleep, startEchoServer, tcpClient } from "./helpers/targets.js";

describe("createFaultProxy", () => {
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let proxy: FaultProxy;
  const clients: ReturnType<typeof tcpClient>[] = [];
  const open = () => {
    const client = tcpClient(proxy.port);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    echo = await startEchoServer();
    proxy = await createFaultProxy({ target: echo });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.destroy();
    await proxy.close();
    await echo.close();
  });

  it("forwards bytes both ways and counts them", async () => {
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}`);
    const client = open();
    client.socket.write("hello");
    expect(await client.receive(5)).toBe("hello");
    expect(proxy.connections).toBe(1);
    expect(proxy.stats).toMatchObject({ bytesToTarget: 5, bytesToClient: 5, bytesDropped: 0, connectionsAccepted: 1 });
  });

  it("passes a FIN through, so an orderly close stays orderly", async () => {
    const client = open();
    client.socket.end("bye");
    await client.closed;
    expect(client.received).toBe("bye");
    await expect.poll(() => proxy.connections).toBe(0);
  });

  it("cut() resets every connection on both sides", async () => {
    const first = open();
    const second = open();
    first.socket.write("a");
    second.socket.write("b");
    await Promise.all([first.receive(1), second.receive(1)]);
    expect(echo.sockets.size).toBe(2);

    const errors: string[] = [];
    first.socket.on("error", (error: NodeJS.ErrnoException) => errors.push(error.code ?? ""));
    proxy.cut();
    await Promise.all([first.closed, second.closed]);
    expect(errors).toEqual(["ECONNRESET"]);
    await expect.poll(() => echo.sockets.size).toBe(0);
    expect(proxy.connections).toBe(0);

    // New connections still work after a cut.
    const third = open();
    third.socket.write("c");
    expect(await third.receive(1)).toBe("c");
  });

  it("refuse() resets new connections until switched off, leaving existing ones alone", async () => {
    const existing = open();
    existing.socket.write("x");
    await existing.receive(1);

    proxy.refuse(true);
    const refused = open();
    refused.socket.write("lost");
    await refused.closed;
    expect(refused.received).toBe("");
    expect(proxy.stats.connectionsRefused).toBe(1);
    expect(echo.sockets.size).toBe(1);

    existing.socket.write("y");
    expect(await existing.receive(2)).toBe("xy");

    proxy.refuse(false);
    const later = open();
    later.socket.write("z");
    expect(await later.receive(1)).toBe("z");
  });

  it("blackhole() drops bytes silently and keeps sockets open; those connections stay dead", async () => {
    const client = open();
    client.socket.write("1");
    await client.receive(1);

    proxy.blackhole(true);
    client.socket.write("2");
    const bornDead = open();
    await bornDead.connected;
    bornDead.socket.write("3");
    await sleep(150);
    expect(client.received).toBe("1");
    expect(bornDead.received).toBe("");
    expect(client.socket.destroyed).toBe(false);
    expect(bornDead.socket.destroyed).toBe(false);
    // A connection born in the blackhole never reached the target.
    expect(echo.sockets.size).toBe(1);

    // Not even a FIN crosses: the target keeps its socket open.
    client.socket.end();
    await sleep(100);
    expect(echo.sockets.size).toBe(1);

    proxy.blackhole(false);
    bornDead.socket.write("4");
    const healed = open();
    healed.socket.write("5");
    expect(await healed.receive(1)).toBe("5");
    await sleep(100);
    expect(bornDead.received).toBe("");
    expect(proxy.stats.bytesDropped).toBe(3);
  });

  it("brings a connection born in the blackhole to life when it lifts, if it sent nothing meanwhile", async () => {
    proxy.blackhole(true);
    const silent = open();
    const spoke = open();
    const ended = open();
    await Promise.all([silent.connected, spoke.connected, ended.connected]);
    spoke.socket.write("1");
    ended.socket.end();
    await sleep(100);
    expect(echo.sockets.size).toBe(0);

    proxy.blackhole(false);
    // Its handshake completes now: it reaches the target and carries bytes both ways.
    silent.socket.write("2");
    expect(await silent.receive(1)).toBe("2");
    // One that sent bytes (or its FIN) into the blackhole stays dead.
    spoke.socket.write("3");
    await sleep(100);
    expect(spoke.received).toBe("");
    expect(echo.sockets.size).toBe(1);
    expect(proxy.connections).toBe(3);
  });

  it("latency() delays each direction, keeps order, and applies to live connections", async () => {
    const client = open();
    client.socket.write("a");
    await client.receive(1);

    proxy.latency(100);
    let startedAt = performance.now();
    client.socket.write("b");
    await client.receive(2);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(195);

    // Lowering the latency must not let a later chunk overtake an earlier one.
    proxy.latency(100);
    client.socket.write("c");
    proxy.latency(0);
    client.socket.write("d");
    expect(await client.receive(4)).toBe("abcd");

    startedAt = performance.now();
    client.socket.write("e");
    await client.receive(5);
    // Well under the 200 ms round trip that 100 ms of latency would cost.
    expect(performance.now() - startedAt).toBeLessThan(150);
  });

  it("throttle() limits throughput per direction", async () => {
    proxy.throttle(40_000);
    const client = open();
    const startedAt = performance.now();
    client.socket.write(Buffer.alloc(20_000, 97));
    await client.receive(20_000);
    // 20 kB at 40 kB/s takes 0.5 s each way; the two directions overlap, so 0.5 s is the floor.
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(450);

    proxy.throttle(null);
    const fastStart = performance.now();
    client.socket.write(Buffer.alloc(20_000, 98));
    await client.receive(40_000);
    expect(performance.now() - fastStart).toBeLessThan(300);
  });

  it("rejects nonsense settings", () => {
    expect(() => proxy.latency(-1)).toThrow(RangeError);
    expect(() => proxy.throttle(0)).toThrow(RangeError);
  });

  it("close() resets connections, clears pending timers and releases the port", async () => {
    const client = open();
    client.socket.write("a");
    await client.receive(1);
    proxy.latency(10_000);
    client.socket.write("pending in a timer");
    await sleep(20);

    const { port } = proxy;
    await proxy.close();
    await client.closed;
    await expect.poll(() => echo.sockets.size).toBe(0);

    // The port is free again: we can listen on it ourselves.
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
    expect((squatter.address() as AddressInfo).port).toBe(port);
    await new Promise((resolve) => squatter.close(resolve));
  });
});
