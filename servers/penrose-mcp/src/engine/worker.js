// Render worker: one Penrose engine in its own thread. The pool (pool.js)
// sends it one job at a time and terminates it if a job overruns, which is
// the only reliable way to stop code that never yields (a long compile, a
// single expensive optimiser step).
//
// Protocol (messages to the parent):
//   { type: "ready", warmupMs }                after the self-test render
//   { type: "result", id, result, heapBytes }  one per job; heapBytes: this
//                                              thread's V8 heap in use after it
// Messages from the parent:
//   { type: "job", id, kind: "render" | "validate", trio, budgetMs, cancel }
//     cancel: a SharedArrayBuffer of one Int32; non-zero asks the job to stop.

import v8 from "node:v8";
import { parentPort } from "node:worker_threads";
import { installDomShim } from "./dom-shim.js";
import { SELF_TEST_TRIO, selfTestProblem } from "./self-test.js";

if (parentPort === null) throw new Error("worker.js must run in a worker thread");
const port = parentPort;

// Penrose's optimiser is Rust compiled to WebAssembly. When it panics (e.g.
// "NaN in xs" once an energy blows up) its panic hook prints the reason with
// console.error and the call then throws a bare
// `RuntimeError: unreachable` (penrose/penrose packages/optimizer/src/lib.rs,
// penrose_init / minimize). Keep the printed reason for the error message.
let lastPanic = "";
const consoleError = console.error.bind(console);
console.error = (...args) => {
  const first = String(args[0] ?? "");
  if (first.startsWith("panicked at")) lastPanic = first.split("\n")[0];
  consoleError(...args);
};

installDomShim();
// Imported only now: Penrose and MathJax look for the DOM globals.
const { renderTrio, validateTrio } = await import("./penrose-engine.js");

/**
 * Run one job; never throws.
 * @param {{ kind: "render" | "validate", trio: import("./penrose-engine.js").Trio, budgetMs: number, cancel: SharedArrayBuffer }} job
 * @returns {Promise<object>}
 */
async function runJob(job) {
  const flag = new Int32Array(job.cancel);
  lastPanic = "";
  try {
    if (job.kind === "validate") return await validateTrio(job.trio);
    return await renderTrio(job.trio, {
      budgetMs: job.budgetMs,
      isCancelled: () => Atomics.load(flag, 0) !== 0,
    });
  } catch (error) {
    // After a WebAssembly trap the optimiser module's memory may be left
    // inconsistent, and any other throw is a bug: either way this worker is
    // not trusted with another job (`recycle`).
    if (error instanceof WebAssembly.RuntimeError) {
      const reason = lastPanic || String(error.message);
      return {
        ok: false,
        kind: "penrose",
        message:
          `the Penrose optimiser aborted (${reason}); this usually means an ` +
          `energy became NaN or infinite, e.g. an unbounded objective or a division by zero`,
        recycle: true,
      };
    }
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, kind: "internal", message, recycle: true };
  }
}

const t0 = performance.now();
const warmup = await renderTrio(SELF_TEST_TRIO, { budgetMs: 30_000 });
const problem = selfTestProblem(warmup);
// Throwing here ends the worker with an 'error' event the pool reports.
if (problem !== null) throw new Error(problem);

port.on("message", async (message) => {
  if (message?.type !== "job") return;
  const result = await runJob(message);
  port.postMessage({ type: "result", id: message.id, result, heapBytes: v8.getHeapStatistics().used_heap_size });
});
port.postMessage({ type: "ready", warmupMs: performance.now() - t0 });
