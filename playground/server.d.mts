// Types of server.mjs, for the TypeScript test that imports it.

/** Where the browser build of the client (global `Lifeline`) is read from. */
export declare const clientBuildPath: string;
/** Base path of the Lifeline endpoints, relative to the page. */
export declare const ENDPOINT_PATH: string;
/** Whether the client build the page loads exists (`npm run build` makes it). */
export declare function clientBuilt(): boolean;

export interface PlaygroundOptions {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default "127.0.0.1". */
  host?: string;
  /** How long "drop" refuses new connections after cutting the open ones, in ms. Default 1500. */
  outageMs?: number;
  /** Receives one line per session opened or closed. Default: silent. */
  log?: (line: string) => void;
}

export interface Playground {
  /** The page, e.g. "http://127.0.0.1:8080/". */
  readonly url: string;
  /** The Lifeline endpoint `connect()` takes, e.g. "http://127.0.0.1:8080/lifeline". */
  readonly endpoint: string;
  /** Closes every session and the HTTP server. Idempotent. */
  close(): Promise<void>;
}

/** Starts the playground: the page, the client build, the echo endpoint and the control routes. */
export declare function startPlayground(options?: PlaygroundOptions): Promise<Playground>;
