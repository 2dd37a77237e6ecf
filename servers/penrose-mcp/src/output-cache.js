// In-memory LRU of rendered SVGs, bounded by entry count and by total bytes.
// Keys are content hashes, so an entry never changes once stored.
//
// A JavaScript Map iterates in insertion order; re-inserting on every hit
// keeps the least recently used entry first, which is the one evicted.

/**
 * @template M
 * @typedef {{ svg: Buffer, meta: M }} CacheEntry
 */

/** @template M */
export class OutputCache {
  /** @type {Map<string, CacheEntry<M>>} */
  #entries = new Map();
  #bytes = 0;
  #maxEntries;
  #maxBytes;
  #evictions = 0;

  /**
   * @param {{ maxEntries: number, maxBytes: number }} limits
   */
  constructor({ maxEntries, maxBytes }) {
    if (!(maxEntries >= 1) || !(maxBytes >= 1)) throw new RangeError("cache limits must be positive");
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
  }

  /**
   * @param {string} key
   * @returns {CacheEntry<M> | undefined}
   */
  get(key) {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  /**
   * Store an entry, evicting the least recently used ones to make room.
   * @param {string} key
   * @param {Buffer} svg
   * @param {M} meta
   * @returns {boolean} false if the entry alone is larger than the byte bound
   *   (it is then not stored, and nothing is evicted for it)
   */
  set(key, svg, meta) {
    if (svg.length > this.#maxBytes) return false;
    const previous = this.#entries.get(key);
    if (previous !== undefined) {
      this.#entries.delete(key);
      this.#bytes -= previous.svg.length;
    }
    this.#entries.set(key, { svg, meta });
    this.#bytes += svg.length;
    while (this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const [oldestKey, oldest] = /** @type {[string, CacheEntry<M>]} */ (this.#entries.entries().next().value);
      this.#entries.delete(oldestKey);
      this.#bytes -= oldest.svg.length;
      this.#evictions += 1;
    }
    return true;
  }

  /** @returns {{ entries: number, bytes: number, maxEntries: number, maxBytes: number, evictions: number }} */
  stats() {
    return {
      entries: this.#entries.size,
      bytes: this.#bytes,
      maxEntries: this.#maxEntries,
      maxBytes: this.#maxBytes,
      evictions: this.#evictions,
    };
  }
}
