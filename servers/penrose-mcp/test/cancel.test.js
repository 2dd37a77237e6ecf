// A client that goes away cancels its render and frees the worker.

import assert from "node:assert/strict";
import { test } from "node:test";
import { EXAMPLES } from "../src/examples/index.js";
import { connectHttpClient, startServer, textOf } from "./helpers/server.js";
import { overfullBox } from "./helpers/trios.js";

test("a client that goes away cancels its render and frees the worker", async () => {
  // One worker, and a budget and queue wait far beyond the test, so nothing but
  // the cancellation can stop the abandoned render: 30 balls take about a minute
  // to settle on an idle 2-core machine, longer on a loaded one. Cancelled, the
  // worker is free once the compile ends (it checks the flag between optimiser
  // steps): seconds. The validation after the abort needs that worker and is
  // given 30 s, between the two.
  const server = await startServer({
    RENDER_TIMEOUT_MS: "600000",
    RENDER_CONCURRENCY: "1",
    RENDER_QUEUE_WAIT_MS: "600000",
  });
  const client = await connectHttpClient(server.baseUrl);
  try {
    // Raw HTTP so the request can be aborted mid-render.
    const controller = new AbortController();
    const call = fetch(`${server.baseUrl}/mcp`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "render_diagram", arguments: overfullBox(30) } }),
      signal: controller.signal,
    }).then((res) => res.text());
    // Let the render reach the worker before the client goes away (a render
    // still queued is cancelled too, through the other path).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    controller.abort();
    await call.catch(() => {});
    const { domain, substance, style } = EXAMPLES[2];
    const result = await client.callTool({ name: "validate_trio", arguments: { domain, substance, style } }, undefined, {
      timeout: 30_000,
    });
    assert.notEqual(result.isError, true, textOf(result));
  } finally {
    await client.close();
    await server.stop();
  }
});
