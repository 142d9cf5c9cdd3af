import { afterEach, describe, expect, it } from "vitest";
import { createLog } from "../src/log.js";
import { startServer } from "./helpers/server.js";
import { request } from "./helpers/wire.js";

describe("the logger option", () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  afterEach(() => {
    process.off("unhandledRejection", onUnhandled);
    unhandled.length = 0;
  });

  it("passes messages and details to the levels it has, and skips the ones it lacks", () => {
    const lines: string[] = [];
    const log = createLog({ warn: (message, ...details) => void lines.push(`${message} ${details.join(",")}`) });
    log.warn("careful", 1, 2);
    log.info("not there");
    log.error("nor this");
    expect(lines).toEqual(["careful 1,2"]);
    expect(() => createLog(undefined).error("nobody listens")).not.toThrow();
  });

  it("a logger that throws, or returns a rejected promise, breaks nothing", async () => {
    process.on("unhandledRejection", onUnhandled);
    const log = createLog({
      info: () => {
        throw new Error("sync failure");
      },
      error: async () => {
        throw new Error("async failure");
      },
    });
    expect(() => log.info("x")).not.toThrow();
    expect(() => log.error("y")).not.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(unhandled).toEqual([]);
  });

  it("hears from a running server, here about a refused request", async () => {
    const lines: string[] = [];
    const record = (message: string) => void lines.push(message);
    const { url } = await startServer({ logger: { debug: record, info: record, warn: record, error: record } });
    expect((await request(url + "/poll", { method: "POST", body: "not a frame" })).status).toBe(400);
    expect(lines.some((line) => line.includes("refused POST"))).toBe(true);
  });

  it("says why an HTTP request from an origin not allowed was refused", async () => {
    const lines: string[] = [];
    const { url } = await startServer({ allowedOrigins: ["https://app.example"], logger: { debug: (message) => void lines.push(message) } });
    const response = await request(url + "/poll", { method: "POST", body: "", headers: { origin: "https://elsewhere.example" } });
    expect(response.status).toBe(403);
    expect(lines).toEqual([expect.stringMatching(/^\[http\] refused POST \S*\/poll: origin https:\/\/elsewhere\.example is not allowed$/)]);
  });
});
