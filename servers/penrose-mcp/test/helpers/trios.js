// Trios that keep the engine busy, for the time-budget tests.

/**
 * `n` balls of radius 40 that must be pairwise disjoint on a 200x200 canvas:
 * they cannot all fit, and the optimiser takes a long time to settle for a
 * compromise (measured on a 2-core machine: 10 balls ~10 s, 14 balls ~34 s,
 * 30 balls ~64 s). With many balls the compile step alone (one constraint
 * per pair) takes minutes: 200 balls, 19,900 constraints.
 * @param {number} n
 */
export function overfullBox(n) {
  const names = Array.from({ length: n }, (_, i) => `b${i}`);
  return {
    domain: "type Ball\n",
    substance: `Ball ${names.join(", ")}\n`,
    style: `canvas {
  width = 200
  height = 200
}
forall Ball b {
  b.shape = Circle { r : 40 }
  ensure onCanvas(b.shape, canvas.width, canvas.height)
}
forall Ball a; Ball b {
  ensure disjoint(a.shape, b.shape)
}
`,
  };
}
