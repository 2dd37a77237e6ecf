// Compiles must not accumulate: @penrose/core sets MathJax up anew on every
// compile, and MathJax's global registries used to keep each set-up (and its
// jsdom document) alive, about 400 KiB per render (src/engine/mathjax-registries.js).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const LOOP = fileURLToPath(new URL("./fixtures/compile-loop.js", import.meta.url));

test("after six compiles at most the last MathJax set-up is still reachable", () => {
  const run = spawnSync(process.execPath, ["--expose-gc", LOOP, "6"], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const { created, alive } = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}");
  assert.equal(created, 6);
  assert.ok(alive <= 1, `${alive} of ${created} MathJax TeX set-ups are still reachable`);
});
