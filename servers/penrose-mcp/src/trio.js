// A Penrose "trio" (Domain, Substance, Style) plus the variation seed: its
// content address and its input limits.

import { createHash } from "node:crypto";

/** @typedef {import("./engine/penrose-engine.js").Trio} Trio */

// Used when the caller gives no variation. Fixed, so that the same trio always
// lays out the same way and hashes to the same output.
export const DEFAULT_VARIATION = "penrose-mcp";

// The variation only seeds Penrose's random sampler; nobody needs a long one.
export const MAX_VARIATION_LENGTH = 256;

/**
 * sha256 (hex) of the UTF-8 JSON array [domain, substance, style, variation].
 * JSON framing keeps the fields unambiguous ("ab"+"c" vs "a"+"bc").
 * @param {Trio} trio
 * @returns {string}
 */
export function trioHash(trio) {
  const framed = JSON.stringify([trio.domain, trio.substance, trio.style, trio.variation]);
  return createHash("sha256").update(framed, "utf8").digest("hex");
}

/**
 * @param {Trio} trio
 * @param {number} maxProgramBytes
 * @returns {string | null} why the trio is refused, or null if it is acceptable
 */
export function checkTrioLimits(trio, maxProgramBytes) {
  for (const field of /** @type {const} */ (["domain", "substance", "style"])) {
    const bytes = Buffer.byteLength(trio[field], "utf8");
    if (bytes > maxProgramBytes) {
      return `the ${field} program is ${bytes} bytes; the limit is ${maxProgramBytes} bytes (MAX_PROGRAM_BYTES)`;
    }
  }
  if (trio.variation.length > MAX_VARIATION_LENGTH) {
    return `the variation is ${trio.variation.length} characters; the limit is ${MAX_VARIATION_LENGTH}`;
  }
  return null;
}

const OUTPUT_NAME = /^([0-9a-f]{64})\.svg$/;

/**
 * The hash in an output file name "<64 hex>.svg", or null if malformed.
 * @param {string} name
 * @returns {string | null}
 */
export function hashFromOutputName(name) {
  const match = OUTPUT_NAME.exec(name);
  return match ? match[1] : null;
}
