// The MCP tools. Each handler turns a service outcome into a CallToolResult;
// every failure is a tool error (isError: true) with a message the model can
// act on, never a thrown exception or a protocol error.

import { z } from "zod";
import { EXAMPLES, findExample } from "../examples/index.js";
import { DEFAULT_VARIATION, MAX_VARIATION_LENGTH } from "../trio.js";

/** @typedef {import("@modelcontextprotocol/sdk/types.js").CallToolResult} CallToolResult */

/**
 * @typedef {object} ToolDeps
 * @property {import("../render-service.js").RenderService} service
 * @property {(hash: string) => string | null} outputUrl  null when outputs are not served
 * @property {number} maxProgramBytes
 */

// All four tools only read their input and (for render_diagram) fill a
// content-addressed cache; repeating a call changes nothing, and nothing
// outside this server is touched.
const READ_ONLY = Object.freeze({
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
});

/**
 * @param {number} maxProgramBytes
 */
function trioShape(maxProgramBytes) {
  const limit = `At most ${maxProgramBytes} bytes.`;
  return {
    domain: z.string().describe(`Penrose Domain program: the types, predicates and functions of the problem. ${limit}`),
    substance: z.string().describe(`Penrose Substance program: the objects and facts to draw. ${limit}`),
    style: z.string().describe(`Penrose Style program: how each kind of object and fact is drawn (shapes, constraints, objectives). ${limit}`),
    variation: z
      .string()
      .max(MAX_VARIATION_LENGTH)
      .optional()
      .describe(`Seed for Penrose's random initial layout. The same trio and variation always give the same diagram; try another string for a different layout. Default "${DEFAULT_VARIATION}".`),
  };
}

/**
 * @param {string} text
 * @returns {CallToolResult}
 */
function toolError(text) {
  return { isError: true, content: [{ type: "text", text }] };
}

/**
 * @param {{ kind: string, message: string }} failure
 * @returns {CallToolResult}
 */
function failureResult({ kind, message }) {
  switch (kind) {
    case "penrose":
      return toolError(`Penrose error:\n${message}`);
    case "timeout":
      return toolError(`Render timed out: ${message}`);
    case "busy":
      return toolError(`Server busy: ${message}`);
    case "limit":
      return toolError(`Input rejected: ${message}`);
    case "cancelled":
      return toolError(`Cancelled: ${message}`);
    default:
      return toolError(`Render engine error: ${message}`);
  }
}

/**
 * @param {{ domain: string, substance: string, style: string, variation?: string }} args
 */
function trioFrom(args) {
  return {
    domain: args.domain,
    substance: args.substance,
    style: args.style,
    variation: args.variation ?? DEFAULT_VARIATION,
  };
}

/** @param {number} ms */
const ms = (ms) => `${Math.round(ms)} ms`;

/**
 * @param {import("@modelcontextprotocol/sdk/server/mcp.js").McpServer} server
 * @param {ToolDeps} deps
 */
export function registerTools(server, { service, outputUrl, maxProgramBytes }) {
  server.registerTool(
    "render_diagram",
    {
      title: "Render a Penrose diagram",
      description:
        "Lay out and draw a diagram from a Penrose trio (Domain, Substance, Style) with the real Penrose engine. " +
        "Returns the SVG as an image (image/svg+xml) and a summary with the shape count, canvas size, " +
        "optimisation time and a URL where the SVG is served. Penrose compile and layout errors come back " +
        "as tool errors with Penrose's own message. Use get_example for working trios to start from, and " +
        "validate_trio to check a trio quickly without laying it out.",
      inputSchema: trioShape(maxProgramBytes),
      annotations: { title: "Render a Penrose diagram", ...READ_ONLY },
    },
    async (args, extra) => {
      const trio = trioFrom(args);
      const result = await service.render(trio, { signal: extra.signal });
      if (!result.ok) return failureResult(result);
      const { meta } = result;
      const url = result.stored ? outputUrl(result.hash) : null;
      const lines = [
        `Rendered a Penrose diagram: ${meta.shapeCount} shapes on a ${meta.canvas.width}x${meta.canvas.height} canvas.`,
        `Optimisation time: ${ms(meta.optimizeMs)} (compile ${ms(meta.compileMs)}, SVG ${ms(meta.svgMs)})` +
          (result.cached ? "; served from the cache of an identical earlier render." : "."),
        `Variation: ${JSON.stringify(trio.variation)}. SVG: ${result.svg.length} bytes, sha256 of the inputs ${result.hash}.`,
        url
          ? `URL: ${url}`
          : result.stored
            ? "URL: none (this server does not serve outputs over HTTP in stdio mode)."
            : "URL: none (the SVG is larger than the output cache, so it is only returned inline).",
      ];
      if (meta.warnings.length > 0) lines.push(`Penrose warnings:\n${meta.warnings.join("\n")}`);
      return {
        content: [
          { type: "image", data: result.svg.toString("base64"), mimeType: "image/svg+xml" },
          { type: "text", text: lines.join("\n") },
        ],
      };
    },
  );

  server.registerTool(
    "validate_trio",
    {
      title: "Check a Penrose trio",
      description:
        "Parse and compile a Penrose trio (Domain, Substance, Style) without laying it out. Fast. " +
        "Returns ok with the shape count and canvas size, or a tool error carrying Penrose's error message " +
        "(with line and column). Layout problems that only show during optimisation are not detected.",
      inputSchema: trioShape(maxProgramBytes),
      annotations: { title: "Check a Penrose trio", ...READ_ONLY },
    },
    async (args, extra) => {
      const result = await service.validate(trioFrom(args), { signal: extra.signal });
      if (!result.ok) return failureResult(result);
      const lines = [
        `ok: the trio parses and compiles (${result.shapeCount} shapes on a ${result.canvas.width}x${result.canvas.height} canvas).`,
      ];
      if (result.warnings.length > 0) lines.push(`Penrose warnings:\n${result.warnings.join("\n")}`);
      return { content: [{ type: "text", text: lines.join("\n") }] };
    },
  );

  server.registerTool(
    "list_examples",
    {
      title: "List example trios",
      description:
        "List the bundled example Penrose trios (id, title, description) as JSON. " +
        "Fetch one with get_example and render it, or adapt it, with render_diagram.",
      annotations: { title: "List example trios", ...READ_ONLY },
    },
    async () => {
      const list = EXAMPLES.map(({ id, title, description }) => ({ id, title, description }));
      return { content: [{ type: "text", text: JSON.stringify(list, null, 2) }] };
    },
  );

  const ids = /** @type {[string, ...string[]]} */ (EXAMPLES.map((e) => e.id));
  server.registerTool(
    "get_example",
    {
      title: "Get an example trio",
      description:
        "Return one bundled example as JSON: id, title, description and the domain, substance and style " +
        "programs, ready to pass to render_diagram.",
      inputSchema: { id: z.enum(ids).describe("Example id, as listed by list_examples.") },
      annotations: { title: "Get an example trio", ...READ_ONLY },
    },
    async ({ id }) => {
      const example = findExample(id);
      if (!example) return toolError(`Unknown example ${JSON.stringify(id)}; known: ${ids.join(", ")}`);
      return { content: [{ type: "text", text: JSON.stringify(example, null, 2) }] };
    },
  );
}
