/** Where a proxy forwards to: a TCP host and port, normally on 127.0.0.1. */
export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}
