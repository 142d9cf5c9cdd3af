/**
 * base64-binary.ts for the CDN bundles: every browser has btoa/atob, so the plain-JS conversion
 * for engines without them stays out (about 250 B gzip). rollup.config.mjs swaps this file in.
 */
export const binaryToBase64 = (binary: string): string => btoa(binary);

/** For canonical base64 only (base64.ts checks). */
export const base64ToBinary = (text: string): string => atob(text);
