// The Penrose pipeline (compile -> optimise -> SVG) with a wall-clock budget.
// Runs inside a render worker, after installDomShim(); see worker.js.
//
// Outcomes are plain objects so they can cross the worker boundary:
//   { ok: true, ... }                                   success
//   { ok: false, kind: "penrose", message }             Penrose rejected the trio
//   { ok: false, kind: "timeout", message }             budget exhausted
//   { ok: false, kind: "cancelled", message }           the caller went away
// Anything thrown is a bug or an engine fault; the worker reports it as
// kind "internal" and is then replaced.

import {
  compile,
  finalStage,
  isOptimized,
  nextStage,
  showError,
  step,
  toSVG,
} from "@penrose/core";
import { boundMathJaxRegistries } from "./mathjax-registries.js";

boundMathJaxRegistries();

/** @typedef {{ domain: string, substance: string, style: string, variation: string }} Trio */

/**
 * @typedef {object} RenderOk
 * @property {true} ok
 * @property {string} svg
 * @property {number} shapeCount
 * @property {{ width: number, height: number }} canvas
 * @property {number} compileMs
 * @property {number} optimizeMs
 * @property {number} svgMs
 * @property {string[]} warnings
 */

/**
 * @typedef {object} EngineFailure
 * @property {false} ok
 * @property {"penrose" | "timeout" | "cancelled"} kind
 * @property {string} message
 */

// Penrose's Image shapes ask this resolver for their href. Resolving nothing
// keeps the renderer off the network and the filesystem (no SSRF, no file
// disclosure); Penrose then draws its built-in "image not found" placeholder.
/** @type {(path: string) => Promise<string | undefined>} */
const resolveNothing = async () => undefined;

// Prefix Penrose puts in front of ids it generates inside the SVG (clip
// paths, MathJax glyphs). Fixed, so identical inputs give identical bytes.
const SVG_NAMESPACE = "penrose";

/**
 * @param {Trio} trio
 * @returns {Promise<{ ok: true, state: import("@penrose/core").PenroseState } | EngineFailure>}
 */
async function compileTrio(trio) {
  const result = await compile({
    domain: trio.domain,
    substance: trio.substance,
    style: trio.style,
    variation: trio.variation,
  });
  if (result.isErr()) {
    return { ok: false, kind: "penrose", message: showError(result.error) };
  }
  return { ok: true, state: result.value };
}

/**
 * Turn Penrose's <svg> element into a standalone SVG document.
 *
 * XMLSerializer rather than outerHTML, so namespaces are declared and the
 * result is well-formed XML. toSVG sets `xmlns` as a plain attribute
 * (@penrose/core dist/renderer/Renderer.js), which the serializer would emit
 * next to its own namespace declaration: a duplicate attribute, i.e. not
 * well-formed. It is removed first. width/height default to the canvas size
 * so viewers that ignore viewBox for sizing show the diagram at its size.
 * @param {SVGSVGElement} element
 * @param {{ width: number, height: number }} canvas
 * @returns {string}
 */
function serializeSvg(element, canvas) {
  element.removeAttribute("xmlns");
  if (!element.hasAttribute("width")) element.setAttribute("width", String(canvas.width));
  if (!element.hasAttribute("height")) element.setAttribute("height", String(canvas.height));
  return new XMLSerializer().serializeToString(element);
}

/**
 * Count drawable shapes, descending into Groups.
 * @param {ReadonlyArray<any>} shapes
 * @returns {number}
 */
export function countShapes(shapes) {
  let n = 0;
  for (const shape of shapes) {
    if (shape.shapeType === "Group") n += countShapes(shape.shapes.contents);
    else n += 1;
  }
  return n;
}

/**
 * Parse and compile only (no optimisation).
 * @param {Trio} trio
 * @returns {Promise<{ ok: true, shapeCount: number, canvas: { width: number, height: number }, warnings: string[] } | EngineFailure>}
 */
export async function validateTrio(trio) {
  const compiled = await compileTrio(trio);
  if (!compiled.ok) return compiled;
  const { state } = compiled;
  return {
    ok: true,
    shapeCount: countShapes(state.shapes),
    canvas: { width: state.canvas.width, height: state.canvas.height },
    warnings: state.warnings.map((w) => showError(w)),
  };
}

/**
 * Compile, optimise within the budget, and serialise to SVG.
 *
 * The optimiser can run forever on a Style whose objectives never settle, so
 * instead of Penrose's optimize() (which loops until convergence) this drives
 * the same loop with step(), whose `until` callback the optimiser polls on
 * every L-BFGS iteration (penrose/penrose packages/optimizer/src/lib.rs,
 * `minimize`: `while !stop()`). The loop mirrors optimize() in
 * @penrose/core dist/index.js. The worker pool also terminates the thread if
 * the budget is overrun by more than a grace period (e.g. inside compile).
 *
 * @param {Trio} trio
 * @param {{ budgetMs: number, isCancelled?: () => boolean }} options
 * @returns {Promise<RenderOk | EngineFailure>}
 */
export async function renderTrio(trio, { budgetMs, isCancelled = () => false }) {
  const t0 = performance.now();
  const deadline = t0 + budgetMs;
  const stop = () => performance.now() >= deadline || isCancelled();

  const compiled = await compileTrio(trio);
  if (!compiled.ok) return compiled;
  let state = compiled.state;
  const t1 = performance.now();

  while (!isOptimized(state) || !finalStage(state)) {
    if (isCancelled()) return { ok: false, kind: "cancelled", message: "render cancelled" };
    if (performance.now() >= deadline) {
      return {
        ok: false,
        kind: "timeout",
        message:
          `optimisation did not converge within the ${budgetMs} ms budget ` +
          `(compile took ${Math.round(t1 - t0)} ms); simplify the Style or ` +
          `relax conflicting constraints/objectives`,
      };
    }
    if (isOptimized(state)) state = nextStage(state);
    const stepped = step(state, { until: stop });
    if (stepped.isErr()) {
      return { ok: false, kind: "penrose", message: showError(stepped.error) };
    }
    state = stepped.value;
  }
  const t2 = performance.now();

  const svgElement = await toSVG(state, resolveNothing, SVG_NAMESPACE);
  const svg = serializeSvg(svgElement, state.canvas);
  const t3 = performance.now();

  return {
    ok: true,
    svg,
    shapeCount: countShapes(state.computeShapes(state.varyingValues)),
    canvas: { width: state.canvas.width, height: state.canvas.height },
    compileMs: t1 - t0,
    optimizeMs: t2 - t1,
    svgMs: t3 - t2,
    warnings: state.warnings.map((w) => showError(w)),
  };
}
