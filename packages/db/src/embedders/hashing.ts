import { invalid } from '../errors.js';
import type { Embedder, LoomPlugin, PluginOptions } from '../plugins.js';

/** Dimensions of the built-in `hashing` embedder (the memory vocabulary's message space). */
export const HASHING_DIMENSIONS = 384;

/** FNV-1a over UTF-16 code units, 32-bit. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const WORD = /[\p{L}\p{N}]+/gu;

/**
 * Feature hashing of a text into `dimensions` floats, L2-normalised: word
 * unigrams and bigrams, and character 3- and 4-grams of each word (which
 * make "database" and "databases" close). Each feature adds ±weight at a
 * hashed position (the sign from another hash bit keeps collisions
 * unbiased). Deterministic and offline: same text, same vector, everywhere.
 * An empty text (no letters or digits) is the zero vector.
 */
export function hashingEmbed(text: string, dimensions = HASHING_DIMENSIONS): Float32Array {
  const v = new Float32Array(dimensions);
  const add = (feature: string, weight: number) => {
    const h = fnv1a(feature);
    v[h % dimensions] += h & 0x80000000 ? -weight : weight;
  };
  const words = text.toLowerCase().match(WORD) ?? [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    add(`w:${word}`, 1);
    if (i > 0) add(`b:${words[i - 1]} ${word}`, 0.7);
    const padded = `<${word}>`;
    for (const n of [3, 4]) {
      for (let j = 0; j + n <= padded.length; j++) add(`c${n}:${padded.slice(j, j + n)}`, 0.25);
    }
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < dimensions; i++) v[i]! /= norm;
  return v;
}

/**
 * The built-in offline embedder: {@link hashingEmbed} with 384 dimensions
 * (option `dimensions` changes that). Good enough to find messages sharing
 * words and word stems; use a model embedder for meaning.
 */
export function createHashingEmbedder(options: PluginOptions = {}): Embedder {
  const dimensions = options.dimensions ?? HASHING_DIMENSIONS;
  if (!Number.isSafeInteger(dimensions) || (dimensions as number) < 1 || (dimensions as number) > 65536) {
    throw invalid(`hashing embedder: dimensions must be an integer from 1 to 65536, got ${String(dimensions)}`);
  }
  const d = dimensions as number;
  const embedSync = (texts: readonly string[]): Float32Array[] =>
    texts.map((text, i) => {
      if (typeof text !== 'string') throw invalid(`texts[${i}] must be a string, got ${typeof text}`);
      return hashingEmbed(text, d);
    });
  return {
    dimensions: d,
    embedSync,
    embed: async (texts) => embedSync(texts),
  };
}

/** Registers the `hashing` embedder; built in, registered like any plugin. */
export const hashingEmbedderPlugin: LoomPlugin = {
  name: 'loomdb:hashing-embedder',
  register: (r) => r.registerEmbedder('hashing', createHashingEmbedder),
};
