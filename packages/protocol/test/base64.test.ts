import { afterEach, describe, expect, it, vi } from "vitest";
import { base64ToBytes, bytesToBase64 } from "@lifeline/protocol";

const sample = (length: number) => {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 97 + length) & 255;
  return bytes;
};

describe("base64", () => {

  it("matches Buffer's base64 for every length remainder and all byte values", () => {
    for (let length = 0; length < 260; length++) {
      const bytes = sample(length);
      const encoded = bytesToBase64(bytes);
      expect(encoded).toBe(Buffer.from(bytes).toString("base64"));
      expect(base64ToBytes(encoded)).toEqual(bytes);
    }
  });

  it("round-trips payloads larger than one conversion chunk", () => {
    const bytes = sample(100_003);
    const encoded = bytesToBase64(bytes);
    expect(encoded).toBe(Buffer.from(bytes).toString("base64"));
    expect(Buffer.from(base64ToBytes(encoded)!).equals(Buffer.from(bytes))).toBe(true);
  });

  describe("without btoa and atob (React Native on JavaScriptCore)", () => {
    afterEach(() => {
      vi.unstubAllGlobals();
    });

    it("encodes and decodes the same as with them", () => {
      const lengths = [...Array.from({ length: 260 }, (_, i) => i), 100_003];
      const native = lengths.map((length) => bytesToBase64(sample(length)));
      vi.stubGlobal("btoa", undefined);
      vi.stubGlobal("atob", undefined);
      expect(typeof btoa).toBe("undefined");
      lengths.forEach((length, i) => {
        const bytes = sample(length);
        expect(bytesToBase64(bytes), `length ${length}`).toBe(native[i]);
        expect(base64ToBytes(native[i]!), `length ${length}`).toEqual(bytes);
      });
      expect(base64ToBytes("YWI=")).toEqual(new Uint8Array([97, 98]));
      expect(base64ToBytes("YQ")).toBeUndefined();
    });
  });

  it("rejects anything but canonical padded base64", () => {
    for (const bad of ["abc", "a", "ab=c", "a===", "====", "ab c", "YWJj\n", "YW Jj", "YWJ-", "YWJ_", "@@@@", "YQ", "YQ=", "Y===", "YWJjZA=a"]) {
      expect(base64ToBytes(bad), JSON.stringify(bad)).toBeUndefined();
    }
    expect(base64ToBytes("")).toEqual(new Uint8Array(0));
    expect(base64ToBytes("YQ==")).toEqual(new Uint8Array([97]));
    expect(base64ToBytes("YWI=")).toEqual(new Uint8Array([97, 98]));
  });
});
