import { invalid } from '../errors.js';
import type { Embedder, LoomPlugin, PluginOptions } from '../plugins.js';

/**
 * Dimensions of the built-in `hashing` embedder (the memory vocabulary's message space).
 *
 * @example
 * ```ts
 * EmbeddedDB.open('./memory.loomdb', { spaces: { default: { dimensions: HASHING_DIMENSIONS, metric: 'cosine', embedder: 'hashing' } } });
 * ```
 */
export const HASHING_DIMENSIONS = 384;

const FNV_OFFSET = 0x811c9dc5;

/** Continues an FNV-1a hash (UTF-16 code units, 32-bit) over `text[from, to)`. */
function fnv1a(h: number, text: string, from = 0, to = text.length): number {
  for (let i = from; i < to; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

const WORD = /[\p{L}\p{N}]+/gu;
/** The hash state after each feature's prefix, so features hash without building strings. */
const WORD_SEED = fnv1a(FNV_OFFSET, 'w:');
const BIGRAM_SEED = fnv1a(FNV_OFFSET, 'b:');
const GRAM_SEEDS = { 3: fnv1a(FNV_OFFSET, 'c3:'), 4: fnv1a(FNV_OFFSET, 'c4:') } as const;
const SPACE = 0x20;

/**
 * English function words: they carry little meaning, so they count for a
 * fifth of a content word and make no bigrams or character n-grams
 * (otherwise "how do I …" questions all look alike).
 */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  ('a an and are as at be but by can could did do does for from had has have how i if in into is it its me my no not of on or ' +
    'our should so than that the their them then there these they this to was we were what when where which who why will with ' +
    'would you your').split(' '),
);

/**
 * Feature hashing of a text into `dimensions` floats, L2-normalised: word
 * unigrams and bigrams, and character 3- and 4-grams of each word (which
 * make "database" and "databases" close); function words count little. Each feature adds ±weight at a
 * hashed position (the sign from another hash bit keeps collisions
 * unbiased). Deterministic and offline: same text, same vector, everywhere.
 * An empty text (no letters or digits) is the zero vector.
 *
 * A feature is hashed as the FNV-1a of its text (`w:word`, `b:prev word`,
 * `c3:<wo`, …), computed from the hash of its prefix.
 *
 * @example
 * ```ts
 * const v = hashingEmbed('tea with Alice'); // Float32Array(384), L2-normalised, deterministic
 * db.insertEmbedding(nodeId, v);
 * ```
 */
export function hashingEmbed(text: string, dimensions = HASHING_DIMENSIONS): Float32Array {
  const v = new Float32Array(dimensions);
  const add = (hash: number, weight: number) => {
    const h = hash >>> 0;
    v[h % dimensions] += h & 0x80000000 ? -weight : weight;
  };
  const words = text.toLowerCase().match(WORD) ?? [];
  /** The bigram hash state after `b:<previous word> `, or null after a function word. */
  let bigram: number | null = null;
  for (const word of words) {
    const wordHash = fnv1a(WORD_SEED, word);
    if (STOP_WORDS.has(word)) {
      add(wordHash, 0.2);
      bigram = null;
      continue;
    }
    add(wordHash, 1);
    if (bigram !== null) add(fnv1a(bigram, word), 0.7);
    bigram = Math.imul(fnv1a(BIGRAM_SEED, word) ^ SPACE, 0x01000193);
    const last = word.length + 1; // the index of '>' in `<word>`
    for (let j = 0; j + 3 <= last + 1; j++) add(gramHash(word, j, 3, last), 0.25);
    for (let j = 0; j + 4 <= last + 1; j++) add(gramHash(word, j, 4, last), 0.25);
  }
  let norm = 0;
  for (let i = 0; i < dimensions; i++) norm += v[i]! * v[i]!;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < dimensions; i++) v[i]! /= norm;
  return v;
}

const OPEN = 0x3c; // '<'
const CLOSE = 0x3e; // '>'

/** The hash of the character `n`-gram at `j` of `<word>` (whose '>' is at `last`), without building the padded string. */
function gramHash(word: string, j: number, n: 3 | 4, last: number): number {
  let h = GRAM_SEEDS[n];
  for (let p = j; p < j + n; p++) {
    h ^= p === 0 ? OPEN : p === last ? CLOSE : word.charCodeAt(p - 1);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/**
 * The built-in offline embedder: {@link hashingEmbed} with 384 dimensions
 * (option `dimensions` changes that). Good enough to find messages sharing
 * words and word stems; use a model embedder for meaning.
 *
 * @example
 * ```ts
 * const embedder = createHashingEmbedder();
 * const [v] = await embedder.embed(['tea with Alice']);
 * ```
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

/**
 * Registers the `hashing` embedder; built in, registered like any plugin.
 *
 * @example
 * ```ts
 * // Built in: every database has it. A space uses it by name:
 * EmbeddedDB.open('./memory.loomdb', { plugins: [hashingEmbedderPlugin], spaces: { default: { dimensions: 384, metric: 'cosine', embedder: 'hashing' } } });
 * ```
 */
export const hashingEmbedderPlugin: LoomPlugin = {
  name: 'loomdb:hashing-embedder',
  register: (r) => r.registerEmbedder('hashing', createHashingEmbedder),
};
