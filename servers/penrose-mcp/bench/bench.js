// npm run bench: render every bundled example BENCH_RUNS times (default 5),
// each example in a fresh Node process so that its peak RSS is its own, and
// print a table. The engine is called directly (compile + optimise + SVG),
// as a render worker does; no HTTP, no cache.

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const SELF = fileURLToPath(import.meta.url);

/**
 * @param {number[]} values
 */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Child: render one example `runs` times and print one JSON line.
 * @param {string} id
 * @param {number} runs
 */
async function child(id, runs) {
  const { installDomShim } = await import("../src/engine/dom-shim.js");
  installDomShim();
  const { renderTrio } = await import("../src/engine/penrose-engine.js");
  const { findExample } = await import("../src/examples/index.js");
  const { DEFAULT_VARIATION } = await import("../src/trio.js");
  const example = findExample(id);
  if (!example) throw new Error(`unknown example ${id}`);
  const trio = { domain: example.domain, substance: example.substance, style: example.style, variation: DEFAULT_VARIATION };
  const totals = [];
  const optimise = [];
  let shapes = 0;
  let bytes = 0;
  for (let i = 0; i < runs; i += 1) {
    const t0 = performance.now();
    const result = await renderTrio(trio, { budgetMs: 60_000 });
    const total = performance.now() - t0;
    if (!result.ok) throw new Error(`${id}: ${result.kind}: ${result.message}`);
    totals.push(total);
    optimise.push(result.optimizeMs);
    shapes = result.shapeCount;
    bytes = Buffer.byteLength(result.svg);
  }
  // maxRSS is in KiB (https://nodejs.org/api/process.html#processresourceusage).
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ id, runs, totals, optimise, shapes, bytes, peakRssMiB })}\n`);
}

async function parent() {
  const raw = process.env.BENCH_RUNS ?? "5";
  const runs = Number(raw);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`BENCH_RUNS must be a positive integer, got ${raw}`);
  const { EXAMPLES } = await import("../src/examples/index.js");

  /** @type {string[][]} */
  const rows = [];
  for (const { id } of EXAMPLES) {
    const run = spawnSync(process.execPath, [SELF, "--child", id, String(runs)], { encoding: "utf8" });
    if (run.status !== 0) {
      process.stderr.write(run.stderr);
      throw new Error(`benchmark of ${id} failed (exit ${run.status})`);
    }
    const r = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}");
    rows.push([
      r.id,
      String(r.shapes),
      String(r.bytes),
      r.totals[0].toFixed(0),
      median(r.totals).toFixed(0),
      median(r.optimise).toFixed(1),
      r.peakRssMiB.toFixed(0),
    ]);
  }

  const header = ["example", "shapes", "svg bytes", "first ms", "median ms", "median optimise ms", "peak RSS MiB"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (/** @type {string[]} */ cells) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  console.log(`Penrose render benchmark: ${runs} run(s) per example, one fresh process per example, Node ${process.version}`);
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? ` ${"-".repeat(w)} ` : ` ${"-".repeat(w - 1)}: `)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  console.log("median ms = compile + optimise + SVG serialisation, over all runs; first ms = the first run in a cold process.");
}

if (process.argv[2] === "--child") {
  await child(process.argv[3], Number(process.argv[4]));
} else {
  await parent();
}
