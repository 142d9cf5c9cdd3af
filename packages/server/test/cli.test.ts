import { EventEmitter } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import type { CliEnvironment, CliHandle } from "../src/cli.js";
import { parseArguments, runCli } from "../src/cli.js";
import { request, text, wsSession } from "./helpers/wire.js";

const handles: CliHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((handle) => handle.stop()));
});

function environment() {
  const out: string[] = [];
  const err: string[] = [];
  const exits: number[] = [];
  const signals = new EventEmitter();
  const env: CliEnvironment = {
    stdout: (line) => void out.push(line),
    stderr: (line) => void err.push(line),
    exit: (code) => void exits.push(code),
    signals: signals as unknown as NonNullable<CliEnvironment["signals"]>,
  };
  return { env, out, err, exits, signals };
}

describe("lifeline-server CLI", () => {
  it("parses its arguments", () => {
    expect(parseArguments(["--port", "0", "--host=::1", "--path", "/rt", "--echo"])).toEqual({ port: 0, host: "::1", path: "/rt", echo: true, help: false });
    expect(parseArguments([])).toMatchObject({ port: 8080, host: "127.0.0.1", echo: false });
    expect(() => parseArguments(["--port", "http"])).toThrow(/--port/);
    expect(() => parseArguments(["--port"])).toThrow(/needs a value/);
    // The next switch is not taken for the value.
    expect(() => parseArguments(["--host", "--echo"])).toThrow("--host needs a value");
    expect(() => parseArguments(["--path", "-h"])).toThrow("--path needs a value");
    expect(() => parseArguments(["--verbose"])).toThrow(/unknown argument/);
    // A switch given a value is refused, not read as the switch alone.
    expect(() => parseArguments(["--echo=false"])).toThrow('--echo takes no value, got "--echo=false"');
    expect(() => parseArguments(["--help=yes"])).toThrow(/--help takes no value/);
  });

  it("prints the endpoint URL first, echoes with --echo, and stops on SIGTERM", async () => {
    const { env, out, signals } = environment();
    const handle = (await runCli(["--port", "0", "--echo", "--path", "/rt"], env)) as CliHandle;
    handles.push(handle);
    expect(out[0]).toMatch(/^Lifeline server listening at http:\/\/127\.0\.0\.1:\d+\/rt$/);
    expect(out[0]).toBe(`Lifeline server listening at ${handle.url}`);
    const peer = await wsSession(handle.url);
    peer.send(text(1, "echo me"));
    expect(await peer.inbox.next("message")).toEqual(text(1, "echo me"));

    expect(signals.listenerCount("SIGTERM")).toBe(1);
    signals.emit("SIGTERM");
    expect((await peer.closed).code).toBe(1001);
    await handle.stop();
    expect(signals.listenerCount("SIGTERM")).toBe(0);
    expect(signals.listenerCount("SIGINT")).toBe(0);
    await expect(request(handle.url + "/poll")).rejects.toThrow();
  });

  it("reports bad arguments on stderr with the usage and exit status 2", async () => {
    const { env, err, exits, out } = environment();
    expect(await runCli(["--port", "x"], env)).toBeUndefined();
    expect(err[0]).toMatch(/--port must be an integer/);
    expect(err[0]).toContain("Usage: lifeline-server");
    expect(exits).toEqual([2]);
    expect(out).toEqual([]);

    const bad = environment();
    expect(await runCli(["--port", "0", "--path", "no-slash"], bad.env)).toBeUndefined();
    expect(bad.err[0]).toContain("Usage: lifeline-server");
    expect(bad.exits).toEqual([2]);

    // A path no request could reach (a URL sends "/b") is refused before it listens.
    const unreachable = environment();
    expect(await runCli(["--port", "0", "--path", "/a/../b"], unreachable.env)).toBeUndefined();
    expect(unreachable.err[0]).toContain('a URL sends "/b"');
    expect(unreachable.exits).toEqual([2]);
    expect(unreachable.out).toEqual([]);
  });

  it("prints the usage for --help", async () => {
    const { env, out, exits } = environment();
    expect(await runCli(["--help"], env)).toBeUndefined();
    expect(out[0]).toContain("--echo");
    expect(exits).toEqual([]);
  });
});
