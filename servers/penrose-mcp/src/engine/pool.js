// A fixed set of render worker threads: the concurrency limit, the queue in
// front of it, and the hard stop behind the engine's own time budget.
//
// - At most `size` jobs run at once, one per worker.
// - Others wait up to `queueWaitMs` (and at most `maxQueue` of them), then get
//   a "busy" result, so callers see a clear error instead of piling up.
// - A job still running `killGraceMs` after its budget has its worker
//   terminated (Worker#terminate stops even a tight loop or a WebAssembly
//   call), and a fresh worker replaces it.
// - A worker that crashes, runs out of heap (`maxHeapMb`), reports a fault
//   (`recycle`), has served `maxJobs` jobs, or ends a job with more than
//   `recycleHeapMb` of heap in use is replaced too. Nothing a worker does can
//   take the main process down.

import { Worker } from "node:worker_threads";

/** @typedef {import("./penrose-engine.js").Trio} Trio */

/**
 * @typedef {object} PoolFailure
 * @property {false} ok
 * @property {"penrose" | "timeout" | "cancelled" | "busy" | "crashed" | "internal" | "unavailable"} kind
 * @property {string} message
 */

/**
 * @typedef {object} Job
 * @property {number} id
 * @property {"render" | "validate"} kind
 * @property {Trio} trio
 * @property {number} budgetMs
 * @property {Int32Array} cancel  shared with the worker
 * @property {(result: any) => void} resolve
 * @property {NodeJS.Timeout | undefined} waitTimer
 * @property {() => void} detach  removes the abort listener
 */

/**
 * @typedef {object} Slot
 * @property {number} index
 * @property {Worker | null} worker
 * @property {"starting" | "idle" | "busy" | "stopping"} state
 * @property {Job | null} job
 * @property {NodeJS.Timeout | undefined} killTimer
 * @property {number} jobsDone
 * @property {Error | null} lastError
 */

const DEFAULT_WORKER_URL = new URL("./worker.js", import.meta.url);

const MIB = 1024 * 1024;

// How long a job may wait for workers that are starting up (not busy).
const STARTUP_WAIT_MS = 30_000;

export class RenderPool {
  /** @type {Slot[]} */
  #slots = [];
  /** @type {Job[]} */
  #queue = [];
  #nextId = 1;
  #closed = false;
  #consecutiveStartFailures = 0;
  #restarts = 0;
  #opts;

  /**
   * @param {object} opts
   * @param {number} opts.size
   * @param {number} opts.queueWaitMs
   * @param {number} opts.maxQueue
   * @param {number} opts.killGraceMs
   * @param {number} opts.maxHeapMb
   * @param {number} opts.maxJobs
   * @param {number} opts.recycleHeapMb  heap in use after a job at which the worker is replaced
   * @param {import("../logger.js").Logger} opts.logger
   * @param {URL} [opts.workerUrl]  replaceable for tests
   */
  constructor(opts) {
    this.#opts = { workerUrl: DEFAULT_WORKER_URL, ...opts };
  }

  /** Spawn the workers. They become available as each finishes warming up. */
  start() {
    for (let index = 0; index < this.#opts.size; index += 1) {
      /** @type {Slot} */
      const slot = { index, worker: null, state: "starting", job: null, killTimer: undefined, jobsDone: 0, lastError: null };
      this.#slots.push(slot);
      this.#spawn(slot);
    }
  }

  /**
   * Run a job. Always resolves (never rejects) with the engine's result or a
   * PoolFailure.
   * @param {"render" | "validate"} kind
   * @param {Trio} trio
   * @param {{ budgetMs: number, signal?: AbortSignal }} options
   * @returns {Promise<any>}
   */
  run(kind, trio, { budgetMs, signal }) {
    if (this.#closed) return Promise.resolve(failure("unavailable", "the render engine is shutting down"));
    if (signal?.aborted) return Promise.resolve(failure("cancelled", "request cancelled"));
    if (this.#queue.length >= this.#opts.maxQueue && !this.#slots.some((s) => s.state === "idle")) {
      return Promise.resolve(this.#busy());
    }
    return new Promise((resolve) => {
      /** @type {Job} */
      const job = {
        id: this.#nextId++,
        kind,
        trio,
        budgetMs,
        cancel: new Int32Array(new SharedArrayBuffer(4)),
        resolve: () => {},
        waitTimer: undefined,
        detach: () => {},
      };
      let settled = false;
      job.resolve = (result) => {
        if (settled) return;
        settled = true;
        clearTimeout(job.waitTimer);
        job.detach();
        resolve(result);
      };
      if (signal) {
        const onAbort = () => {
          const queued = this.#queue.indexOf(job);
          if (queued !== -1) {
            this.#queue.splice(queued, 1);
            job.resolve(failure("cancelled", "request cancelled"));
          } else {
            // Running: the engine polls this flag between optimiser steps.
            Atomics.store(job.cancel, 0, 1);
          }
        };
        signal.addEventListener("abort", onAbort, { once: true });
        job.detach = () => signal.removeEventListener("abort", onAbort);
      }
      this.#queue.push(job);
      const enqueuedAt = performance.now();
      const onWaitOver = () => {
        const queued = this.#queue.indexOf(job);
        if (queued === -1) return;
        // Waiting for workers that are still starting (at launch, or after
        // one was replaced) is not "busy": keep waiting, within a bound in
        // case they never come up.
        const starting = !this.#slots.some((s) => s.state === "busy");
        const waited = performance.now() - enqueuedAt;
        if (starting && waited < STARTUP_WAIT_MS) {
          job.waitTimer = setTimeout(onWaitOver, Math.min(this.#opts.queueWaitMs || 100, STARTUP_WAIT_MS - waited));
          return;
        }
        this.#queue.splice(queued, 1);
        job.resolve(
          starting
            ? failure("unavailable", `no render worker became ready within ${Math.round(waited)} ms; the engine may be failing to start`)
            : this.#busy(),
        );
      };
      job.waitTimer = setTimeout(onWaitOver, this.#opts.queueWaitMs);
      this.#dispatch();
    });
  }

  /** @returns {{ size: number, idle: number, busy: number, starting: number, queued: number, restarts: number }} */
  stats() {
    const count = (/** @type {Slot["state"]} */ s) => this.#slots.filter((slot) => slot.state === s).length;
    return {
      size: this.#slots.length,
      idle: count("idle"),
      busy: count("busy"),
      starting: count("starting"),
      queued: this.#queue.length,
      restarts: this.#restarts,
    };
  }

  /** Stop everything; pending and queued jobs resolve as "unavailable". */
  async close() {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) {
      job.resolve(failure("unavailable", "the render engine is shutting down"));
    }
    await Promise.all(
      this.#slots.map(async (slot) => {
        clearTimeout(slot.killTimer);
        slot.job?.resolve(failure("unavailable", "the render engine is shutting down"));
        slot.job = null;
        slot.state = "stopping";
        const worker = slot.worker;
        slot.worker = null;
        if (worker) await worker.terminate();
      }),
    );
  }

  #busy() {
    const { size, maxQueue, queueWaitMs } = this.#opts;
    return failure(
      "busy",
      `the server is busy: ${size} render(s) already running and no worker became free within ` +
        `${queueWaitMs} ms (queue limit ${maxQueue}); retry shortly`,
    );
  }

  #dispatch() {
    while (this.#queue.length > 0) {
      const slot = this.#slots.find((s) => s.state === "idle");
      if (!slot) return;
      const job = /** @type {Job} */ (this.#queue.shift());
      clearTimeout(job.waitTimer);
      this.#assign(slot, job);
    }
  }

  /**
   * @param {Slot} slot
   * @param {Job} job
   */
  #assign(slot, job) {
    const worker = /** @type {Worker} */ (slot.worker);
    slot.state = "busy";
    slot.job = job;
    worker.postMessage({
      type: "job",
      id: job.id,
      kind: job.kind,
      trio: job.trio,
      budgetMs: job.budgetMs,
      cancel: job.cancel.buffer,
    });
    slot.killTimer = setTimeout(() => {
      if (slot.job !== job) return;
      this.#opts.logger.warn("render overran its budget; terminating worker", {
        worker: slot.index,
        budgetMs: job.budgetMs,
        graceMs: this.#opts.killGraceMs,
      });
      job.resolve(
        failure(
          "timeout",
          `the render did not finish within its ${job.budgetMs} ms budget ` +
            `(stopped after ${job.budgetMs + this.#opts.killGraceMs} ms); simplify the trio`,
        ),
      );
      slot.job = null;
      this.#retire(slot);
    }, job.budgetMs + this.#opts.killGraceMs);
  }

  /**
   * Terminate a slot's worker; its 'exit' handler spawns the replacement.
   * @param {Slot} slot
   */
  #retire(slot) {
    clearTimeout(slot.killTimer);
    slot.state = "stopping";
    slot.worker?.terminate().catch(() => {});
  }

  /** @param {Slot} slot */
  #spawn(slot) {
    if (this.#closed) return;
    const worker = new Worker(this.#opts.workerUrl, {
      resourceLimits: { maxOldGenerationSizeMb: this.#opts.maxHeapMb },
      // Take the worker's stdout away from process.stdout: in stdio mode that
      // is the MCP channel. Both streams go to our stderr.
      stdout: true,
      stderr: true,
    });
    worker.stdout.pipe(process.stderr, { end: false });
    worker.stderr.pipe(process.stderr, { end: false });
    slot.worker = worker;
    slot.state = "starting";
    slot.jobsDone = 0;
    slot.lastError = null;

    worker.on("message", (message) => {
      if (slot.worker !== worker) return;
      if (message?.type === "ready") {
        this.#consecutiveStartFailures = 0;
        slot.state = "idle";
        this.#opts.logger.debug("render worker ready", { worker: slot.index, warmupMs: Math.round(message.warmupMs) });
        this.#dispatch();
      } else if (message?.type === "result" && slot.job && slot.job.id === message.id) {
        clearTimeout(slot.killTimer);
        const { recycle, ...result } = message.result;
        slot.job.resolve(result);
        slot.job = null;
        slot.jobsDone += 1;
        const heapMb = (message.heapBytes ?? 0) / MIB;
        if (recycle) {
          this.#retire(slot);
        } else if (slot.jobsDone >= this.#opts.maxJobs || heapMb >= this.#opts.recycleHeapMb) {
          this.#opts.logger.info("recycling render worker", {
            worker: slot.index,
            jobs: slot.jobsDone,
            heapMb: Math.round(heapMb),
            reason: heapMb >= this.#opts.recycleHeapMb ? "heap" : "jobs",
          });
          this.#retire(slot);
        } else {
          slot.state = "idle";
          this.#dispatch();
        }
      }
    });
    worker.on("error", (error) => {
      // Uncaught exception in the worker, a failed start-up self-test, or
      // ERR_WORKER_OUT_OF_MEMORY. 'exit' follows.
      if (slot.worker === worker) slot.lastError = error;
    });
    worker.on("exit", (code) => {
      if (slot.worker !== worker) return;
      clearTimeout(slot.killTimer);
      const wasStarting = slot.state === "starting";
      const reason = slot.lastError ? slot.lastError.message : `exit code ${code}`;
      if (slot.job) {
        const oom = /** @type {any} */ (slot.lastError)?.code === "ERR_WORKER_OUT_OF_MEMORY";
        slot.job.resolve(
          failure(
            "crashed",
            oom
              ? `the render ran out of memory (limit ${this.#opts.maxHeapMb} MiB); simplify the trio`
              : `the render engine failed (${reason}); it has been restarted`,
          ),
        );
        slot.job = null;
      }
      slot.worker = null;
      if (this.#closed) return;
      if (slot.lastError) this.#opts.logger.error("render worker died", { worker: slot.index, reason });
      this.#restarts += 1;
      // A worker that cannot even start (broken install, missing font) would
      // otherwise be respawned in a hot loop: back off up to 10 s.
      let delay = 0;
      if (wasStarting) {
        this.#consecutiveStartFailures += 1;
        delay = Math.min(10_000, 100 * 2 ** Math.min(this.#consecutiveStartFailures, 7));
      }
      slot.state = "starting";
      const timer = setTimeout(() => this.#spawn(slot), delay);
      timer.unref();
    });
  }
}

/**
 * @param {PoolFailure["kind"]} kind
 * @param {string} message
 * @returns {PoolFailure}
 */
function failure(kind, message) {
  return { ok: false, kind, message };
}
