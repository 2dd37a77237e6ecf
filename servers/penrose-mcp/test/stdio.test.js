// stdio mode, through the SDK's stdio client (which spawns the server).

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { EXAMPLES } from "../src/examples/index.js";
import { MAIN, svgOf, textOf } from "./helpers/server.js";

/**
 * @param {{ args: string[], env: Record<string, string> }} how
 * @param {(client: Client) => Promise<void>} body
 */
async function withStdioClient({ args, env }, body) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MAIN, ...args],
    // Only what the server needs; the SDK does not pass the whole parent env.
    // The server's start-up self-test render takes one worker while the other
    // may still be warming up; on a loaded machine (the test suite runs files
    // in parallel) that outlasts the 3 s default queue wait and the render
    // would be refused as "busy". These tests are about stdio, not about load
    // shedding (limits.test.js covers that), so give the queue and the render
    // room enough for a slow machine.
    env: {
      PATH: process.env.PATH ?? "",
      LOG_LEVEL: "warn",
      RENDER_QUEUE_WAIT_MS: "30000",
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
    await body(client);
  } catch (error) {
    if (error instanceof Error) error.message += `\nserver stderr:\n${stderr}`;
    throw error;
  } finally {
    await client.close();
  }
}

/** SVG of EXAMPLES[0] from the first server process, compared in the second. */
let firstProcessSvg = "";

test("--stdio answers tools/list and renders (no output URL without HTTP)", async () => {
  await withStdioClient({ args: ["--stdio"], env: {} }, async (client) => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ["get_example", "list_examples", "render_diagram", "validate_trio"]);

    const { domain, substance, style } = EXAMPLES[0];
    const result = await client.callTool({ name: "render_diagram", arguments: { domain, substance, style } });
    assert.notEqual(result.isError, true, textOf(result));
    firstProcessSvg = svgOf(result);
    assert.match(firstProcessSvg, /<circle/);
    assert.match(textOf(result), /^URL: none \(this server does not serve outputs over HTTP in stdio mode\)/m);
  });
});

test("MCP_TRANSPORT=stdio selects stdio too; another process renders the same bytes", async () => {
  // A PORT in the environment (as in a container) must not matter: stdio
  // mode starts no HTTP listener.
  await withStdioClient({ args: [], env: { MCP_TRANSPORT: "stdio", PORT: "1" } }, async (client) => {
    const { tools } = await client.listTools();
    assert.equal(tools.length, 4);
    // Output URLs are content addresses: that only holds if a render is a
    // pure function of trio + variation, across processes too.
    const { domain, substance, style } = EXAMPLES[0];
    const result = await client.callTool({ name: "render_diagram", arguments: { domain, substance, style } });
    assert.ok(firstProcessSvg, "the first stdio test did not render");
    assert.equal(svgOf(result), firstProcessSvg);
  });
});
