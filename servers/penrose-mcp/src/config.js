// Runtime configuration from the environment and argv. Every knob has a
// default; an invalid value stops start-up with a message naming the variable,
// rather than running with a surprise.

/** @typedef {"debug" | "info" | "warn" | "error"} LogLevel */

/**
 * @typedef {object} Config
 * @property {"http" | "stdio"} transport
 * @property {string} host
 * @property {number} port
 * @property {string | null} publicBaseUrl  absolute base for output URLs, no trailing slash
 * @property {"*" | string[]} allowedOrigins  browser Origins allowed on /mcp
 * @property {number} maxProgramBytes  per Domain/Substance/Style program, UTF-8 bytes
 * @property {number} maxRequestBytes  JSON body limit on POST /mcp
 * @property {number} renderTimeoutMs  wall-clock budget for one render or validation
 * @property {number} renderKillGraceMs  extra time before the worker is terminated
 * @property {number} concurrency  renders at once (= render worker threads)
 * @property {number} queueWaitMs  how long a render waits for a free worker
 * @property {number} maxQueue  renders allowed to wait at once
 * @property {number} workerMaxHeapMb  V8 old-generation cap per worker
 * @property {number} workerMaxJobs  jobs before a worker is replaced
 * @property {number} workerRecycleHeapMb  heap in use after a job at which the worker is replaced
 * @property {number} cacheMaxEntries
 * @property {number} cacheMaxBytes
 * @property {LogLevel} logLevel
 */

export class ConfigError extends Error {}

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {string} name
 * @param {number} fallback
 * @param {{ min: number, max?: number }} bounds
 * @returns {number}
 */
function intFrom(env, name, fallback, { min, max = Number.MAX_SAFE_INTEGER }) {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/**
 * The listening port. ToolHive's operator injects MCP_PORT (and FASTMCP_PORT)
 * for streamable-http servers, while plain Kubernetes manifests and the
 * Dockerfile use PORT; PORT wins when both are set.
 * @param {NodeJS.ProcessEnv} env
 * @returns {number}
 */
function portFrom(env) {
  for (const name of ["PORT", "MCP_PORT", "FASTMCP_PORT"]) {
    if (env[name] !== undefined && env[name].trim() !== "") {
      // 0 asks the OS for a free port (used by the tests).
      return intFrom(env, name, 8080, { min: 0, max: 65535 });
    }
  }
  return 8080;
}

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {string[]} argv
 * @returns {"http" | "stdio"}
 */
function transportFrom(env, argv) {
  if (argv.includes("--stdio")) return "stdio";
  const raw = (env.MCP_TRANSPORT ?? "").trim().toLowerCase();
  if (raw === "stdio") return "stdio";
  // ToolHive sets MCP_TRANSPORT=streamable-http for HTTP servers.
  if (raw === "" || raw === "streamable-http" || raw === "http") return "http";
  throw new ConfigError(
    `MCP_TRANSPORT must be "stdio" or "streamable-http", got ${JSON.stringify(env.MCP_TRANSPORT)}`,
  );
}

/**
 * @param {string | undefined} raw
 * @returns {string | null}
 */
function baseUrlFrom(raw) {
  if (raw === undefined || raw.trim() === "") return null;
  let url;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`PUBLIC_BASE_URL must be an absolute URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError(`PUBLIC_BASE_URL must be http(s), got ${JSON.stringify(raw)}`);
  }
  if (url.search || url.hash) {
    throw new ConfigError("PUBLIC_BASE_URL must not carry a query or fragment");
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * Comma-separated exact origins ("https://app.example.com"), or "*".
 * @param {string | undefined} raw
 * @returns {"*" | string[]}
 */
function originsFrom(raw) {
  if (raw === undefined) return [];
  const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
  if (items.includes("*")) return "*";
  return items.map((item) => {
    let url;
    try {
      url = new URL(item);
    } catch {
      throw new ConfigError(`ALLOWED_ORIGINS entry ${JSON.stringify(item)} is not an origin`);
    }
    // An Origin header is scheme://host[:port] with nothing after it.
    if (url.origin === "null" || url.href.replace(/\/$/, "") !== url.origin) {
      throw new ConfigError(`ALLOWED_ORIGINS entry ${JSON.stringify(item)} is not an origin`);
    }
    return url.origin;
  });
}

/**
 * @param {string | undefined} raw
 * @returns {LogLevel}
 */
function logLevelFrom(raw) {
  const level = (raw ?? "info").trim().toLowerCase();
  if (level === "debug" || level === "info" || level === "warn" || level === "error") return level;
  throw new ConfigError(`LOG_LEVEL must be debug, info, warn or error, got ${JSON.stringify(raw)}`);
}

/**
 * @param {NodeJS.ProcessEnv} [env]
 * @param {string[]} [argv]
 * @returns {Readonly<Config>}
 */
export function loadConfig(env = process.env, argv = process.argv.slice(2)) {
  const maxProgramBytes = intFrom(env, "MAX_PROGRAM_BYTES", 64 * 1024, { min: 1024, max: 16 * 1024 * 1024 });
  const renderTimeoutMs = intFrom(env, "RENDER_TIMEOUT_MS", 10_000, { min: 50, max: 600_000 });
  const workerMaxHeapMb = intFrom(env, "WORKER_MAX_HEAP_MB", 384, { min: 64, max: 16_384 });
  // Replacing a worker before it reaches its hard cap keeps a slow leak from
  // ever failing a render with "out of memory".
  const workerRecycleHeapMb = intFrom(env, "WORKER_RECYCLE_HEAP_MB", Math.floor(workerMaxHeapMb * 0.75), {
    min: 32,
    max: workerMaxHeapMb - 1,
  });
  return Object.freeze({
    transport: transportFrom(env, argv),
    host: (env.HOST ?? "").trim() || "0.0.0.0",
    port: portFrom(env),
    publicBaseUrl: baseUrlFrom(env.PUBLIC_BASE_URL),
    allowedOrigins: originsFrom(env.ALLOWED_ORIGINS),
    maxProgramBytes,
    // Three programs, JSON-escaped (worst case ~6 bytes per byte for \uXXXX
    // escapes), plus the JSON-RPC envelope. Oversize programs inside that
    // limit get a clear tool error; beyond it the HTTP layer answers 413.
    maxRequestBytes: 3 * 6 * maxProgramBytes + 64 * 1024,
    renderTimeoutMs,
    renderKillGraceMs: intFrom(env, "RENDER_KILL_GRACE_MS", 2_000, { min: 100, max: 60_000 }),
    concurrency: intFrom(env, "RENDER_CONCURRENCY", 2, { min: 1, max: 64 }),
    queueWaitMs: intFrom(env, "RENDER_QUEUE_WAIT_MS", 3_000, { min: 0, max: 600_000 }),
    maxQueue: intFrom(env, "RENDER_QUEUE_MAX", 16, { min: 0, max: 10_000 }),
    workerMaxHeapMb,
    workerMaxJobs: intFrom(env, "WORKER_MAX_JOBS", 500, { min: 1, max: 1_000_000 }),
    workerRecycleHeapMb,
    cacheMaxEntries: intFrom(env, "CACHE_MAX_ENTRIES", 500, { min: 1, max: 1_000_000 }),
    cacheMaxBytes: intFrom(env, "CACHE_MAX_BYTES", 64 * 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 * 1024 }),
    logLevel: logLevelFrom(env.LOG_LEVEL),
  });
}
