// Start the real server as a child process and talk to it like a client.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

export const MAIN = fileURLToPath(new URL("../../src/main.js", import.meta.url));

/**
 * @typedef {object} RunningServer
 * @property {string} baseUrl  e.g. http://127.0.0.1:40123
 * @property {import("node:child_process").ChildProcess} child
 * @property {string[]} logLines  everything the server wrote to stderr
 * @property {() => Promise<void>} stop
 */

// How long a server may take to listen and pass its engine self-test. The
// suite runs its files in parallel, so on a small loaded machine several
// servers warm up their render workers at once (measured: four servers on
// two busy cores, about 20 s each).
const STARTUP_LIMIT_MS = 120_000;

/**
 * Start `node src/main.js` on a free loopback port (PORT=0; the port is read
 * from the "listening" log line) and wait until /health says ready. A server
 * that fails to get there is killed, and the error carries its log.
 * @param {Record<string, string>} [env]  extra environment
 * @returns {Promise<RunningServer>}
 */
export async function startServer(env = {}) {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", MCP_TRANSPORT: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  /** @type {string[]} */
  const logLines = [];
  let buffered = "";
  /** @type {(port: number) => void} */
  let gotPort = () => {};
  const portKnown = new Promise((resolve) => {
    gotPort = resolve;
  });
  child.stdout.resume();
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      logLines.push(line);
      try {
        const record = JSON.parse(line);
        if (record.msg === "penrose-mcp listening") gotPort(record.port);
      } catch {
        // not one of our JSON lines (e.g. a worker's console output)
      }
    }
  });
  const exited = once(child, "exit");
  const earlyExit = exited.then(([code]) => {
    throw new Error(`server exited early with code ${code}`);
  });
  earlyExit.catch(() => {}); // observed through the races below only while starting

  async function stop() {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 8_000);
    await exited;
    clearTimeout(timer);
  }

  const deadline = Date.now() + STARTUP_LIMIT_MS;
  try {
    const port = await Promise.race([portKnown, earlyExit, timeout(STARTUP_LIMIT_MS, "server did not start listening")]);
    const baseUrl = `http://127.0.0.1:${port}`;
    await Promise.race([waitHealthy(baseUrl, deadline - Date.now()), earlyExit]);
    return { baseUrl, child, logLines, stop };
  } catch (error) {
    await stop();
    if (error instanceof Error) error.message += `\nserver log:\n${logLines.join("\n")}`;
    throw error;
  }
}

/**
 * @param {string} baseUrl
 * @param {number} [limitMs]
 */
async function waitHealthy(baseUrl, limitMs = STARTUP_LIMIT_MS) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    try {
      const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not accepting connections yet, or too slow to answer this time
    }
    if (Date.now() > deadline) throw new Error(`${baseUrl}/health never returned 200`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * @param {number} ms
 * @param {string} message
 * @returns {Promise<never>}
 */
function timeout(ms, message) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}

/**
 * One server (and a client connected to it) for all the tests of a file:
 * started before the first, stopped after the last. The fields are set once
 * the `before` hook has run.
 * @param {Record<string, string>} env  extra environment for the server
 * @returns {{ server: RunningServer, client: Client }}
 */
export function serverForFile(env) {
  const shared = /** @type {{ server: RunningServer, client: Client }} */ ({});
  before(async () => {
    shared.server = await startServer(env);
    shared.client = await connectHttpClient(shared.server.baseUrl);
  });
  after(async () => {
    await shared.client?.close();
    await shared.server?.stop();
  });
  return shared;
}

/**
 * An MCP client connected over streamable HTTP.
 * @param {string} baseUrl
 * @returns {Promise<Client>}
 */
export async function connectHttpClient(baseUrl) {
  const client = new Client({ name: "penrose-mcp-tests", version: "0.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", baseUrl)));
  return client;
}

/**
 * The SVG carried by a render_diagram result, decoded.
 * @param {any} result
 * @returns {string}
 */
export function svgOf(result) {
  const image = result.content.find((/** @type {any} */ c) => c.type === "image");
  if (!image) throw new Error(`no image content in ${JSON.stringify(result).slice(0, 500)}`);
  return Buffer.from(image.data, "base64").toString("utf8");
}

/**
 * The text blocks of a tool result, joined.
 * @param {any} result
 * @returns {string}
 */
export function textOf(result) {
  return result.content
    .filter((/** @type {any} */ c) => c.type === "text")
    .map((/** @type {any} */ c) => c.text)
    .join("\n");
}

/**
 * The "URL: ..." line of a render_diagram summary.
 * @param {any} result
 * @returns {string}
 */
export function urlOf(result) {
  const match = /^URL: (\S+)$/m.exec(textOf(result));
  if (!match) throw new Error(`no URL in summary:\n${textOf(result)}`);
  return match[1];
}

/**
 * Count drawn SVG elements (not the <svg> root, metadata or <title>s).
 * @param {string} svg
 * @returns {number}
 */
export function drawnElementCount(svg) {
  return (svg.match(/<(circle|ellipse|path|line|polygon|polyline|rect|text)[\s>]/g) ?? []).length;
}
