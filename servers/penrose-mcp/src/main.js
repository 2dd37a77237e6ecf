#!/usr/bin/env node
// Entry point: read the configuration, start the render workers and the
// self-test, then serve MCP over streamable HTTP (default) or stdio.

import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { ConfigError, loadConfig } from "./config.js";
import { RenderPool } from "./engine/pool.js";
import { Health } from "./health.js";
import { createHttpApp } from "./http/app.js";
import { createLogger } from "./logger.js";
import { SERVER_VERSION, createMcpServer } from "./mcp/server.js";
import { OutputCache } from "./output-cache.js";
import { RenderService } from "./render-service.js";

/** @type {import("./config.js").Config} */
let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`penrose-mcp: configuration error: ${error.message}\n`);
  process.exit(2);
}

const logger = createLogger(config.logLevel);

// Rendering runs in worker threads, so a fault there cannot reach this
// thread. Anything that still escapes here is logged and the process keeps
// serving: one bad request must not take the server down for everybody.
process.on("uncaughtException", (error) => logger.error("uncaught exception", { error }));
process.on("unhandledRejection", (reason) => logger.error("unhandled rejection", { reason }));

const pool = new RenderPool({
  size: config.concurrency,
  queueWaitMs: config.queueWaitMs,
  maxQueue: config.maxQueue,
  killGraceMs: config.renderKillGraceMs,
  maxHeapMb: config.workerMaxHeapMb,
  maxJobs: config.workerMaxJobs,
  recycleHeapMb: config.workerRecycleHeapMb,
  logger,
});
pool.start();

/** @type {OutputCache<import("./render-service.js").RenderMeta>} */
const cache = new OutputCache({ maxEntries: config.cacheMaxEntries, maxBytes: config.cacheMaxBytes });
const service = new RenderService({ pool, cache, config });
const health = new Health({ pool, logger });
health.start().catch((error) => logger.error("self-test loop failed", { error }));

/**
 * Output URL for a hash. Behind the public edge PUBLIC_BASE_URL is e.g.
 * https://finetunings.ai/penrose (the edge strips /penrose); without it the
 * path is relative to wherever the client reached this server.
 * @param {string} hash
 */
const outputUrl = (hash) => `${config.publicBaseUrl ?? ""}/outputs/${hash}.svg`;

/** @type {() => Promise<void>} */
let closeTransport = async () => {};

if (config.transport === "stdio") {
  // No HTTP listener in stdio mode, so there is no output URL to give.
  const server = createMcpServer({ service, outputUrl: () => null, maxProgramBytes: config.maxProgramBytes });
  const transport = new StdioServerTransport();
  await server.connect(transport);
  closeTransport = () => server.close();
  // The client closing our stdin is the end of the session.
  process.stdin.on("end", () => void shutdown("stdin closed"));
  process.stdin.on("close", () => void shutdown("stdin closed"));
  logger.info("penrose-mcp serving MCP on stdio", { version: SERVER_VERSION });
} else {
  const app = createHttpApp({
    config,
    service,
    health,
    createMcpServer: () => createMcpServer({ service, outputUrl, maxProgramBytes: config.maxProgramBytes }),
    logger,
  });
  const httpServer = app.listen(config.port, config.host);
  await new Promise((resolve, reject) => {
    httpServer.once("listening", resolve);
    httpServer.once("error", reject);
  }).catch((error) => {
    logger.error("cannot listen", { error, host: config.host, port: config.port });
    process.exit(1);
  });
  const address = httpServer.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  closeTransport = () =>
    new Promise((resolve) => {
      httpServer.close(() => resolve());
      httpServer.closeIdleConnections();
    });
  // Tests read this line to find the port when started with PORT=0.
  logger.info("penrose-mcp listening", { version: SERVER_VERSION, host: config.host, port });
}

let shuttingDown = false;
/** @param {string} why */
async function shutdown(why) {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info("shutting down", { why });
  // Do not wait forever for a client that keeps a stream open.
  setTimeout(() => process.exit(0), 5_000).unref();
  health.stop();
  await closeTransport().catch(() => {});
  await pool.close().catch(() => {});
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
