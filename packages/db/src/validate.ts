import { types } from 'node:util';
import { v7 as uuidv7 } from 'uuid';
import { invalid, LoomError } from './errors.js';
import type { EdgeInput, EmbeddingInput, IndexSpec, NodeInput, Properties, SpaceSpec } from './types.js';
import type { PreparedEdge, PreparedNode } from './prepared.js';

/**
 * Longest id in UTF-8 bytes (the engine keys records by it).
 *
 * @example
 * ```ts
 * if (Buffer.byteLength(id) > MAX_ID_BYTES) throw new Error('id too long for LoomDB');
 * ```
 */
export const MAX_ID_BYTES = 256;
/**
 * Longest node or edge type in UTF-8 bytes.
 *
 * @example
 * ```ts
 * const ok = Buffer.byteLength('Message') <= MAX_TYPE_BYTES; // true
 * ```
 */
export const MAX_TYPE_BYTES = 128;
/**
 * Largest `k` a search accepts.
 *
 * @example
 * ```ts
 * db.searchVectors(vector, { k: Math.min(wanted, MAX_K) });
 * ```
 */
export const MAX_K = 100_000;
/**
 * Most dimensions.
 *
 * @example
 * ```ts
 * const spec = { dimensions: Math.min(4096, MAX_DIMENSIONS), metric: 'cosine' as const };
 * ```
 */
export const MAX_DIMENSIONS = 65_536;
const MAX_DEPTH = 64;

/** A value as an error message shows it: `null`, `undefined`, `42`, `"text"`, `an array`, `a function`. */
export function describe(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'boolean') return String(value);
  if (types.isProxy(value)) return 'a Proxy';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'object') {
    try {
      return `an object of class ${value.constructor?.name ?? 'null-prototype'}`;
    } catch {
      return 'an object';
    }
  }
  return `a ${typeof value}`;
}

/**
 * Runs `fn`, which reads the argument `what` names; an exception other than
 * a LoomError — a getter that throws, a revoked Proxy — becomes
 * INVALID_ARGUMENT naming it. `what` may be a function, called only then.
 */
export function guard<T>(what: string | (() => string), fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (LoomError.is(e)) throw e;
    throw invalid(`${typeof what === 'string' ? what : what()} could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Plain objects and arrays only; a Proxy is neither (its traps could answer differently each time). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || types.isProxy(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function requireObject(what: string, value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalid(`${what} must be an object, got ${describe(value)}`);
  return value;
}

/**
 * The UTF-8 length of `s`, or any number above `max` once it is known to
 * exceed it. Most strings are decided by their UTF-16 length alone (a code
 * unit is 1 to 3 bytes), without encoding them.
 */
function utf8Length(s: string, max: number): number {
  if (s.length * 3 <= max || s.length > max) return s.length;
  return Buffer.byteLength(s, 'utf8');
}

/**
 * Whether `s` is well-formed UTF-16 (no unpaired surrogate): only such
 * strings survive UTF-8 encoding; the others would become U+FFFD, so two
 * different strings could be stored as one.
 */
export const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/** Throws INVALID_ARGUMENT naming `what` unless `s` is well-formed UTF-16. */
export function checkWellFormed(what: string, s: string): string {
  if (!isWellFormed(s)) throw invalid(`${what} contains an unpaired UTF-16 surrogate (it cannot be stored as UTF-8), got ${describe(s)}`);
  return s;
}

export function checkString(what: string, value: unknown, maxBytes: number): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${what} must be a non-empty string, got ${describe(value)}`);
  if (utf8Length(value, maxBytes) > maxBytes) throw invalid(`${what} must be at most ${maxBytes} bytes of UTF-8, got ${describe(value)}`);
  return checkWellFormed(what, value);
}

export function checkId(what: string, value: unknown): string {
  return checkString(what, value, MAX_ID_BYTES);
}

export function checkType(what: string, value: unknown): string {
  const t = checkString(what, value, MAX_TYPE_BYTES);
  if (t.includes('\0')) throw invalid(`${what} must not contain NUL, got ${describe(t)}`);
  return t;
}

/**
 * Longest indexed property name, in UTF-8 bytes.
 *
 * @example
 * ```ts
 * const fits = Object.keys(properties).every((k) => Buffer.byteLength(k) <= MAX_PROPERTY_BYTES);
 * ```
 */
export const MAX_PROPERTY_BYTES = 128;

/** {@link prepareIndexSpecUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareIndexSpec: typeof prepareIndexSpecUnguarded = (...args) => guard('index', () => prepareIndexSpecUnguarded(...args));

function prepareIndexSpecUnguarded(spec: unknown): IndexSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw invalid(`index must be { type, property }, got ${describe(spec)}`);
  const { type, property, ...rest } = spec as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw invalid(`index has unknown field "${unknown[0]}"; expected { type, property }`);
  const p = checkString('index.property', property, MAX_PROPERTY_BYTES);
  if (p.includes('\0')) throw invalid(`index.property must not contain NUL, got ${describe(p)}`);
  return { type: checkType('index.type', type), property: p };
}

/**
 * Checks that `value` is a JSON object made only of JSON values: no
 * undefined, NaN, Infinity, bigint, functions, symbols, class instances or
 * cycles. `allowNull` lets top-level values be `null` (an update deletes them).
 */
export function checkProperties(what: string, value: unknown, allowNullValues = false): Properties {
  if (value === undefined) return {};
  const obj = requireObject(what, value);
  const ancestors: object[] = [];
  // The value being read, for the error when a getter throws (one try for the whole walk: cheap).
  let reading = what;
  const read = (path: string, o: object, key: string | number): unknown => {
    reading = path;
    return (o as Record<string | number, unknown>)[key];
  };
  const walk = (path: string, v: unknown, depth: number): void => {
    switch (typeof v) {
      case 'string':
        checkWellFormed(path, v);
        return;
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v)) throw invalid(`${path} is ${v}; properties must be JSON values`);
        return;
      case 'object': {
        if (v === null) return;
        if (types.isProxy(v)) throw invalid(`${path} is a Proxy; properties must be JSON values (plain objects, arrays, strings, finite numbers, booleans, null)`);
        if (depth > MAX_DEPTH) throw invalid(`${path} nests deeper than ${MAX_DEPTH} levels`);
        if (ancestors.includes(v)) throw invalid(`${path} is a cyclic reference; properties must be JSON values`);
        ancestors.push(v);
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            if (!(i in v)) throw invalid(`${path}[${i}] is a hole in a sparse array; properties must be JSON values (use null)`);
            const at = `${path}[${i}]`;
            walk(at, read(at, v, i), depth + 1);
          }
        } else if (isPlainObject(v)) {
          for (const key of Object.keys(v)) {
            const at = `${path}.${checkKey(path, key)}`;
            walk(at, read(at, v, key), depth + 1);
          }
        } else {
          throw invalid(`${path} is ${describe(v)}; properties must be JSON values (plain objects, arrays, strings, finite numbers, booleans, null)`);
        }
        ancestors.pop();
        return;
      }
      default:
        throw invalid(`${path} is ${describe(v)}; properties must be JSON values`);
    }
  };
  ancestors.push(obj);
  try {
    for (const key of Object.keys(obj)) {
      const at = `${what}.${checkKey(what, key)}`;
      const v = read(at, obj, key);
      if (allowNullValues && v === null) continue;
      walk(at, v, 1);
    }
  } catch (e) {
    if (LoomError.is(e)) throw e;
    throw invalid(`${reading} could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
  return obj as Properties;
}

function checkKey(path: string, key: string): string {
  if (!isWellFormed(key)) throw invalid(`${path} has a property key with an unpaired UTF-16 surrogate, ${describe(key)}; it cannot be stored as UTF-8`);
  return key;
}

export function prepareNode(input: unknown, what = 'node'): PreparedNode {
  return guard(what, () => prepareNodeFields(input, what));
}

function prepareNodeFields(input: unknown, what: string): PreparedNode {
  const n = requireObject(what, input) as Partial<NodeInput>;
  return {
    id: n.id === undefined ? uuidv7() : checkId(`${what}.id`, n.id),
    type: checkType(`${what}.type`, n.type),
    properties: checkProperties(`${what}.properties`, n.properties),
  };
}

export function prepareEdge(input: unknown, what = 'edge'): PreparedEdge {
  return guard(what, () => prepareEdgeFields(input, what));
}

function prepareEdgeFields(input: unknown, what: string): PreparedEdge {
  const e = requireObject(what, input) as Partial<EdgeInput>;
  const weight = e.weight ?? 1;
  if (typeof weight !== 'number' || !Number.isFinite(weight)) throw invalid(`${what}.weight must be a finite number, got ${describe(weight)}`);
  return {
    id: e.id === undefined ? uuidv7() : checkId(`${what}.id`, e.id),
    type: checkType(`${what}.type`, e.type),
    from: checkId(`${what}.from`, e.from),
    to: checkId(`${what}.to`, e.to),
    properties: checkProperties(`${what}.properties`, e.properties),
    weight,
  };
}

export function preparePatch(input: unknown): Properties {
  return guard('update', () => preparePatchFields(input));
}

function preparePatchFields(input: unknown): Properties {
  const patch = requireObject('update', input) as { properties?: unknown };
  if (patch.properties === undefined) throw invalid('update.properties is required, e.g. updateNode(id, { properties: { name: "x" } })');
  return checkProperties('update.properties', patch.properties, true);
}

/** An edge update: properties to merge and/or a new weight. */
export function prepareEdgePatch(input: unknown): { properties: Properties; weight?: number } {
  return guard('update', () => prepareEdgePatchFields(input));
}

function prepareEdgePatchFields(input: unknown): { properties: Properties; weight?: number } {
  const u = requireObject('update', input) as { properties?: unknown; weight?: unknown };
  for (const key of Object.keys(u)) if (key !== 'properties' && key !== 'weight') throw invalid(`update.${key} is not editable; an edge update has properties and/or weight`);
  if (u.properties === undefined && u.weight === undefined) throw invalid('update needs properties and/or weight, e.g. updateEdge(id, { weight: 2 })');
  if (u.weight !== undefined && (typeof u.weight !== 'number' || !Number.isFinite(u.weight))) throw invalid(`update.weight must be a finite number, got ${describe(u.weight)}`);
  const properties = u.properties === undefined ? {} : checkProperties('update.properties', u.properties, true);
  return u.weight === undefined ? { properties } : { properties, weight: u.weight as number };
}

/** Copies a vector into a Float32Array after checking every element. */
export function prepareVector(value: unknown, what = 'vector'): Float32Array {
  return guard(what, () => prepareVectorElements(value, what));
}

function prepareVectorElements(value: unknown, what: string): Float32Array {
  if (!(value instanceof Float32Array) && !Array.isArray(value) && !(value instanceof Float64Array)) {
    throw invalid(`${what} must be a Float32Array or an array of numbers, got ${describe(value)}`);
  }
  const source = value as ArrayLike<unknown>;
  if (source.length === 0) throw invalid(`${what} is empty`);
  if (source.length > MAX_DIMENSIONS) throw invalid(`${what} has ${source.length} numbers; at most ${MAX_DIMENSIONS} are allowed`);
  const out = new Float32Array(source.length);
  for (let i = 0; i < source.length; i++) {
    const x = source[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw invalid(`${what}[${i}] is ${describe(x)}; vectors hold finite numbers`);
    out[i] = x;
    if (!Number.isFinite(out[i])) throw invalid(`${what}[${i}] is ${x}, outside the float32 range`);
  }
  const norm = vectorNorm(out);
  if (norm > MAX_VECTOR_NORM) {
    throw invalid(`${what} has norm ${norm.toExponential(3)}; vectors must have a norm of at most 2^62 (about 4.6e18) so that distances stay finite`);
  }
  return out;
}

/**
 * Largest Euclidean norm a vector may have (2^62 ≈ 4.6e18): then every sum
 * of squares, dot product and squared L2 distance between two vectors stays
 * finite in float32 arithmetic, as the native engine computes them.
 *
 * @example
 * ```ts
 * const norm = Math.hypot(...vector);
 * if (norm > MAX_VECTOR_NORM) throw new Error('scale the vector down first');
 * ```
 */
export const MAX_VECTOR_NORM = 2 ** 62;
/**
 * Smallest norm of a vector in a cosine space (2^-63): its squared norm is then a normal float32, not 0.
 *
 * @example
 * ```ts
 * const usable = Math.hypot(...vector) >= MIN_COSINE_NORM; // a zero vector has no direction
 * ```
 */
export const MIN_COSINE_NORM = 2 ** -63;

/** The Euclidean norm, in float64 (which neither overflows nor underflows on float32 values). */
export function vectorNorm(v: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] as number) * (v[i] as number);
  return Math.sqrt(sum);
}

/** What a backend checks once it knows the space's metric: a cosine vector needs a direction. */
export function checkVectorForMetric(space: string, metric: string, v: Float32Array): void {
  if (metric !== 'cosine') return;
  const norm = vectorNorm(v);
  if (norm < MIN_COSINE_NORM) {
    throw invalid(`the vector has norm ${norm === 0 ? 0 : norm.toExponential(3)}; space "${space}" is cosine, which needs a norm of at least 2^-63 (about 1.1e-19): a zero vector has no direction`);
  }
}

/** {@link prepareSpaceNameUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareSpaceName: typeof prepareSpaceNameUnguarded = (...args) => guard('options', () => prepareSpaceNameUnguarded(...args));

function prepareSpaceNameUnguarded(options: unknown): string {
  if (options === undefined) return 'default';
  const o = requireObject('options', options) as { space?: unknown };
  if (o.space === undefined) return 'default';
  if (typeof o.space !== 'string' || o.space.length === 0) throw invalid(`options.space must be a non-empty string, got ${describe(o.space)}`);
  return checkWellFormed('options.space', o.space);
}

/** Largest `M`. */
export const MAX_M = 256;
/**
 * Largest `efConstruction` or `ef`, per space or per query.
 *
 * @example
 * ```ts
 * db.searchVectors(vector, { k: 10, ef: Math.min(512, MAX_EF) });
 * ```
 */
export const MAX_EF = 100_000;
const SPACE_FIELDS = ['dimensions', 'metric', 'index', 'M', 'efConstruction', 'ef', 'embedder'];
const HNSW_PARAMS = [
  ['M', 2, MAX_M],
  ['efConstruction', 1, MAX_EF],
  ['ef', 1, MAX_EF],
] as const;
/** What a new hnsw space gets for the parameters left out. */
/** Longest name of a space or a text index. */
export const MAX_NAME = 64;

/** A space's or text index's name: 1 to {@link MAX_NAME} characters of `[A-Za-z0-9_-]`, or INVALID_ARGUMENT naming `what`. */
export function checkName(what: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value) || value.length > MAX_NAME) {
    throw invalid(`${what} must be 1 to ${MAX_NAME} characters of [A-Za-z0-9_-], got ${describe(value)}`);
  }
  return value;
}
const HNSW_DEFAULTS = { M: 16, efConstruction: 128, ef: 64 } as const;

/** {@link prepareSpaceSpecUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareSpaceSpec: typeof prepareSpaceSpecUnguarded = (...args) => guard(() => `spaces.${String(args[0])}`, () => prepareSpaceSpecUnguarded(...args));

/** Checks a declared space; returns only the fields given. */
function prepareSpaceSpecUnguarded(name: string, spec: unknown): SpaceSpec {
  const what = `spaces.${name}`;
  checkName('space name', name);
  const s = requireObject(what, spec) as Partial<SpaceSpec> & Record<string, unknown>;
  for (const key of Object.keys(s)) {
    if (!SPACE_FIELDS.includes(key)) throw invalid(`${what}.${key} is not a space field (${SPACE_FIELDS.join(', ')})`);
  }
  if (!Number.isSafeInteger(s.dimensions) || (s.dimensions as number) < 1 || (s.dimensions as number) > MAX_DIMENSIONS) {
    throw invalid(`${what}.dimensions must be an integer from 1 to ${MAX_DIMENSIONS}, got ${describe(s.dimensions)}`);
  }
  if (s.metric !== 'cosine' && s.metric !== 'l2' && s.metric !== 'dot') {
    throw invalid(`${what}.metric must be 'cosine', 'l2' or 'dot', got ${describe(s.metric)}`);
  }
  const out: SpaceSpec = { dimensions: s.dimensions as number, metric: s.metric };
  if (s.index !== undefined) {
    if (typeof s.index !== 'string' || s.index.length === 0) throw invalid(`${what}.index must be 'hnsw' or 'flat', got ${describe(s.index)}`);
    out.index = s.index;
  }
  for (const [field, min, max] of HNSW_PARAMS) {
    const v = s[field];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
      throw invalid(`${what}.${field} must be an integer from ${min} to ${max}, got ${describe(v)}`);
    }
    if ((out.index ?? 'hnsw') !== 'hnsw') throw invalid(`${what}.${field} applies to index 'hnsw' only, the index is ${describe(out.index)}`);
    out[field] = v as number;
  }
  if (s.embedder !== undefined) {
    if (typeof s.embedder !== 'string' || s.embedder.length === 0 || s.embedder.length > 128) {
      throw invalid(`${what}.embedder must be an embedder name of 1 to 128 characters, got ${describe(s.embedder)}`);
    }
    out.embedder = s.embedder;
  }
  return out;
}

/**
 * A declared spec as a new space stores it: `index` and the HNSW parameters filled in.
 *
 * @example
 * ```ts
 * resolveSpaceSpec({ dimensions: 384, metric: 'cosine' }).index; // 'hnsw'
 * ```
 */
export function resolveSpaceSpec(spec: SpaceSpec): SpaceSpec & { index: string } {
  const index = spec.index ?? 'hnsw';
  return index === 'hnsw' ? { ...HNSW_DEFAULTS, ...spec, index } : { ...spec, index };
}

/**
 * Whether a declaration agrees with a stored spec: every field it gives is equal.
 *
 * @example
 * ```ts
 * spaceSpecAdmits({ dimensions: 384, metric: 'cosine', index: 'hnsw' }, { dimensions: 384, metric: 'cosine' }); // true
 * ```
 */
export function spaceSpecAdmits(stored: SpaceSpec, declared: SpaceSpec): boolean {
  return (Object.keys(declared) as Array<keyof SpaceSpec>).every((field) => declared[field] === undefined || declared[field] === stored[field]);
}

/** {@link prepareBatchUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareBatch: typeof prepareBatchUnguarded = (...args) => guard('nodes', () => prepareBatchUnguarded(...args));

function prepareBatchUnguarded(nodes: unknown): ReturnType<typeof prepareNode>[] {
  if (!Array.isArray(nodes)) throw invalid(`nodes must be an array, got ${typeof nodes}`);
  return nodes.map((n, i) => prepareNode(n, `nodes[${i}]`));
}

/** {@link prepareEdgeBatchUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareEdgeBatch: typeof prepareEdgeBatchUnguarded = (...args) => guard('edges', () => prepareEdgeBatchUnguarded(...args));

function prepareEdgeBatchUnguarded(edges: unknown): ReturnType<typeof prepareEdge>[] {
  if (!Array.isArray(edges)) throw invalid(`edges must be an array, got ${typeof edges}`);
  return edges.map((e, i) => prepareEdge(e, `edges[${i}]`));
}

/** {@link prepareCounterEdgesUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareCounterEdges: typeof prepareCounterEdgesUnguarded = (...args) => guard(() => String(args[1] ?? 'edges'), () => prepareCounterEdgesUnguarded(...args));

/** An edge batch whose every item names its id (counter edges are found by id); `what` names the list in errors. */
function prepareCounterEdgesUnguarded(edges: unknown, what = 'edges'): ReturnType<typeof prepareEdge>[] {
  if (!Array.isArray(edges)) throw invalid(`${what} must be an array, got ${typeof edges}`);
  return edges.map((e, i) => {
    if (typeof e === 'object' && e !== null && (e as EdgeInput).id === undefined) throw invalid(`${what}[${i}].id is required: counter edges are found by id`);
    return prepareEdge(e, `${what}[${i}]`);
  });
}

/** {@link prepareEmbeddingBatchUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareEmbeddingBatch: typeof prepareEmbeddingBatchUnguarded = (...args) => guard('embeddings', () => prepareEmbeddingBatchUnguarded(...args));

function prepareEmbeddingBatchUnguarded(items: unknown): Array<{ nodeId: string; space: string; vector: Float32Array }> {
  if (!Array.isArray(items)) throw invalid(`embeddings must be an array, got ${typeof items}`);
  return items.map((item, i) => {
    const e = (typeof item === 'object' && item !== null ? item : {}) as Partial<EmbeddingInput>;
    if (typeof item !== 'object' || item === null) throw invalid(`embeddings[${i}] must be an object, got ${typeof item}`);
    return {
      nodeId: checkId(`embeddings[${i}].nodeId`, e.nodeId),
      space: prepareSpaceName({ space: e.space }),
      vector: prepareVector(e.vector, `embeddings[${i}].vector`),
    };
  });
}
