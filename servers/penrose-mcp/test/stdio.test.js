// stdio mode, through the SDK's stdio client (which spawns the server).

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { EXAMPLES } from "../src/examples/index.js";
import { MAIN, svgOf, textOf } from "./helpers/server.js";

/**
 * @template T
 * @param {{ args: string[], env: Record<string, string> }} how
 * @param {(client: Client) => Promise<T>} body
 * @returns {Promise<T>}
 */
async function withStdioClient({ args, env }, body) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MAIN, ...args],
    // Only what the server needs; the SDK does not pass the whole parent env.
    // One worker, which the start-up self-test render occupies for a moment; on
    // a loaded machine (the suite runs its files in parallel) that outlasts the
    // 3 s default queue wait and the render would be refused as "busy". These
    // tests are about stdio, not about load shedding (limits.test.js covers
    // that), so give the queue and the render room enough for a slow machine.
    env: {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: "warn",
      RENDER_QUEUE_WAIT_MS: "30000",
      RENDER_CONCURRENCY: "1",
      RENDER_TIMEOUT_MS: "60000",
      ...env,
    },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const client = new Client({ name: "penrose-mcp-stdio-test", version: "0.0.0" });
  await client.connect(transport);
  try {
    return await body(client);
  } catch (error) {
    if (error instanceof Error) error.message += `\nserver stderr:\n${stderr}`;
    throw error;
  } finally {
    await client.close();
  }
}

/**
 * Render EXAMPLES[0] through a stdio client; returns the SVG.
 * @param {Client} client
 */
async function renderFirstExample(client) {
  const { domain, substance, style } = EXAMPLES[0];
  // stdio has no /health to wait on: while the worker is still starting (up to
  // the pool's 30 s, which the whole suite starting at once on a small machine
  // can outlast) the call is answered "unavailable"; ask again, as a client would.
  const deadline = Date.now() + 120_000;
  let result = await client.callTool({ name: "render_diagram", arguments: { domain, substance, style } });
  while (result.isError && /no render worker became ready/.test(textOf(result)) && Date.now() < deadline) {
    result = await client.callTool({ name: "render_diagram", arguments: { domain, substance, style } });
  }
  assert.notEqual(result.isError, true, textOf(result));
  assert.match(textOf(result), /^URL: none \(this server does not serve outputs over HTTP in stdio mode\)/m);
  return svgOf(result);
}

test("--stdio and MCP_TRANSPORT=stdio both serve stdio; the two processes render the same bytes", async () => {
  // Two server processes at once (the second with a PORT in its environment,
  // as in a container: stdio mode must start no HTTP listener).
  const [viaFlag, viaEnv] = await Promise.all([
    withStdioClient({ args: ["--stdio"], env: {} }, async (client) => {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), ["get_example", "list_examples", "render_diagram", "validate_trio"]);
      return renderFirstExample(client);
    }),
    withStdioClient({ args: [], env: { MCP_TRANSPORT: "stdio", PORT: "1" } }, async (client) => {
      assert.equal((await client.listTools()).tools.length, 4);
      return renderFirstExample(client);
    }),
  ]);
  assert.match(viaFlag, /<circle/);
  // Output URLs are content addresses: that only holds if a render is a pure
  // function of trio + variation, across processes too.
  assert.equal(viaEnv, viaFlag);
});
