// End to end over real HTTP: the server runs as a child process and is
// driven with the MCP TypeScript SDK client, as a deployed client would.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { EXAMPLES } from "../src/examples/index.js";
import { connectHttpClient, drawnElementCount, startServer, svgOf, textOf, urlOf } from "./helpers/server.js";

const PUBLIC_BASE_URL = "https://diagrams.example.test/penrose";
const MAX_PROGRAM_BYTES = 4096;

// Elements each bundled example must contain, beyond "something was drawn".
const EXPECTED_ELEMENTS = {
  venn: { "<circle": 4, "<text": 4 },
  "directed-graph": { "<circle": 5, "<line": 6, "<text": 5 },
  vectors: { "<line": 5, "<polyline": 1, "<path": 3 },
  triangle: { "<polygon": 1, "<circle": 4, "<text": 3 },
  "function-map": { "<ellipse": 2, "<circle": 6, "<line": 4 },
};

/** @type {import("./helpers/server.js").RunningServer} */
let server;
/** @type {Client} */
let client;

before(async () => {
  server = await startServer({
    PUBLIC_BASE_URL,
    MAX_PROGRAM_BYTES: String(MAX_PROGRAM_BYTES),
    ALLOWED_ORIGINS: "https://allowed.example.test",
    // The suite runs its files in parallel: on a loaded machine a render may
    // outlast the default budget. Budgets and load shedding are limits.test.js's
    // subject, not this file's. One worker: the calls here come one at a time.
    RENDER_TIMEOUT_MS: "60000",
    RENDER_QUEUE_WAIT_MS: "30000",
    RENDER_CONCURRENCY: "1",
  });
  client = await connectHttpClient(server.baseUrl);
});

after(async () => {
  await client?.close();
  await server?.stop();
});

/**
 * Where the public URL would be served from behind the edge, this test's
 * server answers directly: map it back.
 * @param {string} url
 */
function localUrl(url) {
  assert.ok(url.startsWith(`${PUBLIC_BASE_URL}/outputs/`), url);
  return `${server.baseUrl}${url.slice(PUBLIC_BASE_URL.length)}`;
}

describe("HTTP endpoints", () => {
  test("/health is 200 once the engine self-test passed", async () => {
    const res = await fetch(`${server.baseUrl}/health`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).status, "ok");
  });

  test("GET and DELETE /mcp answer 405 (stateless server)", async () => {
    for (const method of ["GET", "DELETE"]) {
      const res = await fetch(`${server.baseUrl}/mcp`, { method, headers: { Accept: "text/event-stream" } });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get("allow"), "POST");
    }
  });

  test("POST /mcp sends X-Accel-Buffering: no", async () => {
    const res = await fetch(`${server.baseUrl}/mcp`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
      }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-accel-buffering"), "no");
    assert.equal(res.headers.get("mcp-session-id"), null, "stateless: no session id");
    await res.text();
  });

  test("a request with a foreign Origin is refused, an allowed Origin is served", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} });
    const headers = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
    const evil = await fetch(`${server.baseUrl}/mcp`, {
      method: "POST",
      headers: { ...headers, Origin: "https://evil.example.test" },
      body,
    });
    assert.equal(evil.status, 403);
    const good = await fetch(`${server.baseUrl}/mcp`, {
      method: "POST",
      headers: { ...headers, Origin: "https://allowed.example.test" },
      body,
    });
    assert.equal(good.status, 200);
    await good.text();
  });

  test("unknown and malformed output names are 404", async () => {
    const unknown = await fetch(`${server.baseUrl}/outputs/${"0".repeat(64)}.svg`);
    assert.equal(unknown.status, 404);
    for (const name of ["nothex.svg", `${"a".repeat(63)}.svg`, `${"a".repeat(64)}.png`, `${"A".repeat(64)}.svg`, "..%2Fpackage.json"]) {
      const res = await fetch(`${server.baseUrl}/outputs/${name}`);
      assert.equal(res.status, 404, name);
    }
  });
});

describe("MCP tools", () => {
  test("tools/list offers the four tools, each described and annotated read-only", async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    assert.deepEqual([...byName.keys()].sort(), ["get_example", "list_examples", "render_diagram", "validate_trio"]);
    for (const tool of tools) {
      assert.ok(tool.description && tool.description.length > 40, `${tool.name} description`);
      assert.equal(tool.annotations?.readOnlyHint, true, `${tool.name} readOnlyHint`);
      assert.equal(tool.annotations?.destructiveHint, false, `${tool.name} destructiveHint`);
      assert.equal(tool.annotations?.openWorldHint, false, `${tool.name} openWorldHint`);
    }
    const render = /** @type {any} */ (byName.get("render_diagram")).inputSchema;
    assert.deepEqual([...render.required].sort(), ["domain", "style", "substance"]);
    assert.ok(render.properties.variation);
  });

  test("list_examples lists every bundled example", async () => {
    const result = await client.callTool({ name: "list_examples", arguments: {} });
    assert.notEqual(result.isError, true);
    const list = JSON.parse(textOf(result));
    assert.deepEqual(list.map((/** @type {any} */ e) => e.id), EXAMPLES.map((e) => e.id));
    assert.equal(list.length, 5);
  });

  test("get_example returns the trio; an unknown id is a tool error", async () => {
    const result = await client.callTool({ name: "get_example", arguments: { id: "triangle" } });
    assert.notEqual(result.isError, true);
    const example = JSON.parse(textOf(result));
    const bundled = EXAMPLES.find((e) => e.id === "triangle");
    assert.equal(example.domain, bundled?.domain);
    assert.equal(example.substance, bundled?.substance);
    assert.equal(example.style, bundled?.style);

    const unknown = await client.callTool({ name: "get_example", arguments: { id: "no-such-example" } });
    assert.equal(unknown.isError, true);
  });

  for (const example of EXAMPLES) {
    test(`example "${example.id}" renders to an SVG with drawn shapes, served byte-identical at its URL`, async () => {
      const { domain, substance, style } = example;
      const result = await client.callTool({ name: "render_diagram", arguments: { domain, substance, style } });
      assert.notEqual(result.isError, true, textOf(result));

      const image = /** @type {any} */ (result.content).find((/** @type {any} */ c) => c.type === "image");
      assert.equal(image.mimeType, "image/svg+xml");
      const svg = svgOf(result);
      assert.match(svg, /^<svg[\s>]/);
      assert.match(svg, /<\/svg>$/);
      const summary = textOf(result);
      const shapeCount = Number(/(\d+) shapes on a \d+x\d+ canvas/.exec(summary)?.[1]);
      assert.ok(shapeCount > 0, summary);
      assert.ok(drawnElementCount(svg) >= shapeCount, `drawn elements < ${shapeCount} shapes`);
      for (const [tag, min] of Object.entries(EXPECTED_ELEMENTS[/** @type {keyof typeof EXPECTED_ELEMENTS} */ (example.id)])) {
        const found = svg.split(tag).length - 1;
        assert.ok(found >= min, `${example.id}: expected at least ${min} ${tag}, found ${found}`);
      }
      assert.match(summary, /Optimisation time: \d+ ms/);

      const url = urlOf(result);
      assert.match(url, /^https:\/\/diagrams\.example\.test\/penrose\/outputs\/[0-9a-f]{64}\.svg$/);
      const res = await fetch(localUrl(url));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "image/svg+xml");
      assert.equal(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
      assert.match(res.headers.get("content-security-policy") ?? "", /sandbox/);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(svg, "utf8")), "served bytes differ");
    });
  }

  test("the same trio and variation give the same bytes and URL; another variation another URL", async () => {
    const { domain, substance, style } = EXAMPLES[0];
    const first = await client.callTool({ name: "render_diagram", arguments: { domain, substance, style, variation: "v-1" } });
    const again = await client.callTool({ name: "render_diagram", arguments: { domain, substance, style, variation: "v-1" } });
    const other = await client.callTool({ name: "render_diagram", arguments: { domain, substance, style, variation: "v-2" } });
    assert.equal(svgOf(first), svgOf(again));
    assert.equal(urlOf(first), urlOf(again));
    assert.match(textOf(again), /served from the cache/);
    assert.notEqual(urlOf(first), urlOf(other));
  });

  test("a broken Style is a tool error carrying Penrose's message", async () => {
    const { domain, substance } = EXAMPLES.find((e) => e.id === "venn") ?? EXAMPLES[0];
    const style = "canvas {\n  width = 100\n  height = 100\n}\nforall Set X {\n  X.icon = Circle { r : 10 }\n  ensure notAConstraint(X.icon)\n}\n";
    const result = await client.callTool({ name: "render_diagram", arguments: { domain, substance, style } });
    assert.equal(result.isError, true);
    const text = textOf(result);
    assert.match(text, /^Penrose error:/);
    // Penrose's own wording, naming the unknown constraint.
    assert.match(text, /invalid constraint name 'notAConstraint'/);
  });

  test("a Substance error comes back with Penrose's location", async () => {
    const result = await client.callTool({
      name: "render_diagram",
      arguments: { domain: "type Set\n", substance: "Set A\nFoo(A)\n", style: "" },
    });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /Foo \(at line 2, column 1 of Substance program\) does not exist/);
  });

  test("a Style syntax error is a tool error from both validate_trio and render_diagram", async () => {
    const trio = { domain: "type Set\n", substance: "Set A\n", style: "forall Set X {\n  X.icon = Circle {\n" };
    for (const name of ["validate_trio", "render_diagram"]) {
      const result = await client.callTool({ name, arguments: trio });
      assert.equal(result.isError, true, name);
      assert.match(textOf(result), /^Penrose error:\nUnexpected end of input/, name);
    }
  });

  test("validate_trio accepts a good trio without rendering it", async () => {
    const { domain, substance, style } = EXAMPLES.find((e) => e.id === "directed-graph") ?? EXAMPLES[0];
    const result = await client.callTool({ name: "validate_trio", arguments: { domain, substance, style } });
    assert.notEqual(result.isError, true, textOf(result));
    assert.match(textOf(result), /^ok: the trio parses and compiles \(\d+ shapes on a 480x360 canvas\)/);
    assert.equal(/** @type {unknown[]} */ (result.content).length, 1, "no image from validate_trio");
  });

  test("an oversize program is rejected with the limit in the message", async () => {
    const substance = `Set A\n-- ${"x".repeat(MAX_PROGRAM_BYTES)}\n`;
    for (const name of ["render_diagram", "validate_trio"]) {
      const result = await client.callTool({ name, arguments: { domain: "type Set\n", substance, style: "" } });
      assert.equal(result.isError, true, name);
      assert.match(textOf(result), new RegExp(`substance program is \\d+ bytes; the limit is ${MAX_PROGRAM_BYTES}`));
    }
  });

  test("a request body beyond the HTTP limit is refused with 413", async () => {
    const huge = "x".repeat(3 * 6 * MAX_PROGRAM_BYTES + 128 * 1024);
    const res = await fetch(`${server.baseUrl}/mcp`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "validate_trio", arguments: { domain: huge, substance: "", style: "" } } }),
    });
    assert.equal(res.status, 413);
    await res.text();
  });
});

describe("a client that knows only the MCP protocol", () => {
  test("renders a trio it wrote itself and fetches the SVG from the returned URL", async () => {
    // A fresh client that has never seen the examples: it writes its own
    // Domain/Substance/Style (a chain of three boxes), discovers the tool
    // from tools/list, and follows the URL in the result.
    const fresh = new Client({ name: "protocol-only-client", version: "1.0.0" });
    await fresh.connect(new StreamableHTTPClientTransport(new URL("/mcp", server.baseUrl)));
    try {
      const { tools } = await fresh.listTools();
      assert.ok(tools.some((t) => t.name === "render_diagram"));

      const domain = "type Box\npredicate Next(Box a, Box b)\n";
      const substance = "Box first, second, third\nNext(first, second)\nNext(second, third)\nAutoLabel All\n";
      const style = `canvas {
  width = 360
  height = 120
}
forall Box b {
  b.shape = Rectangle {
    width : 70
    height : 40
    fillColor : #ffe8a3
    strokeColor : #444444
    strokeWidth : 1
  }
  b.text = Text {
    string : b.label
    center : b.shape.center
  }
  b.text above b.shape
}
forall Box a; Box b
where Next(a, b) {
  ensure lessThan(a.shape.center[0] + 100, b.shape.center[0])
  ensure equal(a.shape.center[1], b.shape.center[1])
}
`;
      const result = await fresh.callTool({ name: "render_diagram", arguments: { domain, substance, style, variation: "mine" } });
      assert.notEqual(result.isError, true, textOf(result));
      const svg = svgOf(result);
      assert.equal(svg.split("<rect").length - 1, 3);
      assert.match(svg, />second</);

      const res = await fetch(localUrl(urlOf(result)));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "image/svg+xml");
      assert.equal(await res.text(), svg);
    } finally {
      await fresh.close();
    }
  });
});
