import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const START = fileURLToPath(new URL("../start.mjs", import.meta.url));

// Shells, and the playgrounds they started (not our children, so a failed test must end them).
const running: ChildProcess[] = [];
const playgrounds: number[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const pid of playgrounds.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone, as it should be.
    }
  }
});

/** Resolves true when nothing accepts TCP connections on the port any more. */
const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(true));
  });

/**
 * Starts the playground the way `npm run playground` does, through a shell, and resolves with
 * the shell, the playground's pid and its port once it listens.
 */
function startThroughShell(): Promise<{ shell: ChildProcess; pid: number; port: number; exited: Promise<void> }> {
  // The playground prints its own pid first, so the test can watch it.
  const script = `node -e 'console.log("pid " + process.pid); import(process.argv[1])' ${JSON.stringify(START)}`;
  const shell = spawn("sh", ["-c", script], { env: { ...process.env, PORT: "0", HOST: "127.0.0.1" }, stdio: ["ignore", "pipe", "inherit"] });
  running.push(shell);
  return new Promise((resolve, reject) => {
    let out = "";
    let pid = 0;
    shell.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      pid ||= Number(/pid (\d+)/.exec(out)?.[1] ?? 0);
      const port = /Lifeline playground: http:\/\/127\.0\.0\.1:(\d+)\//.exec(out)?.[1];
      if (pid && !playgrounds.includes(pid)) playgrounds.push(pid);
      if (pid && port) resolve({ shell, pid, port: Number(port), exited: exitOf(pid) });
    });
    shell.once("exit", () => reject(new Error(`the shell exited before the playground listened:\n${out}`)));
  });
}

/**
 * Whether the process has exited. It is not our child: once its shell is gone, init reaps it,
 * maybe not at once, so a zombie counts as exited (read from /proc where there is one).
 */
function hasExited(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Resolves once the process has exited (polled). */
async function exitOf(pid: number): Promise<void> {
  while (!hasExited(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe("playground start.mjs", () => {
  it("stops and frees its port when the shell that started it is killed (a SIGTERM to npm alone)", async () => {
    const { shell, pid, port, exited } = await startThroughShell();
    expect(await portIsFree(port)).toBe(false);
    shell.kill("SIGKILL");
    await exited;
    expect(await portIsFree(port)).toBe(true);
    expect(hasExited(pid)).toBe(true);
  }, 15_000);

  it("stops and frees its port on SIGTERM", async () => {
    const { pid, port, exited } = await startThroughShell();
    process.kill(pid, "SIGTERM");
    await exited;
    expect(await portIsFree(port)).toBe(true);
  }, 15_000);
});
