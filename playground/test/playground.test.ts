import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { connect, type Connection, type MessageData, type OpenEvent } from "@lifeline/client";
import { clientBuilt, startPlayground } from "../server.mjs";

type TransportName = "websocket" | "streaming" | "polling";
const transports: TransportName[] = ["websocket", "streaming", "polling"];

let playground: Awaited<ReturnType<typeof startPlayground>>;
let conn: Connection | undefined;

beforeAll(async () => {
  playground = await startPlayground({ port: 0, host: "127.0.0.1", outageMs: 100 });
});

afterEach(() => {
  conn?.close();
  conn = undefined;
});

afterAll(async () => {
  await playground.close();
});

const get = (path: string) => fetch(new URL(path, playground.url));
const post = (path: string) => fetch(new URL(path, playground.url), { method: "POST" });

function nextMessage(c: Connection): Promise<MessageData> {
  return new Promise((resolve) => {
    const off = c.on("message", (data) => {
      off();
      resolve(data);
    });
  });
}

function nextOpen(c: Connection): Promise<OpenEvent> {
  return new Promise((resolve) => {
    const off = c.on("open", (event) => {
      off();
      resolve(event);
    });
  });
}

describe("playground page", () => {
  it("serves the page, which loads the client build and its own script", async () => {
    const response = await get("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<script src="/lifeline.min.js"></script>');
    expect(html).toContain('<script src="/app.js"></script>');
  });

  it("serves the page script as JavaScript", async () => {
    const response = await get("/app.js");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await response.text()).toContain("Lifeline.connect(");
  });

  // The client build is made by `npm run build`; `npm test` does not build, so exactly one of
  // the next two runs, depending on whether packages/client/dist exists.
  it.runIf(clientBuilt())("serves the client build with the global Lifeline", async () => {
    const response = await get("/lifeline.min.js");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await response.text()).toContain("Lifeline");
  });

  it.skipIf(clientBuilt())("answers 503 with build instructions while the client is not built", async () => {
    const response = await get("/lifeline.min.js");
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("npm run build");
  });

  it("answers 404 for unknown paths and 405 for a GET on a control route", async () => {
    expect((await get("/nope")).status).toBe(404);
    expect((await get("/control/push")).status).toBe(405);
  });
});

describe.each(transports)("playground endpoint over %s", (transport) => {
  async function opened(): Promise<Connection> {
    const c = (conn = connect(playground.endpoint, {
      transports: [transport],
      WebSocket,
      reconnect: { initialDelay: 20, maxDelay: 100 },
    }));
    const open = await nextOpen(c);
    expect(open.transport).toBe(transport);
    return c;
  }

  it("echoes a message", async () => {
    const c = await opened();
    const reply = nextMessage(c);
    c.send(`hello over ${transport}`);
    expect(await reply).toBe(`hello over ${transport}`);
  });

  it("delivers a server push", async () => {
    const c = await opened();
    const pushed = nextMessage(c);
    const response = await post("/control/push");
    expect(response.status).toBe(200);
    const result = (await response.json()) as { sent: string; sessions: number };
    expect(result.sessions).toBeGreaterThanOrEqual(1);
    expect(await pushed).toBe(result.sent);
  });

  it("resumes the session after the server drops the link", async () => {
    const c = await opened();
    const id = c.id;
    const states: string[] = [];
    c.on("statechange", ({ to }) => states.push(to));
    const reopened = nextOpen(c);
    const response = await post("/control/drop");
    expect(response.status).toBe(200);
    const result = (await response.json()) as { links: number; outageMs: number };
    expect(result.links).toBeGreaterThanOrEqual(1);
    expect(result.outageMs).toBe(100);
    const open = await reopened;
    expect(open).toMatchObject({ transport, resumed: true });
    expect(states).toContain("reconnecting");
    expect(c.id).toBe(id);
    const reply = nextMessage(c);
    c.send("after the drop");
    expect(await reply).toBe("after the drop");
  });
});
