import { describe, expect, it } from "vitest";
import { endpointUrl, parseEndpoint } from "../src/url.js";

describe("parseEndpoint", () => {
  it.each([
    ["http://example.com/lifeline", "http://example.com/lifeline", ""],
    ["https://example.com/lifeline/", "https://example.com/lifeline", ""],
    ["ws://example.com:8080/a/b//", "http://example.com:8080/a/b", ""],
    ["WSS://Example.com/x?token=abc&room=1#frag", "https://Example.com/x", "token=abc&room=1"],
    ["http://[::1]:9000/ll", "http://[::1]:9000/ll", ""],
    ["http://127.0.0.1:65535", "http://127.0.0.1:65535", ""],
  ])("takes %s as %s with query %j", (input, url, query) => {
    expect(parseEndpoint(input)).toEqual({ url, query });
  });

  it.each([
    ["a relative path without a page to resolve it against", "/lifeline"],
    ["another scheme", "ftp://example.com/x"],
    ["a port over 65535", "http://example.com:99999/x"],
    ["port 0", "http://example.com:0/x"],
    ["a space in the host", "http://exa mple.com/x"],
    ["an unclosed IPv6 bracket", "http://[::1/x"],
    ["credentials, which fetch refuses", "https://user:secret@example.com/x"],
    ["no host", "http:///x"],
    ["a number", 42],
    ["undefined", undefined],
  ])("refuses %s with INVALID_ARGUMENT", (_, input) => {
    expect(() => parseEndpoint(input as string)).toThrow(expect.objectContaining({ name: "LifelineError", code: "INVALID_ARGUMENT" }));
  });
});

describe("endpointUrl", () => {
  it("puts our parameters before the app's, so the server reads our sid first", () => {
    expect(endpointUrl("https://h/ll", "/send", "sid=app&x=1", "sid=ours")).toBe("https://h/ll/send?sid=ours&sid=app&x=1");
    expect(endpointUrl("https://h/ll", "/poll", "", "sid=ours")).toBe("https://h/ll/poll?sid=ours");
    expect(endpointUrl("https://h/ll", "/ws", "x=1")).toBe("https://h/ll/ws?x=1");
    expect(endpointUrl("https://h/ll", "/ws", "")).toBe("https://h/ll/ws");
  });
});
