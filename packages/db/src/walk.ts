import { invalid } from './errors.js';
import type {
  EdgeListOptions,
  EdgeSelector,
  EdgeWalkOptions,
  HopOptions,
  JsonValue,
  NodeListOptions,
  NodeSelector,
  NodeWalkOptions,
  SearchFilter,
  TraverseOptions,
  Where,
} from './types.js';
import { OPERATORS, type PreparedCondition, type PreparedEdgePage, type PreparedEdgeSelector, type PreparedHop, type PreparedNodeFilter, type PreparedNodePage, type Position } from './prepared.js';
import type { StorageSearchFilter, StorageSearchOptions } from './storage.js';
import { checkId, checkType, checkWellFormed, describe, isPlainObject, MAX_EF, MAX_K, prepareSpaceName, requireObject, guard } from './validate.js';

/**
 * Largest page `listNodes`/`listEdges` return at once.
 *
 * @example
 * ```ts
 * db.listNodes({ type: 'Message', limit: MAX_PAGE });
 * ```
 */
export const MAX_PAGE = 10_000;
/**
 * Deepest traversal or path search.
 *
 * @example
 * ```ts
 * db.traverse('ada', { direction: 'out', maxDepth: Math.min(10, MAX_DEPTH) });
 * ```
 */
export const MAX_DEPTH = 64;

/** A type or list of types (`type` options), or strictly a list (`edgeTypes`, `nodeTypes`). */
function typeList(what: string, value: unknown, listOnly = false): string[] {
  if (listOnly && !Array.isArray(value)) throw invalid(`${what} must be an array of types, got ${describe(value)}`);
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw invalid(`${what} must name at least one type`);
  return list.map((t, i) => checkType(`${what}[${i}]`, t));
}

function idList(what: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw invalid(`${what} must be an array of ids, got ${describe(value)}`);
  return value.map((id, i) => checkId(`${what}[${i}]`, id));
}

function checkJson(what: string, value: unknown): JsonValue {
  if (typeof value === 'string') return checkWellFormed(what, value);
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw invalid(`${what} must be a string, finite number, boolean or null, got ${describe(value)}`);
}

/** {@link prepareWhereUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareWhere: typeof prepareWhereUnguarded = (...args) => guard(() => String(args[0]), () => prepareWhereUnguarded(...args));

function prepareWhereUnguarded(what: string, where: unknown): PreparedCondition[] {
  if (where === undefined) return [];
  const w = requireObject(what, where) as Where;
  const out: PreparedCondition[] = [];
  for (const [property, condition] of Object.entries(w)) {
    checkWellFormed(`${what} property ${JSON.stringify(property)}`, property);
    if (!isPlainObject(condition)) {
      out.push([property, { eq: checkJson(`${what}.${property}`, condition) }]);
      continue;
    }
    const ops = Object.entries(condition);
    if (ops.length === 0) throw invalid(`${what}.${property} has no operator (${OPERATORS.join(', ')})`);
    for (const [op, value] of ops) {
      if (!(OPERATORS as readonly string[]).includes(op)) throw invalid(`${what}.${property}.${op} is not an operator (${OPERATORS.join(', ')})`);
      const v = op === 'in' ? (Array.isArray(value) ? value.map((x, i) => checkJson(`${what}.${property}.in[${i}]`, x)) : null) : checkJson(`${what}.${property}.${op}`, value);
      if (v === null && op === 'in') throw invalid(`${what}.${property}.in must be an array, got ${describe(value)}`);
      out.push([property, { [op]: v } as PreparedCondition[1]]);
    }
  }
  return out;
}

/** {@link prepareHopUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareHop: typeof prepareHopUnguarded = (...args) => guard(() => String(args[0]), () => prepareHopUnguarded(...args));

function prepareHopUnguarded(what: string, options: unknown): PreparedHop {
  const o = requireObject(what, options) as Partial<HopOptions>;
  if (o.direction !== 'out' && o.direction !== 'in' && o.direction !== 'both') {
    throw invalid(`${what}.direction must be 'out', 'in' or 'both', got ${describe(o.direction)}`);
  }
  return o.edgeTypes === undefined ? { direction: o.direction } : { direction: o.direction, edgeTypes: typeList(`${what}.edgeTypes`, o.edgeTypes, true) };
}

export function prepareLimit(what: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
    throw invalid(`${what} must be an integer from 1 to ${max}, got ${describe(value)}`);
  }
  return value as number;
}

export function prepareDepth(what: string, value: unknown, min = 1): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > MAX_DEPTH) {
    throw invalid(`${what} must be an integer from ${min} to ${MAX_DEPTH}, got ${describe(value)}`);
  }
  return value as number;
}

/** {@link prepareTraverseUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareTraverse: typeof prepareTraverseUnguarded = (...args) => guard('options', () => prepareTraverseUnguarded(...args));

function prepareTraverseUnguarded(options: unknown): { hop: PreparedHop; maxDepth: number; nodeTypes?: string[]; limit?: number } {
  const o = requireObject('options', options) as Partial<TraverseOptions>;
  return {
    hop: prepareHop('options', o),
    maxDepth: prepareDepth('options.maxDepth', o.maxDepth),
    nodeTypes: o.nodeTypes === undefined ? undefined : typeList('options.nodeTypes', o.nodeTypes, true),
    limit: prepareLimit('options.limit', o.limit),
  };
}

/** {@link prepareNodeSelectorUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareNodeSelector: typeof prepareNodeSelectorUnguarded = (...args) => guard('selector', () => prepareNodeSelectorUnguarded(...args));

function prepareNodeSelectorUnguarded(selector: unknown): PreparedNodeFilter {
  if (Array.isArray(selector)) return { ids: idList('ids', selector), where: [] };
  const s = requireObject('selector', selector) as Exclude<NodeSelector, string[]>;
  for (const key of Object.keys(s)) if (key !== 'type' && key !== 'where') throw invalid(`selector.${key} is not a node selector field (type, where)`);
  if (s.type === undefined && s.where === undefined) throw invalid('selector needs ids, a type or a where clause; deleting every node is not a selector');
  return { types: s.type === undefined ? undefined : typeList('selector.type', s.type), where: prepareWhere('selector.where', s.where) };
}

/** {@link prepareEdgeSelectorUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareEdgeSelector: typeof prepareEdgeSelectorUnguarded = (...args) => guard('selector', () => prepareEdgeSelectorUnguarded(...args));

function prepareEdgeSelectorUnguarded(selector: unknown): PreparedEdgeSelector {
  if (Array.isArray(selector)) return { ids: idList('ids', selector) };
  const s = requireObject('selector', selector) as Exclude<EdgeSelector, string[]>;
  for (const key of Object.keys(s)) if (!['type', 'from', 'to'].includes(key)) throw invalid(`selector.${key} is not an edge selector field (type, from, to)`);
  return {
    type: checkType('selector.type', s.type),
    from: s.from === undefined ? undefined : checkId('selector.from', s.from),
    to: s.to === undefined ? undefined : checkId('selector.to', s.to),
  };
}

// ---- cursors: opaque, tied to the query they came from ----

function fingerprint(query: object): string {
  const text = JSON.stringify(query);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

export function encodeCursor(query: object, position: Position): string {
  return Buffer.from(JSON.stringify({ v: 1, q: fingerprint(query), p: position })).toString('base64url');
}

function decodeCursor(cursor: unknown, query: object): Position {
  if (typeof cursor !== 'string') throw invalid(`cursor must be a string from a previous page, got ${describe(cursor)}`);
  let parsed: { v?: unknown; q?: unknown; p?: Position };
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid(`cursor ${describe(cursor)} is not a LoomDB cursor`);
  }
  if (parsed?.v !== 1 || typeof parsed.p !== 'object' || parsed.p === null) throw invalid(`cursor ${describe(cursor)} is not a LoomDB cursor`);
  if (parsed.q !== fingerprint(query)) throw invalid('cursor belongs to another query (a different type, where, order or direction)');
  const p = parsed.p as Record<string, unknown>;
  if (Number.isSafeInteger(p.key) && (p.key as number) >= 0) return { key: p.key as number };
  if (typeof p.id === 'string') return { id: p.id };
  throw invalid(`cursor ${describe(cursor)} is not a LoomDB cursor`);
}

/** {@link prepareNodeWalkUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareNodeWalk: typeof prepareNodeWalkUnguarded = (...args) => guard('options', () => prepareNodeWalkUnguarded(...args));

/** The filter and order of a node walk, without position or page size. */
function prepareNodeWalkUnguarded(options: unknown): Omit<PreparedNodePage, 'after' | 'limit'> & { after: unknown } {
  const o = (options === undefined ? {} : requireObject('options', options)) as NodeWalkOptions & { cursor?: unknown; limit?: unknown };
  for (const key of Object.keys(o)) {
    if (!['type', 'where', 'orderBy', 'direction', 'after', 'cursor', 'limit'].includes(key)) throw invalid(`options.${key} is not a node walk option`);
  }
  const order = o.orderBy ?? 'createdAt';
  if (order !== 'createdAt' && order !== 'id') throw invalid(`options.orderBy must be 'createdAt' or 'id', got ${describe(order)}`);
  const direction = o.direction ?? 'asc';
  if (direction !== 'asc' && direction !== 'desc') throw invalid(`options.direction must be 'asc' or 'desc', got ${describe(direction)}`);
  const filter: PreparedNodeFilter = { types: o.type === undefined ? undefined : typeList('options.type', o.type), where: prepareWhere('options.where', o.where) };
  return { filter, order, descending: direction === 'desc', after: o.after ?? o.cursor };
}

/** {@link prepareNodePageUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareNodePage: typeof prepareNodePageUnguarded = (...args) => guard('options', () => prepareNodePageUnguarded(...args));

function prepareNodePageUnguarded(options: unknown, defaultLimit?: number): PreparedNodePage {
  const { after, ...query } = prepareNodeWalk(options);
  const limit = prepareLimit('options.limit', (options as NodeListOptions | undefined)?.limit ?? defaultLimit, MAX_PAGE);
  if (limit === undefined) throw invalid('options.limit is required (1 to 10,000)');
  return { ...query, after: after === undefined ? null : decodeCursor(after, query), limit };
}

/** {@link prepareEdgePageUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareEdgePage: typeof prepareEdgePageUnguarded = (...args) => guard('options', () => prepareEdgePageUnguarded(...args));

function prepareEdgePageUnguarded(options: unknown, defaultLimit?: number): PreparedEdgePage {
  const o = (options === undefined ? {} : requireObject('options', options)) as Partial<EdgeWalkOptions & EdgeListOptions>;
  for (const key of Object.keys(o)) {
    if (!['type', 'direction', 'after', 'cursor', 'limit'].includes(key)) throw invalid(`options.${key} is not an edge walk option`);
  }
  const direction = o.direction ?? 'asc';
  if (direction !== 'asc' && direction !== 'desc') throw invalid(`options.direction must be 'asc' or 'desc', got ${describe(direction)}`);
  const query = { type: o.type === undefined ? undefined : checkType('options.type', o.type), descending: direction === 'desc' };
  const limit = prepareLimit('options.limit', o.limit ?? defaultLimit, MAX_PAGE);
  if (limit === undefined) throw invalid('options.limit is required (1 to 10,000)');
  const after = o.after ?? o.cursor;
  return { ...query, after: after === undefined ? null : decodeCursor(after, query), limit };
}

/** The query part of a page, for cursors. */
export const nodeQueryOf = ({ filter, order, descending }: PreparedNodePage) => ({ filter, order, descending });
export const edgeQueryOf = ({ type, descending }: PreparedEdgePage) => ({ type, descending });

type Paged<T> = { items: T[]; next: Position | null };

/** Yields every item of a walk, asking `page` for one page at a time, each strictly after the last. */
export function* walkPages<Q extends { after: Position | null }, T>(query: Q, page: (q: Q) => Paged<T>): Generator<T, void, undefined> {
  for (let q: Q | null = query; q; ) {
    const { items, next } = page(q);
    yield* items;
    q = next ? { ...q, after: next } : null;
  }
}

/** {@link walkPages} for pages read asynchronously: the next page is read only when the consumer reaches it. */
export async function* walkPagesAsync<Q extends { after: Position | null }, T>(query: Q, page: (q: Q) => Promise<Paged<T>>): AsyncGenerator<T, void, undefined> {
  for (let q: Q | null = query; q; ) {
    const { items, next } = await page(q);
    yield* items;
    q = next ? { ...q, after: next } : null;
  }
}

export interface PreparedSearch {
  space: string;
  k: number;
  filter: StorageSearchFilter;
  options: StorageSearchOptions;
}

export function prepareSearch(options: unknown): PreparedSearch {
  return guard('options', () => prepareSearchFields(options));
}

function prepareSearchFields(options: unknown): PreparedSearch {
  const o = (options === undefined ? {} : requireObject('options', options)) as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['k', 'space', 'filter', 'exact', 'ef'].includes(key)) throw invalid(`options.${key} is not a search option (k, space, filter, exact, ef)`);
  }
  const k = o.k ?? 10;
  if (!Number.isSafeInteger(k) || (k as number) < 1 || (k as number) > MAX_K) {
    throw invalid(`options.k must be an integer from 1 to ${MAX_K}, got ${describe(k)}`);
  }
  const search: StorageSearchOptions = {};
  if (o.exact !== undefined) {
    if (typeof o.exact !== 'boolean') throw invalid(`options.exact must be a boolean, got ${describe(o.exact)}`);
    search.exact = o.exact;
  }
  if (o.ef !== undefined) {
    if (!Number.isSafeInteger(o.ef) || (o.ef as number) < 1 || (o.ef as number) > MAX_EF) {
      throw invalid(`options.ef must be an integer from 1 to ${MAX_EF}, got ${describe(o.ef)}`);
    }
    search.ef = o.ef as number;
  }
  return { space: prepareSpaceName(o), k: k as number, filter: prepareFilter(o.filter), options: search };
}

export function prepareFilter(value: unknown): StorageSearchFilter {
  if (value === undefined) return {};
  const f = requireObject('options.filter', value) as SearchFilter & Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (key !== 'type' && key !== 'ids' && key !== 'where') throw invalid(`options.filter.${key} is not a filter field (type, ids, where)`);
  }
  const out: StorageSearchFilter = {};
  if (f.type !== undefined) {
    const types = Array.isArray(f.type) ? f.type : [f.type];
    if (types.length === 0) throw invalid('options.filter.type must name at least one type');
    out.types = types.map((t, i) => checkType(`options.filter.type[${i}]`, t));
  }
  if (f.ids !== undefined) {
    if (!Array.isArray(f.ids)) throw invalid(`options.filter.ids must be an array of ids, got ${describe(f.ids)}`);
    out.ids = f.ids.map((id, i) => checkId(`options.filter.ids[${i}]`, id));
  }
  if (f.where !== undefined) out.where = prepareWhere('options.filter.where', f.where);
  return out;
}
