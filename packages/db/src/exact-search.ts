import type { Metric, SearchHit } from './types.js';

/**
 * Distance as every LoomDB backend defines it; smaller is nearer.
 * cosine: `1 − cos θ` (1 when either vector is zero); l2: Euclidean
 * distance; dot: `1 − a·b`.
 *
 * @example
 * ```ts
 * distance('cosine', new Float32Array([1, 0]), new Float32Array([0, 1])); // 1
 * ```
 */
export function distance(metric: Metric, a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  let l2 = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
    l2 += (x - y) * (x - y);
  }
  if (metric === 'dot') return 1 - dot;
  if (metric === 'l2') return Math.sqrt(l2);
  const denom = Math.sqrt(na) * Math.sqrt(nb);
  return denom === 0 ? 1 : 1 - dot / denom;
}

/**
 * Exact k-nearest-neighbour search over `(id, vector)` pairs, nearest first.
 * For backends without an index of their own.
 *
 * @example
 * ```ts
 * const entries: Array<[string, Float32Array]> = [['a', new Float32Array([1, 0])], ['b', new Float32Array([0, 1])]];
 * exactSearch(entries, new Float32Array([0.9, 0.1]), 'cosine', 1); // [{ id: 'a', distance: … }]
 * ```
 */
export function exactSearch(entries: Iterable<[string, Float32Array]>, query: Float32Array, metric: Metric, k: number): SearchHit[] {
  const hits: SearchHit[] = [];
  for (const [id, vector] of entries) hits.push({ id, distance: distance(metric, query, vector) });
  hits.sort((x, y) => x.distance - y.distance || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  return hits.slice(0, k);
}
