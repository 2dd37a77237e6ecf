// A tiny trio that exercises every part of the engine a real diagram needs:
// compile, optimise, SVG output, canvas text measurement (Text) and MathJax
// (Equation). Each worker renders it before taking jobs (which also warms the
// JIT), and /health reports ready only once it has rendered through the pool.

/** @type {import("./penrose-engine.js").Trio} */
export const SELF_TEST_TRIO = Object.freeze({
  domain: "type Dot\n",
  substance: "Dot p\nLabel p $p$\n",
  style: `canvas {
  width = 120
  height = 80
}
forall Dot d {
  d.icon = Circle { r : 10 }
  d.name = Text { string : "self-test" }
  d.tex = Equation { string : d.label }
  ensure disjoint(d.name, d.icon, 4)
}
`,
  variation: "self-test",
});

/**
 * Why a self-test render is not good enough, or null if it is.
 * @param {{ ok: boolean, svg?: string, message?: string }} result
 * @returns {string | null}
 */
export function selfTestProblem(result) {
  if (!result.ok) return `self-test render failed: ${result.message}`;
  const svg = result.svg ?? "";
  if (!svg.includes("<circle")) return "self-test SVG has no <circle>";
  // Text is measured with the canvas shim and the bundled fonts; a width of
  // 0 means no font was found and every text layout would be wrong.
  const width = /<text[^>]*\swidth="([0-9.]+)"/.exec(svg);
  if (!width || !(Number(width[1]) > 0)) return "self-test text measured 0 wide (no usable font)";
  return null;
}
