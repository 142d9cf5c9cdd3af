import { describe, expect, it } from "vitest";
import { parseEndpoint } from "../src/url.js";

// jsdom gives the page a location (http://localhost:3000/ by default): relative URLs resolve against it.
describe("parseEndpoint in a page", () => {
  it("resolves a relative URL against the page's location", () => {
    const base = new URL(globalThis.location.href);
    expect(parseEndpoint("/lifeline?room=1")).toEqual({ url: `${base.protocol}//${base.host}/lifeline`, query: "room=1" });
  });

  it("resolves against the document's base URL, as fetch and WebSocket do, when a <base href> sets one", () => {
    const base = document.head.appendChild(document.createElement("base"));
    base.href = "https://api.example.test/v2/";
    try {
      expect(parseEndpoint("lifeline?room=1")).toEqual({ url: "https://api.example.test/v2/lifeline", query: "room=1" });
      expect(parseEndpoint("/lifeline")).toEqual({ url: "https://api.example.test/lifeline", query: "" });
    } finally {
      base.remove();
    }
  });

  it("refuses a relative URL the page cannot resolve with INVALID_ARGUMENT, not a TypeError", () => {
    expect(() => parseEndpoint("//[bad")).toThrow(expect.objectContaining({ name: "LifelineError", code: "INVALID_ARGUMENT" }));
  });
});
