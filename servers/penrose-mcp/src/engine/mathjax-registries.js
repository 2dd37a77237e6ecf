// Keeps @penrose/core's per-compile MathJax set-up from accumulating in
// MathJax's global registries, which otherwise retain about 400 KiB per
// compile for the life of the worker (measured with heap snapshots, see
// README "Memory").
//
// Every `compile` calls Penrose's `mathjaxInit` (@penrose/core 3.2.0
// dist/utils/CollectLabels.js), which builds a new TeX input jax and a new
// MathJax document, and so, in mathjax-full 3.2.2:
// - `RegisterHTMLHandler(browserAdaptor())` adds one more HTMLHandler to the
//   global `mathjax.handlers` (js/handlers/html.js). Only the first one is
//   ever used: `handlesDocument` returns the first handler that accepts the
//   document (js/core/HandlerList.js).
// - the `tagformat` and `mathtools` packages of AllPackages each register a
//   fresh tag class as `configTags-<n>` / `MathtoolsTags-<n>` in the global
//   `TagsFactory` map (js/input/tex/tagformat/TagFormatConfiguration.js,
//   js/input/tex/mathtools/MathtoolsTags.js). The class closes over its jax,
//   whose options close over Penrose's `formatError`, whose scope holds the
//   MathJax document and its jsdom Document.
// - `TeX.tags` leaves that class as TagsFactory's global default
//   (js/input/tex.js), and the next jax's `textmacros` package takes an
//   instance of the default for its own parser
//   (js/input/tex/textmacros/TextMacrosConfiguration.js): each jax holds the
//   previous one, so every compile stays reachable from the newest.
//
// All three are bounded here, without changing what MathJax computes: a
// second handler of the same class is not registered (the first would be
// used anyway); when a new `<family>-<n>` tag class arrives the previous one
// of its family is pointed at NoTags (no jax looks a class up by an old name);
// and once a jax has its tags, the global default goes back to `none`, so
// every compile configures MathJax as the first one in a thread always did.

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
// The same module instances @penrose/core loads (CommonJS, one cache).
const { mathjax } = require("mathjax-full/js/mathjax.js");
const { NoTags, TagsFactory } = require("mathjax-full/js/input/tex/Tags.js");
// `TeX.tags` is a protected static in the typings; it is replaced below.
const TeX = /** @type {any} */ (require("mathjax-full/js/input/tex.js").TeX);

const PER_JAX_TAGS = /^(configTags|MathtoolsTags)-\d+$/;

let bounded = false;

/**
 * Bound the registries above, once per thread. Idempotent.
 * @returns {void}
 */
export function boundMathJaxRegistries() {
  if (bounded) return;
  bounded = true;

  const handlers = mathjax.handlers;
  const register = handlers.register.bind(handlers);
  handlers.register = (/** @type {any} */ handler) => {
    for (const { item } of handlers) {
      if (item.constructor === handler.constructor) return item;
    }
    return register(handler);
  };

  const add = TagsFactory.add;
  /** @type {Map<string, string>} family -> the name it registered last */
  const latest = new Map();
  TagsFactory.add = (/** @type {string} */ name, /** @type {any} */ constr) => {
    const family = PER_JAX_TAGS.exec(name)?.[1];
    if (family !== undefined) {
      const previous = latest.get(family);
      if (previous !== undefined) add(previous, NoTags);
      latest.set(family, name);
    }
    add(name, constr);
  };

  const initialDefault = TagsFactory.OPTIONS.tags;
  const tags = TeX.tags;
  TeX.tags = (/** @type {any} */ options, /** @type {any} */ configuration) => {
    tags(options, configuration);
    TagsFactory.setDefault(initialDefault);
  };
}
