// The HTTP surface:
//   POST /mcp                 MCP streamable HTTP, stateless
//   GET|DELETE /mcp           405 (no sessions, no server-initiated stream)
//   GET /outputs/<sha256>.svg rendered SVGs from the output cache
//   GET /health               200 once the engine self-test passed, else 503

import express from "express";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { hashFromOutputName } from "../trio.js";

// SVG can carry <script> and event handlers, and Penrose passes some Style
// strings through to the markup. Opened directly, the file is a document of
// this origin, so: no script, no fetches, sandboxed; inline style attributes
// (Penrose sets font via style="...") and data: images (its placeholder for
// unresolved Image shapes) still work.
const OUTPUT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox";

/**
 * A JSON-RPC error response without an id, as the SDK's own examples send
 * for transport-level refusals.
 * @param {import("express").Response} res
 * @param {number} status
 * @param {number} code
 * @param {string} message
 */
function rpcError(res, status, code, message) {
  res.status(status).json({ jsonrpc: "2.0", error: { code, message }, id: null });
}

/**
 * The MCP spec requires servers to validate Origin to stop DNS-rebinding
 * attacks from browsers (modelcontextprotocol.io, basic/transports,
 * "Security Warning"). Requests without Origin come from non-browser clients
 * and are allowed.
 * @param {"*" | string[]} allowed
 * @returns {import("express").RequestHandler}
 */
function originGuard(allowed) {
  return (req, res, next) => {
    const origin = req.get("origin");
    if (origin === undefined || allowed === "*" || allowed.includes(origin)) return next();
    rpcError(res, 403, -32000, `Forbidden: Origin ${origin} is not allowed (see ALLOWED_ORIGINS)`);
  };
}

/**
 * @param {object} deps
 * @param {import("../config.js").Config} deps.config
 * @param {import("../render-service.js").RenderService} deps.service
 * @param {import("../health.js").Health} deps.health
 * @param {() => import("@modelcontextprotocol/sdk/server/mcp.js").McpServer} deps.createMcpServer
 * @param {import("../logger.js").Logger} deps.logger
 * @returns {import("express").Express}
 */
export function createHttpApp({ config, service, health, createMcpServer, logger }) {
  const app = express();
  app.disable("x-powered-by");
  // Identical SVGs are identified by their hash already; skip Express's
  // per-response body hashing.
  app.set("etag", false);

  app.get("/health", (_req, res) => {
    const { ready, detail } = health.status();
    res.set("Cache-Control", "no-store");
    res.status(ready ? 200 : 503).json({ status: ready ? "ok" : "starting", detail });
  });

  app.get("/outputs/:name", (req, res) => {
    const hash = hashFromOutputName(req.params.name);
    const svg = hash === null ? undefined : service.output(hash);
    res.set("X-Content-Type-Options", "nosniff");
    if (hash === null || svg === undefined) {
      // Malformed names and unknown hashes look the same: nothing there.
      res.set("Cache-Control", "no-store");
      res.status(404).type("text/plain").send("not found\n");
      return;
    }
    res.set({
      "Content-Type": "image/svg+xml",
      "Cache-Control": "public, max-age=31536000, immutable",
      "Content-Security-Policy": OUTPUT_CSP,
      ETag: `"${hash}"`,
    });
    res.status(200).send(svg);
  });

  const mcp = express.Router();
  mcp.use(originGuard(config.allowedOrigins));
  mcp.post("/", express.json({ limit: config.maxRequestBytes }), async (req, res) => {
    // Tell nginx-style proxies not to buffer the SSE response stream.
    res.setHeader("X-Accel-Buffering", "no");
    // Stateless: a fresh server and transport for every request, so nothing
    // is shared between clients and any replica can answer any request.
    const server = createMcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      // Closing aborts in-flight tool calls (their AbortSignal), which
      // cancels a render nobody is waiting for.
      transport.close().catch(() => {});
      server.close().catch(() => {});
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (error) {
      logger.error("MCP request failed", { error });
      if (!res.headersSent) rpcError(res, 500, -32603, "Internal server error");
    }
  });
  mcp.all("/", (_req, res) => {
    res.set("Allow", "POST");
    rpcError(res, 405, -32000, "Method not allowed: this server is stateless; use POST");
  });
  app.use("/mcp", mcp);

  app.use((_req, res) => {
    res.status(404).type("text/plain").send("not found\n");
  });

  // Body-parser errors (bad JSON, too large) and anything else that escaped.
  /** @type {import("express").ErrorRequestHandler} */
  const onError = (error, req, res, _next) => {
    const status = typeof error?.status === "number" ? error.status : 500;
    if (status >= 500) logger.error("HTTP request failed", { error, path: req.path });
    if (res.headersSent) return;
    if (error?.type === "entity.too.large") {
      rpcError(res, 413, -32600, `Request body larger than ${config.maxRequestBytes} bytes`);
    } else if (error?.type === "entity.parse.failed") {
      rpcError(res, 400, -32700, "Parse error: invalid JSON");
    } else {
      rpcError(res, status, status >= 500 ? -32603 : -32600, status >= 500 ? "Internal server error" : String(error.message));
    }
  };
  app.use(onError);

  return app;
}
