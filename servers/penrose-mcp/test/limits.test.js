// The time budget, the hard stop and the concurrency limit, end to end on a
// server started with a small budget and a single render worker.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { EXAMPLES } from "../src/examples/index.js";
import { connectHttpClient, startServer, textOf } from "./helpers/server.js";

const BUDGET_MS = 1500;
const GRACE_MS = 1000;
const QUEUE_WAIT_MS = 300;
// Generous: covers HTTP, scheduling and a slow CI machine, yet far below
// "hangs".
const MARGIN_MS = 3000;

/**
 * `n` balls of radius 40 that must be pairwise disjoint on a 200x200 canvas:
 * they cannot all fit, and the optimiser takes a long time to settle for a
 * compromise (measured on a 2-core machine: 10 balls ~10 s, 14 balls ~34 s,
 * against a budget of 1.5 s here). With many balls the compile step alone
 * (one constraint per pair) outlasts the budget plus the grace period.
 * @param {number} n
 */
function overfullBox(n) {
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

/** @type {import("./helpers/server.js").RunningServer} */
let server;
/** @type {import("@modelcontextprotocol/sdk/client/index.js").Client} */
let client;

before(async () => {
  server = await startServer({
    RENDER_TIMEOUT_MS: String(BUDGET_MS),
    RENDER_KILL_GRACE_MS: String(GRACE_MS),
    RENDER_CONCURRENCY: "1",
    RENDER_QUEUE_WAIT_MS: String(QUEUE_WAIT_MS),
  });
  client = await connectHttpClient(server.baseUrl);
});

after(async () => {
  await client?.close();
  await server?.stop();
});

/**
 * @param {Record<string, string>} args
 */
async function timedRender(args) {
  const t0 = performance.now();
  const result = await client.callTool({ name: "render_diagram", arguments: args });
  return { result, elapsed: performance.now() - t0 };
}

test("an optimisation that outlasts the budget is stopped at the budget with a tool error", async () => {
  const { result, elapsed } = await timedRender(overfullBox(14));
  assert.equal(result.isError, true);
  assert.match(textOf(result), new RegExp(`^Render timed out: optimisation did not converge within the ${BUDGET_MS} ms budget`));
  assert.ok(elapsed >= BUDGET_MS, `returned before the budget (${elapsed} ms)`);
  assert.ok(elapsed < BUDGET_MS + MARGIN_MS, `took ${Math.round(elapsed)} ms`);
});

test("the server still renders after a timed-out optimisation", async () => {
  const { domain, substance, style } = EXAMPLES[0];
  const result = await client.callTool({ name: "render_diagram", arguments: { domain, substance, style } });
  assert.notEqual(result.isError, true, textOf(result));
});

test("with every worker busy, a render waits briefly and then gets a busy error", async () => {
  // Two long renders at once on one worker: one runs (and times out), the
  // other waits QUEUE_WAIT_MS for the worker and is turned away.
  const [a, b] = await Promise.all([timedRender(overfullBox(14)), timedRender(overfullBox(13))]);
  const texts = [textOf(a.result), textOf(b.result)];
  assert.equal(a.result.isError, true);
  assert.equal(b.result.isError, true);
  const busy = [a, b].find((r) => textOf(r.result).startsWith("Server busy:"));
  assert.ok(busy, `one call should be refused as busy: ${JSON.stringify(texts)}`);
  assert.ok(busy.elapsed < QUEUE_WAIT_MS + MARGIN_MS, `busy answer took ${Math.round(busy.elapsed)} ms`);
  assert.ok(texts.some((t) => t.startsWith("Render timed out:")), JSON.stringify(texts));
});

test("a client that goes away cancels its render and frees the worker", async () => {
  // A server of its own, with one worker and a budget and queue wait far beyond the
  // test, so nothing but the cancellation can stop the abandoned render. 30 balls
  // take about a minute to settle on a 2-core machine (measured: 64 s); the check
  // after the abort is a validation, which needs the worker for a moment, and is
  // given 20 s. On the shared server above, a render left running costs only
  // QUEUE_WAIT_MS, which a loaded machine outlasts even when cancellation works.
  const own = await startServer({
    RENDER_TIMEOUT_MS: "600000",
    RENDER_CONCURRENCY: "1",
    RENDER_QUEUE_WAIT_MS: "600000",
  });
  const ownClient = await connectHttpClient(own.baseUrl);
  try {
    // Raw HTTP so the request can be aborted mid-render.
    const controller = new AbortController();
    const call = fetch(`${own.baseUrl}/mcp`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "render_diagram", arguments: overfullBox(30) } }),
      signal: controller.signal,
    }).then((res) => res.text());
    // Let the render reach the worker before the client goes away.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    controller.abort();
    await call.catch(() => {});
    // Had the render kept the only worker, this call would wait behind it and hit
    // the request timeout.
    const { domain, substance, style } = EXAMPLES[2];
    const result = await ownClient.callTool({ name: "validate_trio", arguments: { domain, substance, style } }, undefined, {
      timeout: 20_000,
    });
    assert.notEqual(result.isError, true, textOf(result));
  } finally {
    await ownClient.close();
    await own.stop();
  }
});

test("a render stuck where the engine cannot check the clock is stopped by terminating its worker", async () => {
  // 200 balls: compiling 19,900 pairwise constraints takes far longer than
  // budget + grace, and compile does not poll the clock.
  const { result, elapsed } = await timedRender(overfullBox(200));
  assert.equal(result.isError, true);
  assert.match(textOf(result), new RegExp(`^Render timed out: .*stopped after ${BUDGET_MS + GRACE_MS} ms`));
  assert.ok(elapsed < BUDGET_MS + GRACE_MS + MARGIN_MS, `took ${Math.round(elapsed)} ms`);
});

test("the pool replaces the terminated worker and renders again", async () => {
  const { domain, substance, style } = EXAMPLES[1];
  const deadline = Date.now() + 30_000;
  for (;;) {
    const result = await client.callTool({ name: "render_diagram", arguments: { domain, substance, style } });
    if (result.isError !== true) break;
    // The replacement worker may still be warming up.
    assert.match(textOf(result), /^Server busy:/);
    assert.ok(Date.now() < deadline, "no worker came back");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const health = await fetch(`${server.baseUrl}/health`);
  assert.equal(health.status, 200);
});
