import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { connect, LifelineError } from "@lifeline/client";
import type { ClientOptions, Connection, MessageData, TransportName } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import type { LifelineServer, Session } from "@lifeline/server";

/** The client in Node against the real reference server, once per forced transport. */

const transports: TransportName[] = ["websocket", "streaming", "polling"];

let server: LifelineServer | undefined;
let conn: Connection | undefined;

afterEach(async () => {
  conn?.close();
  conn = undefined;
  await server?.close();
  server = undefined;
});

async function startServer(options: Parameters<typeof createServer>[0] = {}, onSession?: (session: Session) => void): Promise<string> {
  server = createServer(options);
  server.on("connection", (session) => {
    if (onSession) onSession(session);
    else session.on("message", (data) => session.send(data));
  });
  return (await server.listen(0, "127.0.0.1")).url;
}

function collect(c: Connection, count: number): Promise<MessageData[]> {
  return new Promise((resolve) => {
    const got: MessageData[] = [];
    const off = c.on("message", (m) => {
      got.push(m);
      if (got.length === count) {
        off();
        resolve(got);
      }
    });
  });
}

const once = <K extends "open" | "close" | "error">(c: Connection, event: K) =>
  new Promise<Parameters<Parameters<Connection["on"]>[1]>[0]>((resolve) => {
    const off = c.on(event, (payload) => {
      off();
      resolve(payload as never);
    });
  });

describe.each(transports)("client ↔ server over %s", (transport) => {
  const only = (extra: ClientOptions = {}): ClientOptions => ({ transports: [transport], WebSocket, ...extra });

  it("opens on the forced transport with a session id", async () => {
    const url = await startServer();
    conn = connect(url, only());
    const open = (await once(conn, "open")) as { transport: string; resumed: boolean };
    expect(open).toMatchObject({ transport, resumed: false });
    expect(conn.state).toBe("open");
    expect(conn.transport).toBe(transport);
    // At least 128 random bits, however they are spelled.
    expect(conn.id?.length ?? 0).toBeGreaterThanOrEqual(22);
    expect([...server!.sessions].map((s) => [s.id, s.transport])).toEqual([[conn.id, transport]]);
  });

  it("echoes text (unicode included) and binary byte for byte", async () => {
    const url = await startServer();
    conn = connect(url, only());
    const every = new Uint8Array(256).map((_, i) => i);
    const replies = collect(conn, 4);
    conn.send("hello");
    conn.send("ünïcødé ✓ 𝄞 \n\u0000 end");
    conn.send(every);
    conn.send(new Uint8Array([0xff, 0, 0xfe]).buffer);
    const [text, unicode, bytes, fromBuffer] = await replies;
    expect(text).toBe("hello");
    expect(unicode).toBe("ünïcødé ✓ 𝄞 \n\u0000 end");
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect([...(bytes as Uint8Array)]).toEqual([...every]);
    expect([...(fromBuffer as Uint8Array)]).toEqual([0xff, 0, 0xfe]);
  });

  it("carries a 1 MiB text message and a 1 MiB binary message", async () => {
    const url = await startServer();
    conn = connect(url, only());
    const text = "x".repeat(1024 * 1024 - 3) + "end";
    const binary = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) & 0xff);
    const replies = collect(conn, 2);
    conn.send(text);
    conn.send(binary);
    const [echoedText, echoedBinary] = await replies;
    expect(echoedText).toBe(text);
    expect(Buffer.from(echoedBinary as Uint8Array).equals(Buffer.from(binary))).toBe(true);
  });

  it("delivers 10,000 messages in order both ways", async () => {
    const url = await startServer();
    conn = connect(url, only());
    const replies = collect(conn, 10_000);
    for (let i = 0; i < 10_000; i++) conn.send(String(i));
    const got = await replies;
    expect(got).toEqual(Array.from({ length: 10_000 }, (_, i) => String(i)));
    // Every message was acknowledged in the end: nothing is left to resend.
    await expect.poll(() => conn!.bufferedMessages).toBe(0);
  });

  it("splits a burst bigger than the server's body limit into batches it accepts", async () => {
    const url = await startServer({ maxMessageSize: 1000 });
    conn = connect(url, only());
    const replies = collect(conn, 200);
    // Queued before open, so all 200 go out in the first flush: 180 KB against a 1 KB limit.
    for (let i = 0; i < 200; i++) conn.send(String(i).padEnd(900, "."));
    const got = await replies;
    expect(got.map((m) => parseInt(m as string, 10))).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(conn.state).toBe("open");
  });

  it("does not send what was queued before open and is over the server's limit: an error names it", async () => {
    const url = await startServer({ maxMessageSize: 1000 });
    conn = connect(url, only());
    const errors: LifelineError[] = [];
    conn.on("error", (e) => errors.push(e));
    const replies = collect(conn, 2);
    conn.send("before");
    conn.send("x".repeat(5000));
    conn.send("after");
    expect(await replies).toEqual(["before", "after"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe("MESSAGE_TOO_LARGE");
    expect(errors[0]!.messages).toEqual(["x".repeat(5000)]);
    expect(conn.state).toBe("open");
  });

  it("receives messages the server pushes on its own", async () => {
    const url = await startServer({}, (session) => {
      session.send("welcome aboard");
      session.send(new Uint8Array([7, 7, 7]));
      let n = 0;
      const timer = setInterval(() => {
        session.send(`tick ${++n}`);
        if (n === 3) clearInterval(timer);
      }, 10);
      session.on("close", () => clearInterval(timer));
    });
    conn = connect(url, only());
    const got = await collect(conn, 5);
    expect(got).toEqual(["welcome aboard", new Uint8Array([7, 7, 7]), "tick 1", "tick 2", "tick 3"]);
  });

  it("closes cleanly from the client: queued messages arrive, then the server session ends", async () => {
    const received: MessageData[] = [];
    let ended!: (reason: { code: number }) => void;
    const sessionClosed = new Promise<{ code: number }>((resolve) => (ended = resolve));
    const url = await startServer({}, (session) => {
      session.on("message", (data) => received.push(data));
      session.on("close", (reason) => ended(reason as { code: number }));
    });
    conn = connect(url, only());
    await once(conn, "open");
    const events: string[] = [];
    conn.on("statechange", ({ to }) => events.push(to));
    conn.on("close", ({ code }) => events.push(`close ${code}`));
    conn.send("last words");
    conn.close();
    expect(conn.state).toBe("closed");
    expect(events).toEqual(["closed", "close 1000"]);
    expect(() => conn!.send("too late")).toThrowError(expect.objectContaining({ code: "CLOSED" }));
    expect((await sessionClosed).code).toBe(1000);
    expect(received).toEqual(["last words"]);
    expect([...server!.sessions]).toHaveLength(0);
  });

  it("closes cleanly from the server: the client closes without reconnecting", async () => {
    const url = await startServer({}, (session) => session.on("message", () => session.close(1000, "bye")));
    conn = connect(url, only());
    await once(conn, "open");
    const states: string[] = [];
    conn.on("statechange", ({ to }) => states.push(to));
    const errors: LifelineError[] = [];
    conn.on("error", (e) => errors.push(e));
    const closed = once(conn, "close");
    conn.send("please go");
    expect(await closed).toEqual({ code: 1000, reason: "bye", unacknowledged: [] });
    expect(conn.state).toBe("closed");
    expect(states).toEqual(["closed"]);
    expect(errors).toEqual([]);
  });

  it("leaves no timer, socket or request behind after close()", async () => {
    const resources = () => {
      const counts: Record<string, number> = {};
      for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
      return counts;
    };
    const over = (baseline: Record<string, number>, kinds?: string[]) => () =>
      Object.entries(resources()).filter(([kind, count]) => (!kinds || kinds.includes(kind)) && count > (baseline[kind] ?? 0));
    const beforeServer = resources();
    const url = await startServer();
    const beforeConnect = resources();
    conn = connect(url, only());
    await once(conn, "open");
    const echoed = collect(conn, 1);
    conn.send("ping me");
    await echoed;
    conn.close();
    // No timer of the connection survives close().
    await expect.poll(over(beforeConnect, ["Timeout", "Immediate"]), { timeout: 1000, interval: 20 }).toEqual([]);
    // Sockets: Node's fetch keeps idle keep-alive sockets in its own pool, which only the
    // server's close ends; after that, nothing at all is left.
    await server!.close();
    server = undefined;
    await expect.poll(over(beforeServer), { timeout: 2000, interval: 20 }).toEqual([]);
  });

  it("surfaces a disallowed Origin as ORIGIN_NOT_ALLOWED and keeps serving others", async () => {
    const url = await startServer({ allowedOrigins: ["https://good.example"] });
    // Node's ws and fetch send no Origin of their own: add one, as a browser would.
    const withOrigin = (origin: string): ClientOptions => ({
      WebSocket: class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { origin });
        }
      } as never,
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), origin } }),
    });
    conn = connect(url, only(withOrigin("https://evil.example")));
    const error = (await once(conn, "error")) as LifelineError;
    expect(error).toBeInstanceOf(LifelineError);
    expect(error.code).toBe("ORIGIN_NOT_ALLOWED");
    expect(conn.state).toBe("closed");

    conn = connect(url, only(withOrigin("https://good.example")));
    const echoed = collect(conn, 1);
    conn.send("still serving");
    expect(await echoed).toEqual(["still serving"]);
  });

  it("rejects a message over the server's maxMessageSize at send() with MESSAGE_TOO_LARGE", async () => {
    const url = await startServer({ maxMessageSize: 1024 });
    conn = connect(url, only());
    await once(conn, "open");
    expect(() => conn!.send("x".repeat(1025))).toThrowError(expect.objectContaining({ code: "MESSAGE_TOO_LARGE" }));
    const echoed = collect(conn, 1);
    conn.send("x".repeat(1024));
    expect(await echoed).toEqual(["x".repeat(1024)]);
  });
});

describe("bad input at the API", () => {
  it("throws INVALID_ARGUMENT for a bad URL, transport name or option", () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error instanceof LifelineError ? error.code : "not a LifelineError";
      }
      return "no error";
    };
    expect(code(() => connect("ftp://example.com/x"))).toBe("INVALID_ARGUMENT");
    expect(code(() => connect("not a url"))).toBe("INVALID_ARGUMENT");
    expect(code(() => connect("http://127.0.0.1:1/x", { transports: ["carrier-pigeon" as never] }))).toBe("INVALID_ARGUMENT");
    expect(code(() => connect("http://127.0.0.1:1/x", { transports: [] }))).toBe("INVALID_ARGUMENT");
    expect(code(() => connect("http://127.0.0.1:1/x", { reconnect: { initialDelay: -1 } }))).toBe("INVALID_ARGUMENT");
    expect(code(() => connect("http://127.0.0.1:1/x", { buffer: { maxMessages: 0 } }))).toBe("INVALID_ARGUMENT");
  });

  it("throws INVALID_ARGUMENT from send() for data that is not a string or bytes", async () => {
    conn = connect("http://127.0.0.1:1/x", { reconnect: false });
    expect(() => conn!.send(42 as never)).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => conn!.send({ text: "hi" } as never)).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(conn.bufferedMessages).toBe(0);
  });

  it("reports TRANSPORT_UNAVAILABLE when nothing listens and reconnection is off", async () => {
    const probe = createServer();
    const { url } = await probe.listen(0, "127.0.0.1");
    await probe.close();
    conn = connect(url, { reconnect: false, WebSocket });
    const error = (await once(conn, "error")) as LifelineError;
    expect(["TRANSPORT_UNAVAILABLE", "RECONNECT_FAILED"]).toContain(error.code);
    expect(conn.state).toBe("closed");
  });
});
