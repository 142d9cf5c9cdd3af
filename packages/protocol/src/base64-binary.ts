/**
 * Base64 of a "binary string" (one char per byte) and back. Browsers, Node 16+ and Hermes (React
 * Native 0.74+) have btoa/atob, which are fast; an engine without them (React Native on
 * JavaScriptCore, or older Hermes) gets the same conversion in plain JS, slower but correct.
 * The CDN bundles take base64-binary.browser.ts instead.
 */
const DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** btoa in plain JS. */
function encodeBinary(binary: string): string {
  let text = "";
  for (let i = 0; i < binary.length; i += 3) {
    // Past the end charCodeAt gives NaN, which shifts and ORs as 0.
    const bits = (binary.charCodeAt(i) << 16) | (binary.charCodeAt(i + 1) << 8) | binary.charCodeAt(i + 2);
    for (let shift = 18; shift >= 0; shift -= 6) text += DIGITS[(bits >> shift) & 63];
  }
  // The digits made of bits past the end become padding.
  const padding = (3 - (binary.length % 3)) % 3;
  return text.slice(0, text.length - padding) + "==".slice(2 - padding);
}

/** atob in plain JS, for canonical base64. */
function decodeBinary(text: string): string {
  let binary = "";
  for (let i = 0; i < text.length; i += 4) {
    let bits = 0;
    // "=" is not a digit: its -1 gives bits that are cut off below with the bytes they make.
    for (let j = 0; j < 4; j++) bits = (bits << 6) | (DIGITS.indexOf(text[i + j]!) & 63);
    binary += String.fromCharCode(bits >> 16, (bits >> 8) & 255, bits & 255);
  }
  // One byte less for each "=" (canonical text has them only at its end).
  return binary.slice(0, binary.length + 1 - text.split("=").length);
}

export const binaryToBase64 = (binary: string): string => (typeof btoa == "function" ? btoa(binary) : encodeBinary(binary));

/** For canonical base64 only (base64.ts checks). */
export const base64ToBinary = (text: string): string => (typeof atob == "function" ? atob(text) : decodeBinary(text));
