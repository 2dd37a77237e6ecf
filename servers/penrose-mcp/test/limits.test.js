// The time budget and the concurrency limit, end to end on a server started
// with a small budget and a single render worker.
//
// The suite runs its files in parallel on a small machine, so what these
// tests assert is what happened, read from the answer (each way of stopping a
// render says so in its own words), and wall-clock bounds only where they
// cannot be met by a slow machine: a lower bound (a timer never fires early),
// or an upper one far from the time the failure being excluded would take.

import assert from "node:assert/strict";
import { test } from "node:test";
import { EXAMPLES } from "../src/examples/index.js";
import { serverForFile, textOf } from "./helpers/server.js";
import { overfullBox } from "./helpers/trios.js";

const BUDGET_MS = 1500;
// Long: the cooperative stop at the budget must win even when a loaded
// machine makes the compile before it slow (hard-stop.test.js covers the kill).
const GRACE_MS = 30_000;
const QUEUE_WAIT_MS = 300;

const shared = serverForFile({
  RENDER_TIMEOUT_MS: String(BUDGET_MS),
  RENDER_KILL_GRACE_MS: String(GRACE_MS),
  RENDER_CONCURRENCY: "1",
  RENDER_QUEUE_WAIT_MS: String(QUEUE_WAIT_MS),
});

/**
 * @param {Record<string, string>} args
 */
async function timedRender(args) {
  const t0 = performance.now();
  const result = await shared.client.callTool({ name: "render_diagram", arguments: args });
  return { result, elapsed: performance.now() - t0 };
}

test("an optimisation that outlasts the budget is stopped at the budget with a tool error", async () => {
  // 14 balls take ~34 s to settle on an idle 2-core machine.
  const { result, elapsed } = await timedRender(overfullBox(14));
  assert.equal(result.isError, true);
  // The engine's own stop (the pool's kill would say "stopped after").
  assert.match(textOf(result), new RegExp(`^Render timed out: optimisation did not converge within the ${BUDGET_MS} ms budget`));
  assert.ok(elapsed >= BUDGET_MS, `returned before the budget (${elapsed} ms)`);
});

test("the worker takes the next job after a timed-out optimisation", async () => {
  // A validation (compile only), which the small render budget cannot cut short
  // on a slow machine the way it would an example's render.
  const { domain, substance, style } = EXAMPLES[0];
  const result = await shared.client.callTool({ name: "validate_trio", arguments: { domain, substance, style } });
  assert.notEqual(result.isError, true, textOf(result));
  assert.match(textOf(result), /^ok: /);
});

test("with every worker busy, a render waits briefly and then gets a busy error", async () => {
  // Two long renders at once on one worker: one runs (and times out at the
  // budget), the other waits QUEUE_WAIT_MS for the worker and is turned away
  // while the first is still running.
  const first = timedRender(overfullBox(14));
  const second = timedRender(overfullBox(13));
  /** @type {string[]} */
  const order = [];
  const [a, b] = await Promise.all([
    first.then((r) => (order.push("first"), r)),
    second.then((r) => (order.push("second"), r)),
  ]);
  const texts = [textOf(a.result), textOf(b.result)];
  assert.equal(a.result.isError, true);
  assert.equal(b.result.isError, true);
  const busyAt = texts.findIndex((t) => t.startsWith("Server busy:"));
  assert.notEqual(busyAt, -1, `one call should be refused as busy: ${JSON.stringify(texts)}`);
  assert.match(texts[1 - busyAt], /^Render timed out:/);
  // Refused after its wait, not after the running render ended.
  assert.equal(order[0], busyAt === 0 ? "first" : "second", `answers came in the order ${order}`);
  assert.ok([a, b][busyAt].elapsed >= QUEUE_WAIT_MS, "refused before the queue wait");
});
