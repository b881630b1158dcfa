/**
 * Seeded, embedding-like test data, shared by the tests and the benchmarks
 * (`@loomdb/db/testing/data`; no test framework needed).
 *
 * @packageDocumentation
 */

/**
 * A seeded pseudo-random generator (mulberry32), so failures reproduce.
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * const xs = [random(), random()]; // the same two numbers in [0, 1) on every run
 * ```
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box–Muller) from a uniform generator. */
function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export interface EmbeddingModelOptions {
  /** Output dimensions (default 384). */
  dimensions?: number;
  /** Dimensions of the latent space the clusters live in (default 64). */
  latent?: number;
  /** Gaussian clusters in the latent space (default 100). */
  clusters?: number;
  /** Spread of a cluster relative to the spread of the cluster centres (default 0.6). */
  spread?: number;
  /** Norm of the noise added after the projection, relative to the signal (default 0.15). */
  noise?: number;
  /** Seed of the clusters and the projection (default 1). */
  seed?: number;
}

/**
 * A fixed "embedding model": Gaussian clusters in a low-dimensional latent
 * space, mapped to `dimensions` by a fixed random projection plus small
 * noise, L2-normalised. Like real sentence embeddings, neighbours are
 * findable with a modest HNSW `ef`; uniform clusters drawn directly in 384-d
 * would be unrealistically hard.
 */
export class EmbeddingModel {
  readonly dimensions: number;
  readonly #latent: number;
  readonly #centres: Float64Array[];
  readonly #projection: Float64Array;
  readonly #spread: number;
  readonly #noise: number;

  constructor(options: EmbeddingModelOptions = {}) {
    this.dimensions = options.dimensions ?? 384;
    this.#latent = options.latent ?? 64;
    this.#spread = options.spread ?? 0.6;
    this.#noise = options.noise ?? 0.15;
    const normal = gaussian(seededRandom(options.seed ?? 1));
    this.#centres = Array.from({ length: options.clusters ?? 100 }, () => Float64Array.from({ length: this.#latent }, normal));
    const scale = 1 / Math.sqrt(this.#latent);
    this.#projection = Float64Array.from({ length: this.dimensions * this.#latent }, () => normal() * scale);
  }

  /** `count` vectors, row after row, drawn with `seed`. */
  sample(count: number, seed: number): Float32Array {
    const d = this.dimensions;
    const l = this.#latent;
    const random = seededRandom(seed);
    const normal = gaussian(random);
    const out = new Float32Array(count * d);
    const z = new Float64Array(l);
    const x = new Float64Array(d);
    const noise = this.#noise / Math.sqrt(d);
    for (let row = 0; row < count; row++) {
      const centre = this.#centres[Math.floor(random() * this.#centres.length)] as Float64Array;
      for (let j = 0; j < l; j++) z[j] = (centre[j] as number) + this.#spread * normal();
      let norm = 0;
      for (let i = 0; i < d; i++) {
        let v = 0;
        const p = i * l;
        for (let j = 0; j < l; j++) v += (this.#projection[p + j] as number) * (z[j] as number);
        x[i] = v;
        norm += v * v;
      }
      norm = Math.sqrt(norm) || 1;
      let total = 0;
      for (let i = 0; i < d; i++) {
        const v = (x[i] as number) / norm + noise * normal();
        x[i] = v;
        total += v * v;
      }
      total = Math.sqrt(total) || 1;
      for (let i = 0; i < d; i++) out[row * d + i] = (x[i] as number) / total;
    }
    return out;
  }
}

/** Row `i` of a row-major matrix of `dimensions` columns (a view, not a copy). */
export function row(matrix: Float32Array, dimensions: number, i: number): Float32Array {
  return matrix.subarray(i * dimensions, (i + 1) * dimensions);
}

/** Fraction of `truth`'s ids that `found` contains (recall@|truth|). */
export function recall(found: ReadonlyArray<{ id: string }>, truth: ReadonlyArray<{ id: string }>): number {
  if (truth.length === 0) return 1;
  const ids = new Set(found.map((h) => h.id));
  return truth.filter((h) => ids.has(h.id)).length / truth.length;
}
