// The bundled example trios. Each is three files next to this module,
// <id>.domain, <id>.substance and <id>.style, so they can be read and edited
// as Penrose programs rather than as JavaScript strings.

import { readFileSync } from "node:fs";

/**
 * @typedef {object} Example
 * @property {string} id
 * @property {string} title
 * @property {string} description
 * @property {string} domain
 * @property {string} substance
 * @property {string} style
 */

const CATALOGUE = [
  {
    id: "venn",
    title: "Sets as a Venn/Euler diagram",
    description: "Four sets as circles: a subset drawn inside its superset, intersecting sets overlapping, disjoint sets apart. Text labels.",
  },
  {
    id: "directed-graph",
    title: "Directed graph",
    description: "Five vertices and six arcs, laid out with evenly spaced vertices and arrowheads that stop at the vertex outline.",
  },
  {
    id: "vectors",
    title: "Vectors in the plane",
    description: "Two orthogonal vectors u and v from a common origin and their sum u + v (computed, not optimised), with the parallelogram and a right-angle mark. TeX labels (Equation shapes).",
  },
  {
    id: "triangle",
    title: "Triangle with labelled points",
    description: "A well-shaped triangle ABC (sides and angles bounded below) with its incircle; each vertex label sits outside the triangle.",
  },
  {
    id: "function-map",
    title: "Function between two sets",
    description: "A function f : X -> Y drawn as arrows from the elements of X to their images in Y.",
  },
];

/** @type {ReadonlyArray<Readonly<Example>>} */
export const EXAMPLES = Object.freeze(
  CATALOGUE.map((entry) => {
    const read = (/** @type {string} */ ext) =>
      readFileSync(new URL(`./${entry.id}.${ext}`, import.meta.url), "utf8");
    return Object.freeze({
      ...entry,
      domain: read("domain"),
      substance: read("substance"),
      style: read("style"),
    });
  }),
);

/**
 * @param {string} id
 * @returns {Readonly<Example> | undefined}
 */
export function findExample(id) {
  return EXAMPLES.find((example) => example.id === id);
}
