// npm run soak: the memory of the real server over many renders.
//
// Starts `node src/main.js` (its defaults, or whatever the environment sets),
// renders SOAK_RENDERS (default 1000) diagrams through MCP over HTTP, each a
// real render (the bundled examples in turn, each with a variation of its
// own, so the output cache never answers), RENDER_CONCURRENCY at a time, and
// prints the server's resident memory: idle (workers ready), before (after a
// warm-up), every 10 % of the way, after, and the peak. Workers are not
// recycled by job count (WORKER_MAX_JOBS is set out of reach unless given),
// so that recycling cannot hide a leak.

import { readFileSync } from "node:fs";
import { EXAMPLES } from "../src/examples/index.js";
import { connectHttpClient, startServer } from "../test/helpers/server.js";

const MIB = 1024;

/**
 * Resident and peak resident memory of a process, MiB (Linux /proc).
 * @param {number} pid
 * @returns {{ rss: number, peak: number }}
 */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (/** @type {string} */ field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)?.[1]);
  return { rss: kib("VmRSS") / MIB, peak: kib("VmHWM") / MIB };
}

/**
 * @param {string} raw
 * @param {string} name
 */
function positive(raw, name) {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

const renders = positive(process.env.SOAK_RENDERS ?? "1000", "SOAK_RENDERS");
const lanes = positive(process.env.RENDER_CONCURRENCY ?? "2", "RENDER_CONCURRENCY");
const warmup = 5 * lanes;
const maxJobs = process.env.WORKER_MAX_JOBS ?? "1000000";

const server = await startServer({ LOG_LEVEL: "info", WORKER_MAX_JOBS: maxJobs });
const pid = /** @type {number} */ (server.child.pid);
try {
  const idle = memory(pid).rss;
  const clients = await Promise.all(Array.from({ length: lanes }, () => connectHttpClient(server.baseUrl)));
  /** @type {number[]} */
  const times = [];
  let failures = 0;
  let next = 0;

  /**
   * Render until `until` renders are done, one lane per client.
   * @param {number} until
   * @param {(done: number) => void} [progress]
   */
  async function run(until, progress) {
    await Promise.all(
      clients.map(async (client) => {
        while (next < until) {
          const i = next++;
          const example = EXAMPLES[i % EXAMPLES.length];
          const t0 = performance.now();
          const result = await client.callTool({
            name: "render_diagram",
            arguments: { domain: example.domain, substance: example.substance, style: example.style, variation: `soak-${i}` },
          });
          times.push(performance.now() - t0);
          if (result.isError) failures += 1;
          progress?.(i + 1);
        }
      }),
    );
  }

  await run(warmup);
  const before = memory(pid).rss;
  times.length = 0;
  const start = performance.now();
  console.log(
    `Penrose soak: ${renders} renders after ${warmup} warm-up renders, ${lanes} at a time, ` +
      `WORKER_MAX_JOBS=${maxJobs}, Node ${process.version}`,
  );
  console.log(`idle (workers ready)   ${idle.toFixed(0)} MiB RSS`);
  console.log(`before                 ${before.toFixed(0)} MiB RSS`);
  const step = Math.max(1, Math.round(renders / 10));
  await run(warmup + renders, (done) => {
    const n = done - warmup;
    if (n % step === 0) {
      const seconds = (performance.now() - start) / 1000;
      console.log(`${String(n).padStart(6)} renders  ${memory(pid).rss.toFixed(0).padStart(5)} MiB RSS  ${seconds.toFixed(0).padStart(5)} s`);
    }
  });
  const after = memory(pid);
  const sorted = [...times].sort((a, b) => a - b);
  const recycled = server.logLines.filter((line) => line.includes('"recycling render worker"'));
  const byHeap = recycled.filter((line) => line.includes('"reason":"heap"')).length;
  console.log(`after                  ${after.rss.toFixed(0)} MiB RSS`);
  console.log(`growth                 ${(after.rss - before).toFixed(1)} MiB over ${renders} renders (target: under 50 MiB)`);
  console.log(`peak                   ${after.peak.toFixed(0)} MiB RSS`);
  console.log(
    `renders: ${failures} failed; median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms, ` +
      `p95 ${sorted[Math.floor(sorted.length * 0.95)].toFixed(0)} ms; ` +
      `workers recycled: ${recycled.length - byHeap} by job count, ${byHeap} by heap`,
  );
  await Promise.all(clients.map((client) => client.close()));
} finally {
  await server.stop();
}
