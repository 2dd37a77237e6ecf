// Gives the current thread (the main thread of a render worker) the browser
// globals @penrose/core expects, so that compile/optimize/toSVG run in Node.
//
// Why each piece is needed:
// - `window`/`document`: Penrose's renderer builds the SVG with
//   document.createElementNS, and MathJax (used for Equation shapes) is set up
//   with its browserAdaptor, which reads the global window/document
//   (@penrose/core dist/utils/CollectLabels.js).
// - canvas 2D context: Penrose measures Text shapes with
//   document.createElement("canvas").getContext("2d").measureText(...)
//   (measureText in dist/utils/CollectLabels.js). jsdom has no canvas, so
//   getContext is given a real one from @napi-rs/canvas (Skia, prebuilt).
// - fonts: Skia only measures with fonts it can find. A slim container image
//   has none, and every width would be 0, so the DejaVu TTFs shipped in the
//   dejavu-fonts-ttf npm package are registered. This also makes text
//   measurement, and so the layout, the same on every host.

import { createRequire } from "node:module";
import path from "node:path";
import { GlobalFonts, createCanvas } from "@napi-rs/canvas";
import { JSDOM } from "jsdom";

const require = createRequire(import.meta.url);

// The faces that back the CSS generic families Penrose Style authors use
// (sans-serif is Penrose's default Text fontFamily).
const FONT_FILES = [
  "DejaVuSans.ttf",
  "DejaVuSans-Bold.ttf",
  "DejaVuSans-Oblique.ttf",
  "DejaVuSans-BoldOblique.ttf",
  "DejaVuSerif.ttf",
  "DejaVuSerif-Bold.ttf",
  "DejaVuSerif-Italic.ttf",
  "DejaVuSerif-BoldItalic.ttf",
  "DejaVuSansMono.ttf",
  "DejaVuSansMono-Bold.ttf",
];

let installed = false;

/**
 * Install the DOM globals once per thread. Idempotent.
 * @returns {void}
 */
export function installDomShim() {
  if (installed) return;
  installed = true;

  const fontDir = path.join(path.dirname(require.resolve("dejavu-fonts-ttf/package.json")), "ttf");
  for (const file of FONT_FILES) {
    if (GlobalFonts.registerFromPath(path.join(fontDir, file)) === null) {
      throw new Error(`could not register font ${file} from ${fontDir}`);
    }
  }

  // No URL, no scripts, no resource loading: the document only ever holds
  // SVG built by Penrose, never fetched content.
  const dom = new JSDOM("<!doctype html><html><head></head><body></body></html>");
  const win = dom.window;

  // Skia's context is not a DOM CanvasRenderingContext2D as far as the type
  // checker knows, but it implements what Penrose calls (font, textBaseline,
  // measureText).
  win.HTMLCanvasElement.prototype.getContext = /** @type {any} */ (
    /** @param {string} kind */
    function getContext(kind) {
      if (kind !== "2d") return null;
      // Only measureText is used; a 1x1 surface keeps the allocation tiny.
      return createCanvas(1, 1).getContext("2d");
    }
  );

  // Expose every window property Node does not already define, the way
  // global-jsdom does, so constructors such as XMLSerializer, DOMParser and
  // Element are reachable as bare globals too.
  for (const key of Object.getOwnPropertyNames(win)) {
    if (key in globalThis) continue;
    try {
      Object.defineProperty(globalThis, key, {
        configurable: true,
        enumerable: false,
        writable: true,
        value: win[key],
      });
    } catch {
      // A few jsdom getters throw when read detached from the window; they
      // are not used by Penrose.
    }
  }
  globalThis.window = win;
  globalThis.document = win.document;
}
