// What the tools call: limits, content addressing, the output cache and the
// worker pool put together. Transport-agnostic (used by stdio and HTTP).

import { checkTrioLimits, trioHash } from "./trio.js";

/** @typedef {import("./engine/penrose-engine.js").Trio} Trio */

/**
 * @typedef {object} RenderMeta
 * @property {number} shapeCount
 * @property {{ width: number, height: number }} canvas
 * @property {number} compileMs
 * @property {number} optimizeMs
 * @property {number} svgMs
 * @property {string[]} warnings
 */

/**
 * @typedef {object} RenderSuccess
 * @property {true} ok
 * @property {string} hash
 * @property {Buffer} svg
 * @property {RenderMeta} meta
 * @property {boolean} cached   served from the cache rather than rendered now
 * @property {boolean} stored   available at the output route
 */

/**
 * @typedef {object} Failure
 * @property {false} ok
 * @property {string} kind   "limit", or a PoolFailure / engine failure kind
 * @property {string} message
 */

export class RenderService {
  #pool;
  #cache;
  #config;

  /**
   * @param {object} deps
   * @param {Pick<import("./engine/pool.js").RenderPool, "run">} deps.pool
   * @param {import("./output-cache.js").OutputCache<RenderMeta>} deps.cache
   * @param {Pick<import("./config.js").Config, "maxProgramBytes" | "renderTimeoutMs">} deps.config
   */
  constructor({ pool, cache, config }) {
    this.#pool = pool;
    this.#cache = cache;
    this.#config = config;
  }

  /**
   * @param {Trio} trio
   * @param {{ signal?: AbortSignal }} [options]
   * @returns {Promise<RenderSuccess | Failure>}
   */
  async render(trio, { signal } = {}) {
    const refused = checkTrioLimits(trio, this.#config.maxProgramBytes);
    if (refused) return { ok: false, kind: "limit", message: refused };

    // Rendering is deterministic for a given trio and variation, so a cached
    // output is exactly what a new render would produce.
    const hash = trioHash(trio);
    const hit = this.#cache.get(hash);
    if (hit) return { ok: true, hash, svg: hit.svg, meta: hit.meta, cached: true, stored: true };

    const result = await this.#pool.run("render", trio, { budgetMs: this.#config.renderTimeoutMs, signal });
    if (!result.ok) return result;
    const svg = Buffer.from(result.svg, "utf8");
    /** @type {RenderMeta} */
    const meta = {
      shapeCount: result.shapeCount,
      canvas: result.canvas,
      compileMs: result.compileMs,
      optimizeMs: result.optimizeMs,
      svgMs: result.svgMs,
      warnings: result.warnings,
    };
    const stored = this.#cache.set(hash, svg, meta);
    return { ok: true, hash, svg, meta, cached: false, stored };
  }

  /**
   * Parse and compile only.
   * @param {Trio} trio
   * @param {{ signal?: AbortSignal }} [options]
   * @returns {Promise<{ ok: true, shapeCount: number, canvas: { width: number, height: number }, warnings: string[] } | Failure>}
   */
  async validate(trio, { signal } = {}) {
    const refused = checkTrioLimits(trio, this.#config.maxProgramBytes);
    if (refused) return { ok: false, kind: "limit", message: refused };
    return this.#pool.run("validate", trio, { budgetMs: this.#config.renderTimeoutMs, signal });
  }

  /**
   * @param {string} hash
   * @returns {Buffer | undefined}
   */
  output(hash) {
    return this.#cache.get(hash)?.svg;
  }
}
