/**
 * Where the server reports what it refused or dropped. Every method is optional; the default
 * logger is silent. Messages are prefixed with the component, e.g. `"[websocket] ..."`.
 */
export interface Logger {
  debug?(message: string, ...details: unknown[]): void;
  info?(message: string, ...details: unknown[]): void;
  warn?(message: string, ...details: unknown[]): void;
  error?(message: string, ...details: unknown[]): void;
}

/** The logger the server calls: every level present, missing ones silent. */
export interface Log {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

export function createLog(logger: Logger | undefined): Log {
  const level =
    (name: keyof Logger) =>
    (message: string, ...details: unknown[]) => {
      try {
        // An async logger's rejection would be an unhandled one: swallow it as a throw is.
        const result: unknown = logger?.[name]?.(message, ...details);
        if (result instanceof Promise) result.catch(ignore);
      } catch {
        // A broken logger must not break the server.
      }
    };
  return { debug: level("debug"), info: level("info"), warn: level("warn"), error: level("error") };
}

function ignore(): void {}
