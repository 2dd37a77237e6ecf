// /health follows the engine self-test: 503 until a self-test render has
// passed through the pool, 200 after. A stub pool controls the outcome.

import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { loadConfig } from "../src/config.js";
import { Health } from "../src/health.js";
import { createHttpApp } from "../src/http/app.js";

const silent = { debug() {}, info() {}, warn() {}, error() {} };

test("/health is 503 while the self-test has not passed, 200 once it has", async (t) => {
  /** @type {Array<(result: object) => void>} */
  const pending = [];
  const pool = { run: () => new Promise((resolve) => pending.push(resolve)) };
  const health = new Health({ pool, logger: silent, retryMs: 10 });
  const app = createHttpApp({
    config: loadConfig({}, []),
    service: /** @type {any} */ ({ output: () => undefined }),
    health,
    createMcpServer: /** @type {any} */ (() => {
      throw new Error("not used");
    }),
    logger: silent,
  });
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => {
    health.stop();
    server.close();
  });
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  const get = () => fetch(`http://127.0.0.1:${address.port}/health`);

  const running = health.start();
  const before = await get();
  assert.equal(before.status, 503);
  assert.equal((await before.json()).status, "starting");

  // A failed self-test (e.g. no font) keeps it at 503 and is retried.
  /** @type {(result: object) => void} */ (pending.shift())({ ok: true, svg: '<svg><circle/><text width="0">x</text></svg>' });
  while (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const failing = await get();
  assert.equal(failing.status, 503);
  assert.match((await failing.json()).detail, /no usable font/);

  /** @type {(result: object) => void} */ (pending.shift())({ ok: true, svg: '<svg><circle/><text width="31.5">x</text></svg>' });
  await running;
  const after = await get();
  assert.equal(after.status, 200);
  assert.equal(after.headers.get("cache-control"), "no-store");
  assert.deepEqual(await after.json(), { status: "ok", detail: "ok" });
});
