import type { LifelineServer } from "./server.js";
import { createServer } from "./server.js";

/** Where the CLI writes, and which process signals stop it; tests pass their own. */
export interface CliEnvironment {
  stdout(line: string): void;
  stderr(line: string): void;
  /** Sets the exit status for a failure (2: bad arguments, 1: could not start). Default: process.exitCode. */
  exit(code: number): void;
  /** Receives SIGINT and SIGTERM. Default: the process. */
  signals?: { once(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown; off(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown };
}

/** A running CLI server. */
export interface CliHandle {
  readonly url: string;
  readonly server: LifelineServer;
  /** Closes the server and removes the signal listeners. */
  stop(): Promise<void>;
}

export interface CliArguments {
  port: number;
  host: string;
  path?: string;
  echo: boolean;
  help: boolean;
}

export const USAGE = `Usage: lifeline-server [--port 8080] [--host 127.0.0.1] [--path /lifeline] [--echo]

  --port <n>     port to listen on (default 8080; 0 picks a free one)
  --host <h>     interface to bind (default 127.0.0.1)
  --path <p>     base path of the endpoints (default /lifeline)
  --echo         send every message back to the session it came from
  -h, --help     show this help`;

/** Parses the command line; throws an Error whose message says what is wrong. */
export function parseArguments(argv: readonly string[]): CliArguments {
  const args: CliArguments = { port: 8080, host: "127.0.0.1", echo: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      const inline = eq > 0 && arg.startsWith("--");
      const v = inline ? arg.slice(eq + 1) : argv[++i];
      // "--host --echo": the next switch is no value (no port, host or path starts with "-").
      if (v === undefined || v === "" || (!inline && v.startsWith("-"))) throw new Error(`${name} needs a value`);
      return v;
    };
    // A switch takes no value: "--echo=false" must not quietly mean --echo.
    const flag = () => {
      if (name !== arg) throw new Error(`${name} takes no value, got "${arg}"`);
      return true;
    };
    switch (name) {
      case "--port": {
        const text = value();
        const port = Number(text);
        if (!/^\d+$/.test(text) || port > 65535) throw new Error(`--port must be an integer from 0 to 65535, got "${text}"`);
        args.port = port;
        break;
      }
      case "--host":
        args.host = value();
        break;
      case "--path":
        args.path = value();
        break;
      case "--echo":
        args.echo = flag();
        break;
      case "-h":
      case "--help":
        args.help = flag();
        break;
      default:
        throw new Error(`unknown argument "${arg}"`);
    }
  }
  return args;
}

const processEnvironment = (): CliEnvironment => ({
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
  exit: (code) => {
    process.exitCode = code;
  },
  signals: process,
});

/**
 * Runs `lifeline-server`: parses the arguments, starts a server and prints its URL on the first
 * line of stdout. Stops on SIGINT or SIGTERM; the process then exits by itself, as nothing else
 * holds it. On bad arguments or a failed listen, sets the exit status and resolves undefined.
 */
export async function runCli(argv: readonly string[], env: CliEnvironment = processEnvironment()): Promise<CliHandle | undefined> {
  let args: CliArguments;
  try {
    args = parseArguments(argv);
  } catch (error) {
    env.stderr(`lifeline-server: ${(error as Error).message}\n\n${USAGE}`);
    env.exit(2);
    return undefined;
  }
  if (args.help) {
    env.stdout(USAGE);
    return undefined;
  }
  let server: LifelineServer;
  try {
    server = createServer(args.path === undefined ? {} : { path: args.path });
  } catch (error) {
    // The only option given is --path: a bad one is a bad argument.
    env.stderr(`lifeline-server: ${(error as Error).message}\n\n${USAGE}`);
    env.exit(2);
    return undefined;
  }
  let url: string;
  try {
    if (args.echo) server.on("connection", (session) => session.on("message", (data) => session.send(data)));
    ({ url } = await server.listen(args.port, args.host));
  } catch (error) {
    env.stderr(`lifeline-server: ${(error as Error).message}`);
    env.exit(1);
    return undefined;
  }
  env.stdout(`Lifeline server listening at ${url}`);

  const signals = env.signals;
  let stopping: Promise<void> | undefined;
  const onSignal = () => void stop();
  const stop = () => {
    stopping ??= (async () => {
      signals?.off("SIGINT", onSignal);
      signals?.off("SIGTERM", onSignal);
      await server.close();
    })();
    return stopping;
  };
  signals?.once("SIGINT", onSignal);
  signals?.once("SIGTERM", onSignal);
  return { url, server, stop };
}
