// Pure modules: configuration, content addressing and limits, output cache.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";
import { OutputCache } from "../src/output-cache.js";
import { DEFAULT_VARIATION, MAX_VARIATION_LENGTH, checkTrioLimits, hashFromOutputName, trioHash } from "../src/trio.js";

describe("config", () => {
  test("defaults: HTTP on 0.0.0.0:8080, 64 KiB programs, relative URLs, no browser origins", () => {
    const config = loadConfig({}, []);
    assert.equal(config.transport, "http");
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.port, 8080);
    assert.equal(config.maxProgramBytes, 65536);
    assert.equal(config.publicBaseUrl, null);
    assert.deepEqual(config.allowedOrigins, []);
    assert.ok(config.maxRequestBytes > 3 * config.maxProgramBytes);
  });

  test("PORT wins over MCP_PORT, which wins over FASTMCP_PORT", () => {
    assert.equal(loadConfig({ PORT: "9000", MCP_PORT: "9001", FASTMCP_PORT: "9002" }, []).port, 9000);
    assert.equal(loadConfig({ MCP_PORT: "9001", FASTMCP_PORT: "9002" }, []).port, 9001);
    assert.equal(loadConfig({ FASTMCP_PORT: "9002" }, []).port, 9002);
    assert.equal(loadConfig({ PORT: "" , MCP_PORT: "9001" }, []).port, 9001);
  });

  test("stdio is chosen by --stdio or MCP_TRANSPORT=stdio; ToolHive's streamable-http means HTTP", () => {
    assert.equal(loadConfig({}, ["--stdio"]).transport, "stdio");
    assert.equal(loadConfig({ MCP_TRANSPORT: "stdio" }, []).transport, "stdio");
    assert.equal(loadConfig({ MCP_TRANSPORT: "streamable-http" }, []).transport, "http");
    assert.equal(loadConfig({ MCP_TRANSPORT: "streamable-http" }, ["--stdio"]).transport, "stdio");
    assert.throws(() => loadConfig({ MCP_TRANSPORT: "sse" }, []), ConfigError);
  });

  test("bad numbers are refused with the variable's name", () => {
    assert.throws(() => loadConfig({ PORT: "http" }, []), /PORT must be a whole number/);
    assert.throws(() => loadConfig({ RENDER_TIMEOUT_MS: "-5" }, []), /RENDER_TIMEOUT_MS/);
    assert.throws(() => loadConfig({ RENDER_CONCURRENCY: "0" }, []), /RENDER_CONCURRENCY must be between 1/);
    assert.throws(() => loadConfig({ PORT: "70000" }, []), /PORT must be between 0 and 65535/);
  });

  test("workers are recycled below their heap cap: WORKER_RECYCLE_HEAP_MB defaults to 3/4 of WORKER_MAX_HEAP_MB", () => {
    assert.equal(loadConfig({}, []).workerRecycleHeapMb, 288);
    assert.equal(loadConfig({ WORKER_MAX_HEAP_MB: "512" }, []).workerRecycleHeapMb, 384);
    assert.equal(loadConfig({ WORKER_RECYCLE_HEAP_MB: "200" }, []).workerRecycleHeapMb, 200);
    assert.throws(() => loadConfig({ WORKER_RECYCLE_HEAP_MB: "384" }, []), /WORKER_RECYCLE_HEAP_MB must be between 32 and 383/);
  });

  test("PUBLIC_BASE_URL loses its trailing slash and must be absolute http(s)", () => {
    assert.equal(loadConfig({ PUBLIC_BASE_URL: "https://finetunings.ai/penrose/" }, []).publicBaseUrl, "https://finetunings.ai/penrose");
    assert.throws(() => loadConfig({ PUBLIC_BASE_URL: "/penrose" }, []), /PUBLIC_BASE_URL/);
    assert.throws(() => loadConfig({ PUBLIC_BASE_URL: "ftp://x.example" }, []), /PUBLIC_BASE_URL/);
  });

  test("ALLOWED_ORIGINS takes exact origins or *", () => {
    assert.deepEqual(loadConfig({ ALLOWED_ORIGINS: "https://a.example, http://localhost:3000" }, []).allowedOrigins, [
      "https://a.example",
      "http://localhost:3000",
    ]);
    assert.equal(loadConfig({ ALLOWED_ORIGINS: "*" }, []).allowedOrigins, "*");
    assert.throws(() => loadConfig({ ALLOWED_ORIGINS: "https://a.example/path" }, []), /not an origin/);
  });
});

describe("trio addressing and limits", () => {
  const trio = { domain: "type Set\n", substance: "Set A\n", style: "", variation: DEFAULT_VARIATION };

  test("the hash is the sha256 hex of the JSON-framed fields", async () => {
    const { createHash } = await import("node:crypto");
    const expected = createHash("sha256")
      .update(JSON.stringify([trio.domain, trio.substance, trio.style, trio.variation]))
      .digest("hex");
    assert.equal(trioHash(trio), expected);
    assert.match(trioHash(trio), /^[0-9a-f]{64}$/);
  });

  test("moving text between fields changes the hash; every field counts", () => {
    const base = trioHash({ domain: "ab", substance: "c", style: "", variation: "" });
    assert.notEqual(trioHash({ domain: "a", substance: "bc", style: "", variation: "" }), base);
    for (const field of /** @type {const} */ (["domain", "substance", "style", "variation"])) {
      assert.notEqual(trioHash({ ...trio, [field]: `${trio[field]} ` }), trioHash(trio), field);
    }
  });

  test("programs are limited in UTF-8 bytes, the variation in length", () => {
    assert.equal(checkTrioLimits(trio, 1024), null);
    // 400 characters but 1200 bytes.
    const wide = { ...trio, style: "€".repeat(400) };
    assert.match(checkTrioLimits(wide, 1024) ?? "", /style program is 1200 bytes; the limit is 1024/);
    assert.match(checkTrioLimits({ ...trio, variation: "v".repeat(MAX_VARIATION_LENGTH + 1) }, 1024) ?? "", /variation/);
  });

  test("output names are exactly 64 lowercase hex digits + .svg", () => {
    const hash = "a".repeat(64);
    assert.equal(hashFromOutputName(`${hash}.svg`), hash);
    for (const bad of [`${hash}.SVG`, `${hash}.svg.png`, `../${hash}.svg`, `${"A".repeat(64)}.svg`, `${hash.slice(1)}.svg`, "x.svg"]) {
      assert.equal(hashFromOutputName(bad), null, bad);
    }
  });
});

describe("output cache", () => {
  const bytes = (/** @type {number} */ n) => Buffer.alloc(n, 0x61);

  test("evicts the least recently used entry beyond the entry bound", () => {
    const cache = new OutputCache({ maxEntries: 2, maxBytes: 1_000 });
    cache.set("a", bytes(1), 1);
    cache.set("b", bytes(1), 2);
    assert.equal(cache.get("a")?.meta, 1); // a is now more recent than b
    cache.set("c", bytes(1), 3);
    assert.equal(cache.get("b"), undefined);
    assert.equal(cache.get("a")?.meta, 1);
    assert.equal(cache.get("c")?.meta, 3);
    assert.equal(cache.stats().evictions, 1);
  });

  test("evicts as many entries as needed to stay within the byte bound", () => {
    const cache = new OutputCache({ maxEntries: 100, maxBytes: 100 });
    cache.set("a", bytes(40), null);
    cache.set("b", bytes(40), null);
    cache.set("c", bytes(90), null);
    assert.equal(cache.get("a"), undefined);
    assert.equal(cache.get("b"), undefined);
    assert.equal(cache.stats().bytes, 90);
    assert.equal(cache.stats().entries, 1);
  });

  test("an entry larger than the whole cache is not stored and evicts nothing", () => {
    const cache = new OutputCache({ maxEntries: 10, maxBytes: 100 });
    cache.set("small", bytes(10), null);
    assert.equal(cache.set("huge", bytes(101), null), false);
    assert.equal(cache.get("huge"), undefined);
    assert.ok(cache.get("small"));
  });

  test("re-setting a key replaces it without double-counting bytes", () => {
    const cache = new OutputCache({ maxEntries: 10, maxBytes: 100 });
    cache.set("a", bytes(60), 1);
    cache.set("a", bytes(60), 2);
    assert.deepEqual([cache.stats().entries, cache.stats().bytes, cache.get("a")?.meta], [1, 60, 2]);
  });
});
