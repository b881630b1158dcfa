import { invalid, loomError } from './errors.js';
import type { AsyncStorageOperations, StorageOperations, StorageSearchFilter } from './storage.js';
import type { TextIndexSpec, TextSearchOptions } from './types.js';
import { checkName, checkString, checkType, describe, guard, MAX_K, requireObject } from './validate.js';
import { prepareFilter } from './walk.js';

/**
 * The text index `searchText` reads when `index` is not given.
 *
 * @example
 * ```ts
 * db.createTextIndex(DEFAULT_TEXT_INDEX, { types: ['Message'], fields: ['content'] });
 * db.searchText('ferry'); // reads DEFAULT_TEXT_INDEX
 * ```
 */
export const DEFAULT_TEXT_INDEX = 'default';
/**
 * Longest text query, in bytes of UTF-8.
 *
 * @example
 * ```ts
 * const q = text.slice(0, MAX_TEXT_QUERY_BYTES / 4); // safe for any UTF-8
 * db.searchText(q, { k: 10 });
 * ```
 */
export const MAX_TEXT_QUERY_BYTES = 16_384;

const SPEC_KEYS = ['types', 'fields', 'language', 'stopWords', 'k1', 'b'];

/** The backend's text search, or `UNSUPPORTED` naming it. */
export function textSearchOf<T extends Pick<StorageOperations | AsyncStorageOperations, TextOperation>>(target: T): Required<Pick<T, TextOperation>> {
  if (!target.createTextIndex || !target.dropTextIndex || !target.searchText) {
    throw loomError('UNSUPPORTED', 'this storage backend has no full-text indexes (capabilities.textSearch); the native backend has them');
  }
  return target as Required<Pick<T, TextOperation>>;
}

type TextOperation = 'createTextIndex' | 'dropTextIndex' | 'searchText';

export function prepareTextIndexName(name: unknown): string {
  return checkName('text index name', name);
}

/** Checks a text index spec's shape (the engine checks languages and ranges, naming the index). */
export function prepareTextIndexSpec(name: string, spec: unknown): TextIndexSpec {
  return guard(`text index "${name}"`, () => {
    const o = requireObject(`text index "${name}"`, spec);
    const unknownKey = Object.keys(o).find((k) => !SPEC_KEYS.includes(k));
    if (unknownKey !== undefined) throw invalid(`text index "${name}": ${unknownKey} is not a text index field (${SPEC_KEYS.join(', ')})`);
    const list = (field: 'types' | 'fields') => {
      const value = o[field];
      if (!Array.isArray(value) || value.length === 0) throw invalid(`text index "${name}": ${field} must be a non-empty array of strings, got ${describe(value)}`);
      return value.map((v, i) => checkType(`text index "${name}": ${field}[${i}]`, v));
    };
    const out: TextIndexSpec = { types: list('types'), fields: list('fields') };
    if (o.language !== undefined) out.language = checkString(`text index "${name}": language`, o.language, 16);
    if (o.stopWords !== undefined) {
      if (typeof o.stopWords !== 'boolean') throw invalid(`text index "${name}": stopWords must be a boolean, got ${describe(o.stopWords)}`);
      out.stopWords = o.stopWords;
    }
    for (const key of ['k1', 'b'] as const) {
      if (o[key] === undefined) continue;
      if (typeof o[key] !== 'number' || !Number.isFinite(o[key])) throw invalid(`text index "${name}": ${key} must be a number, got ${describe(o[key])}`);
      out[key] = o[key] as number;
    }
    return out;
  });
}

export interface PreparedTextSearch {
  query: string;
  index: string;
  k: number;
  filter: StorageSearchFilter;
}

/** Checks `searchText(text, options)`: a non-empty string query, `k`, `index`, `filter`. */
export function prepareTextSearch(text: unknown, options: unknown): PreparedTextSearch {
  return guard('options', () => {
    if (typeof text !== 'string' || text.trim().length === 0) throw invalid(`searchText needs a non-empty string, got ${describe(text)}`);
    const query = checkString('text', text, MAX_TEXT_QUERY_BYTES);
    const o = (options === undefined ? {} : requireObject('options', options)) as TextSearchOptions & Record<string, unknown>;
    const unknownKey = Object.keys(o).find((k) => !['k', 'index', 'filter'].includes(k));
    if (unknownKey !== undefined) throw invalid(`options.${unknownKey} is not a text search option (k, index, filter)`);
    const k = o.k ?? 10;
    if (!Number.isSafeInteger(k) || k < 1 || k > MAX_K) throw invalid(`options.k must be an integer from 1 to ${MAX_K}, got ${describe(k)}`);
    const index = o.index === undefined ? DEFAULT_TEXT_INDEX : prepareTextIndexName(o.index);
    return { query, index, k, filter: prepareFilter(o.filter) };
  });
}
