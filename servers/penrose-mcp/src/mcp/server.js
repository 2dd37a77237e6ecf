// Builds one MCP server instance. HTTP mode builds one per request
// (stateless); stdio mode builds one for the process.

import { readFileSync } from "node:fs";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { registerTools } from "./tools.js";

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));

export const SERVER_NAME = "penrose-mcp";
export const SERVER_VERSION = /** @type {string} */ (version);

const INSTRUCTIONS = `Draws mathematical diagrams with Penrose (https://penrose.cs.cmu.edu).
A diagram is a trio of programs: Domain (types and predicates), Substance (the objects and facts)
and Style (how to draw them: shapes, constraints, objectives). Start from list_examples/get_example,
check edits with validate_trio, then render_diagram, which returns the SVG and a URL to it.`;

/**
 * @param {import("./tools.js").ToolDeps} deps
 * @returns {McpServer}
 */
export function createMcpServer(deps) {
  const server = new McpServer({ name: SERVER_NAME, version: SERVER_VERSION }, { instructions: INSTRUCTIONS });
  registerTools(server, deps);
  return server;
}
