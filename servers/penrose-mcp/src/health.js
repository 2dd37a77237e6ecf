// Readiness: /health answers 200 only after a self-test render has gone
// through the whole pool path (queue, worker, Penrose, fonts, SVG). Until
// then, or if it keeps failing, it answers 503 and says why.

import { SELF_TEST_TRIO, selfTestProblem } from "./engine/self-test.js";

export class Health {
  #ready = false;
  #detail = "self-test not finished";
  #stopped = false;
  #pool;
  #logger;
  #retryMs;

  /**
   * @param {object} deps
   * @param {Pick<import("./engine/pool.js").RenderPool, "run">} deps.pool
   * @param {import("./logger.js").Logger} deps.logger
   * @param {number} [deps.retryMs]
   */
  constructor({ pool, logger, retryMs = 2_000 }) {
    this.#pool = pool;
    this.#logger = logger;
    this.#retryMs = retryMs;
  }

  /** Run the self-test until it passes (or stop() is called). */
  async start() {
    while (!this.#stopped) {
      const t0 = performance.now();
      // A generous budget: this runs while the workers are still warming up.
      const result = await this.#pool.run("render", SELF_TEST_TRIO, { budgetMs: 30_000 });
      const problem = selfTestProblem(result);
      if (problem === null) {
        this.#ready = true;
        this.#detail = "ok";
        this.#logger.info("engine self-test passed", { ms: Math.round(performance.now() - t0) });
        return;
      }
      this.#detail = problem;
      // "busy" is expected while workers start; anything else is worth a warning.
      const log = result.ok === false && result.kind === "busy" ? this.#logger.debug : this.#logger.warn;
      log("engine self-test not passed yet", { problem });
      await new Promise((resolve) => setTimeout(resolve, this.#retryMs).unref());
    }
  }

  stop() {
    this.#stopped = true;
  }

  /** @returns {{ ready: boolean, detail: string }} */
  status() {
    return { ready: this.#ready, detail: this.#detail };
  }
}
