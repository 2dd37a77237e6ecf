// Work the engine cannot interrupt is stopped by terminating its worker
// thread at budget + grace, and the pool brings up a fresh worker.

import assert from "node:assert/strict";
import { test } from "node:test";
import { EXAMPLES } from "../src/examples/index.js";
import { serverForFile, textOf } from "./helpers/server.js";
import { overfullBox } from "./helpers/trios.js";

const BUDGET_MS = 1500;
const GRACE_MS = 1000;

const shared = serverForFile({
  RENDER_TIMEOUT_MS: String(BUDGET_MS),
  RENDER_KILL_GRACE_MS: String(GRACE_MS),
  RENDER_CONCURRENCY: "1",
});

test("a render stuck where the engine cannot check the clock is stopped by terminating its worker", async () => {
  // 200 balls: compiling 19,900 pairwise constraints takes minutes, and
  // compile does not poll the clock; only the kill can answer this soon.
  const t0 = performance.now();
  const result = await shared.client.callTool({ name: "render_diagram", arguments: overfullBox(200) });
  const elapsed = performance.now() - t0;
  assert.equal(result.isError, true);
  assert.match(textOf(result), new RegExp(`^Render timed out: .*stopped after ${BUDGET_MS + GRACE_MS} ms`));
  assert.ok(elapsed >= BUDGET_MS + GRACE_MS, `answered before the kill (${elapsed} ms)`);
});

test("the pool replaces the terminated worker and renders again", async () => {
  const { domain, substance, style } = EXAMPLES[1];
  const deadline = Date.now() + 60_000;
  for (;;) {
    const result = await shared.client.callTool({ name: "render_diagram", arguments: { domain, substance, style } });
    if (result.isError !== true) break;
    // The replacement worker may still be warming up.
    assert.match(textOf(result), /^Server busy:/);
    assert.ok(Date.now() < deadline, "no worker came back");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const health = await fetch(`${shared.server.baseUrl}/health`);
  assert.equal(health.status, 200);
});
