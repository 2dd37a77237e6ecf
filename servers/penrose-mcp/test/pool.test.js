// The worker pool's guarantees, with a scripted fake worker instead of
// Penrose so each case is deterministic and fast.

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { RenderPool } from "../src/engine/pool.js";

const FAKE_WORKER = new URL("./fixtures/fake-worker.js", import.meta.url);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** @type {RenderPool[]} */
const pools = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  delete process.env.FAKE_WORKER_START_DELAY_MS;
});

/**
 * @param {Partial<ConstructorParameters<typeof RenderPool>[0]>} [opts]
 */
function makePool(opts = {}) {
  const pool = new RenderPool({
    size: 1,
    queueWaitMs: 2_000,
    maxQueue: 8,
    killGraceMs: 100,
    maxHeapMb: 128,
    maxJobs: 100,
    recycleHeapMb: 96,
    logger: silent,
    workerUrl: FAKE_WORKER,
    ...opts,
  });
  pools.push(pool);
  pool.start();
  return pool;
}

/** @param {string} domain */
const trio = (domain, substance = "") => ({ domain, substance, style: "", variation: "" });

/** @param {RenderPool} pool */
async function until(pool, /** @type {(s: ReturnType<RenderPool["stats"]>) => boolean} */ ok) {
  const deadline = Date.now() + 10_000;
  while (!ok(pool.stats())) {
    assert.ok(Date.now() < deadline, `pool never reached the state: ${JSON.stringify(pool.stats())}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("returns the worker's result", async () => {
  const pool = makePool();
  const result = await pool.run("render", trio("ok:0", "hello"), { budgetMs: 1_000 });
  assert.deepEqual(result, { ok: true, svg: "<svg/>", echo: "hello" });
});

test("a job that never yields is stopped at budget + grace and its worker replaced", async () => {
  const pool = makePool({ killGraceMs: 100 });
  const t0 = performance.now();
  const result = await pool.run("render", trio("spin"), { budgetMs: 200 });
  const elapsed = performance.now() - t0;
  assert.equal(result.ok, false);
  assert.equal(result.kind, "timeout");
  // Only the kill timer answers a job that never yields, and says when it fired.
  assert.match(result.message, /stopped after 300 ms/);
  assert.ok(elapsed >= 300, `elapsed ${elapsed}`);
  // The next job is served by a fresh worker.
  const next = await pool.run("render", trio("ok:0"), { budgetMs: 1_000 });
  assert.equal(next.ok, true);
  assert.equal(pool.stats().restarts, 1);
});

test("with the worker busy, a queued job gets 'busy' after the queue wait", async () => {
  const pool = makePool({ queueWaitMs: 100 });
  await until(pool, (s) => s.idle === 1);
  let longDone = false;
  const long = pool.run("render", trio("ok:1500"), { budgetMs: 5_000 }).then((result) => {
    longDone = true;
    return result;
  });
  const t0 = performance.now();
  const refused = await pool.run("render", trio("ok:0"), { budgetMs: 5_000 });
  const waited = performance.now() - t0;
  assert.equal(refused.kind, "busy");
  assert.match(refused.message, /busy/);
  assert.ok(waited >= 90, `waited ${waited}`); // the queue wait (a timer never fires early)
  assert.equal(longDone, false, "refused only once the running job had ended");
  assert.equal((await long).ok, true);
});

test("beyond the queue limit a job is refused at once", async () => {
  const pool = makePool({ maxQueue: 0 });
  await until(pool, (s) => s.idle === 1);
  const long = pool.run("render", trio("ok:500"), { budgetMs: 5_000 });
  const refused = await pool.run("render", trio("ok:0"), { budgetMs: 5_000 });
  assert.equal(refused.kind, "busy");
  assert.equal((await long).ok, true);
});

test("jobs wait for workers that are still starting instead of failing as busy", async () => {
  process.env.FAKE_WORKER_START_DELAY_MS = "400";
  const pool = makePool({ queueWaitMs: 50 });
  const result = await pool.run("render", trio("ok:0"), { budgetMs: 1_000 });
  assert.equal(result.ok, true);
});

test("a crashing worker fails its job, not the process, and is replaced", async () => {
  const pool = makePool();
  const crashed = await pool.run("render", trio("crash"), { budgetMs: 5_000 });
  assert.equal(crashed.kind, "crashed");
  assert.match(crashed.message, /fake worker crashed/);
  const next = await pool.run("render", trio("ok:0"), { budgetMs: 1_000 });
  assert.equal(next.ok, true);
});

test("a job that exhausts the worker heap limit fails cleanly", async () => {
  const pool = makePool({ maxHeapMb: 64 });
  const result = await pool.run("render", trio("oom"), { budgetMs: 20_000 });
  assert.equal(result.kind, "crashed");
  assert.match(result.message, /ran out of memory \(limit 64 MiB\)/);
  assert.equal((await pool.run("render", trio("ok:0"), { budgetMs: 1_000 })).ok, true);
});

test("a worker that reports a fault is replaced after answering", async () => {
  const pool = makePool();
  const fault = await pool.run("render", trio("recycle"), { budgetMs: 1_000 });
  assert.deepEqual(fault, { ok: false, kind: "internal", message: "fault" });
  await until(pool, (s) => s.restarts === 1);
});

test("a worker is replaced after maxJobs jobs, and after a job that leaves recycleHeapMb of heap in use", async () => {
  const pool = makePool({ maxJobs: 3 });
  for (const heapMb of [10, 95]) {
    assert.equal((await pool.run("render", trio(`heap:${heapMb}`), { budgetMs: 1_000 })).ok, true);
  }
  assert.equal(pool.stats().restarts, 0); // below both limits
  assert.equal((await pool.run("render", trio("heap:10"), { budgetMs: 1_000 })).ok, true);
  await until(pool, (s) => s.restarts === 1 && s.idle === 1); // the third job
  const heavy = await pool.run("render", trio("heap:96"), { budgetMs: 1_000 });
  assert.equal(heavy.ok, true); // the job itself is answered
  await until(pool, (s) => s.restarts === 2 && s.idle === 1);
});

test("aborting cancels a queued job at once and asks a running job to stop", async () => {
  const pool = makePool();
  await until(pool, (s) => s.idle === 1);
  const running = new AbortController();
  const queued = new AbortController();
  const first = pool.run("render", trio("poll"), { budgetMs: 10_000, signal: running.signal });
  const second = pool.run("render", trio("ok:0"), { budgetMs: 10_000, signal: queued.signal });
  queued.abort();
  assert.equal((await second).kind, "cancelled");
  running.abort();
  assert.equal((await first).kind, "cancelled");
});

test("close() answers waiting jobs and stops the workers", async () => {
  const pool = makePool();
  await until(pool, (s) => s.idle === 1);
  const running = pool.run("render", trio("ok:5000"), { budgetMs: 10_000 });
  const waiting = pool.run("render", trio("ok:0"), { budgetMs: 10_000 });
  await pool.close();
  assert.equal((await running).kind, "unavailable");
  assert.equal((await waiting).kind, "unavailable");
  assert.equal((await pool.run("render", trio("ok:0"), { budgetMs: 10 })).kind, "unavailable");
});
