/**
 * A WebSocket stand-in with only the members the websocket transport uses; the test plays the
 * server through open(), receive(), serverClose() and drop(). Every instance is kept in
 * `FakeWebSocket.instances` so a test can reach the socket a transport created.
 */
export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  /** Makes the next constructor call throw, as a browser does for a bad URL. */
  static throwOnCreate = false;

  readonly url: string;
  readyState = 0;
  binaryType = "blob";
  readonly sent: string[] = [];
  /** Arguments of every close() call by the client. */
  readonly closeCalls: { code: number | undefined; reason: string | undefined }[] = [];
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  constructor(url: string) {
    if (FakeWebSocket.throwOnCreate) {
      FakeWebSocket.throwOnCreate = false;
      throw new SyntaxError(`invalid url ${url}`);
    }
    this.url = url;
    FakeWebSocket.instances.push(this);
  }

  static reset(): void {
    FakeWebSocket.instances = [];
    FakeWebSocket.throwOnCreate = false;
  }

  static get last(): FakeWebSocket {
    const socket = FakeWebSocket.instances.at(-1);
    if (!socket) throw new Error("no FakeWebSocket was created");
    return socket;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error(`send() in readyState ${this.readyState}`);
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closeCalls.push({ code, reason });
    if (this.readyState < 2) this.readyState = 2;
  }

  /** The upgrade succeeded. */
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }

  /** A message from the server: text, or binary as an ArrayBuffer. */
  receive(data: string | ArrayBuffer): void {
    this.onmessage?.({ data } as MessageEvent);
  }

  /** The server closed the socket with this code and reason (after the closing handshake). */
  serverClose(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean: true } as CloseEvent);
  }

  /** The connection dropped: an error event, then a close event with 1006. */
  drop(): void {
    this.readyState = 3;
    this.onerror?.(new Event("error"));
    this.onclose?.({ code: 1006, reason: "", wasClean: false } as CloseEvent);
  }
}
