// Child processes of the benchmark: forked with IPC, asked one thing at a time, each answer
// bounded in time, always stopped (a child that does not stop on request is killed).
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = (file) => fileURLToPath(new URL(file, import.meta.url));

/**
 * @param {string} script file name in bench/
 * @param {string[]} args
 * @param {{ execArgv?: string[] }} options
 */
export async function startChild(script, args = [], { execArgv = [] } = {}) {
  const child = fork(here(script), args, { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const inbox = [];
  let waiter;
  let exited = false;
  child.on("message", (message) => {
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w.resolve(message);
    } else inbox.push(message);
  });
  child.on("exit", (code, signal) => {
    exited = true;
    waiter?.reject(new Error(`${script} exited (${signal ?? code}) before answering`));
    waiter = undefined;
  });

  /** The next message from the child, within `ms`. */
  const next = (ms, what) =>
    new Promise((resolve, reject) => {
      if (inbox.length) return resolve(inbox.shift());
      if (exited) return reject(new Error(`${script} has exited`));
      const timer = setTimeout(() => {
        waiter = undefined;
        reject(new Error(`${script}: no answer to ${what} within ${ms} ms`));
      }, ms);
      waiter = {
        resolve: (message) => (clearTimeout(timer), resolve(message)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      };
    });

  const ready = await next(20_000, "start");
  return {
    ready,
    /** Sends `message` and waits for the answer; an { type: "error" } answer rejects. */
    async ask(message, ms) {
      child.send(message);
      const answer = await next(ms, message.type);
      if (answer.type === "error") throw new Error(answer.error);
      return answer;
    },
    /** Asks the child to stop; kills it if it has not exited within a few seconds. */
    async stop() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once("exit", resolve));
      if (child.connected) child.send({ type: "stop" });
      child.disconnect?.();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
