// One JSON object per line on stderr. Never stdout: in stdio mode stdout
// carries the MCP protocol, and a stray line there breaks the client.

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * @typedef {object} Logger
 * @property {(msg: string, fields?: Record<string, unknown>) => void} debug
 * @property {(msg: string, fields?: Record<string, unknown>) => void} info
 * @property {(msg: string, fields?: Record<string, unknown>) => void} warn
 * @property {(msg: string, fields?: Record<string, unknown>) => void} error
 */

/**
 * @param {unknown} value
 * @returns {unknown}
 */
function plain(value) {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  return value;
}

/**
 * @param {keyof typeof LEVELS} level  minimum level written
 * @param {(line: string) => void} [write]
 * @returns {Logger}
 */
export function createLogger(level, write = (line) => process.stderr.write(line)) {
  const threshold = LEVELS[level];
  /** @param {keyof typeof LEVELS} lvl */
  const at = (lvl) => (/** @type {string} */ msg, /** @type {Record<string, unknown>} */ fields = {}) => {
    if (LEVELS[lvl] < threshold) return;
    /** @type {Record<string, unknown>} */
    const record = { time: new Date().toISOString(), level: lvl, msg };
    for (const [k, v] of Object.entries(fields)) record[k] = plain(v);
    write(`${JSON.stringify(record)}\n`);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
