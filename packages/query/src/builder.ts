import { LoomError, type Embedder, type JsonValue, type Node, type StorageCapabilities } from '@loomdb/db';
import type { ExecutablePlan, Execution, QueryItem, Stage } from './executor.js';
import { executeGeneric, type RecordSource } from './generic.js';
import { parsePlan, PLAN_VERSION, type Plan, type PlanOrder, type Scalar, type WhereOperator } from './plan.js';
import { decodeCursor, encodeCursor, orderOf, positionOf } from './semantics.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * A database a query runs on: `EmbeddedDB` or `AsyncEmbeddedDB` (anything
 * with these reads).
 *
 * @example
 * ```ts
 * const sync: QueryableDB = EmbeddedDB.open('./memory.loomdb');
 * const async: QueryableDB = await AsyncEmbeddedDB.open('./other.loomdb');
 * await query(sync).type('Note').execute();
 * ```
 */
export interface QueryableDB extends RecordSource {
  readonly capabilities: StorageCapabilities;
  executeQuery(planJson: string, vector?: Float32Array): MaybePromise<string>;
  embedder(name: string): Embedder;
}

/**
 * Options of {@link query}.
 *
 * @example
 * ```ts
 * const { items } = await query(db, { embedder: createHashingEmbedder() } satisfies QueryOptions)
 *   .similarTo('tea with Alice', { k: 5 })
 *   .execute();
 * ```
 */
export interface QueryOptions {
  /** Embeds `similarTo` text instead of the embedder named in the space's spec. */
  embedder?: Embedder;
}

/**
 * What `execute()` tells about the run.
 *
 * @example
 * ```ts
 * const { stats }: { stats: QueryStats } = await query(db).type('Message').execute();
 * console.log(stats.executor, stats.strategy, stats.returned, stats.timeMs);
 * ```
 */
export interface QueryStats {
  /** `native`: the storage engine ran the plan; `generic`: the record-level executor did. */
  executor: 'native' | 'generic';
  strategy: string;
  returned: number;
  timeMs: number;
}

/**
 * What execute returns: the items, the next page cursor and the run stats.
 *
 * @example
 * ```ts
 * const first: QueryResult = await query(db).type('Message').limit(50).execute();
 * const second = first.nextCursor ? await query(db).type('Message').limit(50).after(first.nextCursor).execute() : null;
 * ```
 */
export interface QueryResult {
  items: QueryItem[];
  /** Pass to `.after()` for the next page; absent on the last page. */
  nextCursor?: string;
  stats: QueryStats;
}

/**
 * `explain()`: how the query ran, step by step, with estimated and actual sizes.
 *
 * @example
 * ```ts
 * const e: Explanation = await query(db).type('Message').where('role', 'eq', 'user').similarTo(vector, { k: 5 }).explain();
 * for (const s of e.stages) console.log(s.stage, s.detail, s.estimated, s.actual);
 * ```
 */
export interface Explanation extends QueryStats {
  plan: Plan;
  stages: Stage[];
}

/**
 * Options of a graph filter: edge types, direction (seen from the result node) and hop count.
 *
 * @example
 * ```ts
 * const mentions: GraphOptions = { edgeTypes: ['MENTIONS'], direction: 'out', maxHops: 1 };
 * await query(db).type('Message').connectedTo(entityId, mentions).execute();
 * ```
 */
export interface GraphOptions {
  /** Only edges of these types. */
  edgeTypes?: string[];
  /** Seen from the result node: `'out'` = result → … → anchor. */
  direction: 'out' | 'in' | 'both';
  /** 1 to 64. */
  maxHops: number;
}

/**
 * Options of a full-text match.
 *
 * @example
 * ```ts
 * await query(db).type('Message').matches('ferry booking', { index: 'default', k: 20 } satisfies MatchesOptions).execute();
 * ```
 */
export interface MatchesOptions {
  /** The text index; default `'default'`. */
  index?: string;
  /** Keep the best `k` matches. */
  k?: number;
  /** With `similarTo`: the text's share of the fused score, 0 to 1 (default 0.7, the engine's). */
  textWeight?: number;
}

/**
 * Options of a similarity condition.
 *
 * @example
 * ```ts
 * await query(db).similarTo(vector, { space: 'default', k: 10, maxDistance: 0.5 } satisfies SimilarOptions).execute();
 * ```
 */
export interface SimilarOptions {
  /** Default `'default'`. */
  space?: string;
  /** How many nearest nodes; default 10. */
  k?: number;
  /** Only nodes at most this far. */
  maxDistance?: number;
  /** Rank every candidate exactly instead of letting the planner use the space's HNSW graph. */
  exact?: boolean;
}

const STREAM_PAGE = 256;

/**
 * The embedder each handle's spaces record, looked up once: a query sends
 * the name it embedded with (`embeddedBy`), and the executor's `CONFLICT`
 * when the space now records another makes the query look again.
 */
const spaceEmbedders = new WeakMap<QueryableDB, Map<string, { name: string; embedder: Embedder }>>();

/** Throws `INVALID_ARGUMENT` unless `db` is a database a query can run on. */
export function checkQueryable(db: unknown): asserts db is QueryableDB {
  const d = db as Partial<QueryableDB> | null;
  if (typeof d !== 'object' || d === null || typeof d.getNode !== 'function' || typeof d.executeQuery !== 'function' || typeof d.embedder !== 'function') {
    throw new LoomError('INVALID_ARGUMENT', `a query needs an EmbeddedDB or AsyncEmbeddedDB, got ${d === null ? 'null' : typeof d}`);
  }
}

function fail(what: string, message: string): never {
  throw new LoomError('INVALID_ARGUMENT', `${what}: ${message}`);
}

const time = (value: unknown, what: string): number => {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return fail(what, `expected a Date or ms since epoch, got ${typeof value === 'number' ? String(value) : typeof value}`);
};

const idList = (ids: unknown): unknown[] => (Array.isArray(ids) ? ids : [ids]);

/**
 * An immutable query: every method returns a new one. It compiles to a
 * versioned JSON plan ({@link ConvergedQuery.toPlan}); the storage engine
 * runs it in one call when it can (`capabilities.nativeQuery`), the generic
 * executor otherwise, with the same results.
 *
 * @example
 * ```ts
 * const { items } = await query(db)
 *   .type('Message')
 *   .where('role', 'eq', 'user')
 *   .connectedTo(entityId, { edgeTypes: ['MENTIONS'], direction: 'out', maxHops: 2 })
 *   .similarTo('hiking in the alps', { k: 10 })
 *   .execute();
 * ```
 */
export class ConvergedQuery {
  readonly #db: QueryableDB;
  readonly #plan: Plan;
  readonly #options: QueryOptions;

  constructor(db: QueryableDB, plan: Plan = { version: PLAN_VERSION }, options: QueryOptions = {}) {
    checkQueryable(db);
    if (options.embedder !== undefined && typeof options.embedder?.embed !== 'function') {
      throw new LoomError('INVALID_ARGUMENT', 'options.embedder must be an Embedder (with dimensions and embed)');
    }
    this.#db = db;
    this.#plan = parsePlan(plan);
    this.#options = options;
  }

  #with(what: string, change: Partial<Plan>): ConvergedQuery {
    const next = { ...this.#plan, ...change };
    for (const key of Object.keys(next) as Array<keyof Plan>) if (next[key] === undefined) delete next[key];
    try {
      return new ConvergedQuery(this.#db, next, this.#options);
    } catch (e) {
      throw LoomError.is(e) ? new LoomError(e.code, `${what}: ${e.message}`) : e;
    }
  }

  /** Only nodes of this type, or of any of these types. */
  type(types: string | string[]): ConvergedQuery {
    return this.#with('type', { types: Array.isArray(types) ? types : [types] });
  }

  /** Only nodes whose `property` satisfies `op` with `value` (for `exists`, `value` defaults to true). */
  where(property: string, op: WhereOperator, value?: Scalar | Scalar[]): ConvergedQuery {
    if (value === undefined && op !== 'exists') fail('where', `"${String(op)}" needs a value`);
    const condition = { property, op, value: value === undefined ? true : value };
    return this.#with('where', { where: [...(this.#plan.where ?? []), condition] });
  }

  /** Only nodes created from `from` to `to`, both included. */
  createdBetween(from: Date | number, to: Date | number): ConvergedQuery {
    return this.#with('createdBetween', { createdBetween: { from: time(from, 'createdBetween from'), to: time(to, 'createdBetween to') } });
  }

  /** Only nodes within `maxHops` of any of the anchors (not the anchors themselves). */
  connectedTo(ids: string | string[], options: GraphOptions): ConvergedQuery {
    return this.#graph('connectedTo', ids, options, false);
  }

  /** Only nodes *not* within `maxHops` of any of the anchors. */
  notConnectedTo(ids: string | string[], options: GraphOptions): ConvergedQuery {
    return this.#graph('notConnectedTo', ids, options, true);
  }

  #graph(what: string, ids: string | string[], options: GraphOptions, negate: boolean): ConvergedQuery {
    if (typeof options !== 'object' || options === null) fail(what, 'options { direction, maxHops, edgeTypes? } are required');
    const { edgeTypes, direction, maxHops, ...rest } = options;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) fail(what, `unknown option "${unknown[0]}" (edgeTypes, direction, maxHops)`);
    const filter = { anchors: idList(ids) as string[], ...(edgeTypes === undefined ? {} : { edgeTypes }), direction, maxHops, negate };
    return this.#with(what, { graph: [...(this.#plan.graph ?? []), filter] });
  }

  /**
   * The `k` nodes nearest to a vector, or to a text embedded by the space's
   * embedder, among those passing every other filter. A text the embedder
   * finds nothing in (it embeds to the zero vector, e.g. `'?!'`) is near
   * nothing: no results.
   */
  similarTo(vectorOrText: Float32Array | readonly number[] | string, options: SimilarOptions = {}): ConvergedQuery {
    if (typeof options !== 'object' || options === null) fail('similarTo', 'options must be an object');
    const { space = 'default', k = 10, maxDistance, exact, ...rest } = options;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) fail('similarTo', `unknown option "${unknown[0]}" (space, k, maxDistance, exact)`);
    const target =
      typeof vectorOrText === 'string'
        ? { text: vectorOrText }
        : vectorOrText instanceof Float32Array || Array.isArray(vectorOrText)
          ? { vector: Array.from(vectorOrText as ArrayLike<number>) }
          : fail('similarTo', `expected a vector (Float32Array or number[]) or a text, got ${vectorOrText === null ? 'null' : typeof vectorOrText}`);
    const extra = { ...(maxDistance === undefined ? {} : { maxDistance }), ...(exact === undefined ? {} : { exact }) };
    return this.#with('similarTo', { similar: { space, k, ...extra, ...target } });
  }

  /**
   * Nodes whose text matches `text` in a full-text index (BM25; default
   * index `'default'`), best first, among those passing every other
   * filter; `k` keeps the best `k`. Together with `similarTo` the two are
   * fused (`textWeight`, default 0.7, is the text's share) and `similarTo`'s
   * `k` results come back. Needs `capabilities.textSearch` (native backend).
   */
  matches(text: string, options: MatchesOptions = {}): ConvergedQuery {
    if (typeof options !== 'object' || options === null) fail('matches', 'options must be an object');
    const { index = 'default', k, textWeight, ...rest } = options;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) fail('matches', `unknown option "${unknown[0]}" (index, k, textWeight)`);
    if (typeof text !== 'string') fail('matches', `expected a text, got ${text === null ? 'null' : typeof text}`);
    return this.#with('matches', { matches: { index, query: text, ...(k === undefined ? {} : { k }), ...(textWeight === undefined ? {} : { textWeight }) } });
  }

  /** Result order: by `'score'` (with `matches`), `'distance'`, `'createdAt'` or a property's value; ties by id. */
  orderBy(key: 'score' | 'distance' | 'createdAt' | (string & {}), direction: 'asc' | 'desc' = 'asc'): ConvergedQuery {
    if (typeof key !== 'string') fail('orderBy', `expected 'score', 'distance', 'createdAt' or a property name, got ${typeof key}`);
    const order: PlanOrder = key === 'score' || key === 'distance' || key === 'createdAt' ? { key: key as PlanOrder['key'], direction } : { key: 'property', property: key, direction };
    return this.#with('orderBy', { orderBy: order });
  }

  /** At most `n` results per page (exactly `n` when that many remain). */
  limit(n: number): ConvergedQuery {
    return this.#with('limit', { limit: n });
  }

  /** Continue after a page: pass its `nextCursor`. */
  after(cursor: string): ConvergedQuery {
    return this.#with('after', { after: cursor });
  }

  /** Keep only these properties on returned nodes (id, type and times stay). */
  select(...properties: Array<string | string[]>): ConvergedQuery {
    return this.#with('select', { select: properties.flat() });
  }

  /** The plan: versioned JSON that `fromPlan` turns back into this query. */
  toPlan(): Plan {
    return structuredClone(this.#plan);
  }

  async #resolve(): Promise<ExecutablePlan> {
    const { after: _after, select: _select, similar, orderBy: _orderBy, ...rest } = this.#plan;
    const plan: ExecutablePlan = { ...rest, order: orderOf(this.#plan) };
    const position = decodeCursor(this.#plan);
    if (position) plan.position = position;
    if (similar) {
      const { text, vector, ...search } = similar;
      plan.similar = vector ? { ...search, vector: Float32Array.from(vector) } : { ...search, ...(await this.#embed(similar.space, text as string)) };
    }
    return plan;
  }

  /** The text's vector, and the name of the space's embedder that made it (none with `options.embedder`). */
  async #embed(space: string, text: string): Promise<{ vector: Float32Array; embeddedBy?: string }> {
    const chosen = this.#options.embedder;
    const recorded = chosen ? undefined : await this.#spaceEmbedder(space);
    const [vector] = await (chosen ?? recorded!.embedder).embed([text]);
    if (!vector) throw new LoomError('INTERNAL', `the embedder of space "${space}" returned no vector`);
    return recorded ? { vector, embeddedBy: recorded.name } : { vector };
  }

  async #spaceEmbedder(space: string): Promise<{ name: string; embedder: Embedder }> {
    let known = spaceEmbedders.get(this.#db);
    if (!known) spaceEmbedders.set(this.#db, (known = new Map()));
    const cached = known.get(space);
    if (cached) return cached;
    const spec = (await this.#db.stats()).spaces.find((s) => s.name === space);
    if (!spec) throw new LoomError('NOT_FOUND', `space "${space}" does not exist`);
    if (!spec.embedder) throw new LoomError('UNSUPPORTED', `space "${space}" has no embedder in its spec, so similarTo needs a vector, not text`);
    const found = { name: spec.embedder, embedder: this.#db.embedder(spec.embedder) };
    known.set(space, found);
    return found;
  }

  async #run(): Promise<{ execution: Execution; executor: QueryStats['executor']; timeMs: number }> {
    try {
      return await this.#runOnce();
    } catch (e) {
      const space = this.#plan.similar?.text === undefined ? undefined : this.#plan.similar.space;
      // The space was replaced since its embedder was looked up (a re-embed, in this process or another): look again.
      if (space === undefined || !LoomError.is(e) || e.code !== 'CONFLICT' || !spaceEmbedders.get(this.#db)?.delete(space)) throw e;
      return this.#runOnce();
    }
  }

  async #runOnce(): Promise<{ execution: Execution; executor: QueryStats['executor']; timeMs: number }> {
    const started = performance.now();
    const plan = await this.#resolve();
    const native = this.#db.capabilities.nativeQuery;
    if (this.#plan.similar?.text !== undefined && plan.similar?.vector.every((x) => x === 0)) {
      const stage = { stage: 'knn', detail: 'the text embeds to the zero vector: nothing is near it', estimated: 0, actual: 0, timeMs: 0 };
      const execution: Execution = { items: [], more: false, strategy: 'none (text without features)', stages: [stage] };
      return { execution, executor: native ? 'native' : 'generic', timeMs: performance.now() - started };
    }
    if (plan.matches && !native) throw new LoomError('UNSUPPORTED', 'matches() needs a backend that runs plans itself with text indexes (the native backend)');
    const execution = native ? await this.#native(plan) : await executeGeneric(this.#db, plan);
    return { execution, executor: native ? 'native' : 'generic', timeMs: performance.now() - started };
  }

  /** One engine call: the plan as JSON, its query vector beside it. */
  async #native(plan: ExecutablePlan): Promise<Execution> {
    const vector = plan.similar?.vector;
    const json = JSON.stringify(plan.similar ? { ...plan, similar: { ...plan.similar, vector: undefined } } : plan);
    return JSON.parse(await this.#db.executeQuery(json, vector)) as Execution;
  }

  #project(node: Node): Node {
    const select = this.#plan.select;
    if (!select) return node;
    const properties: Record<string, JsonValue> = {};
    for (const p of select) if (p in node.properties) properties[p] = node.properties[p] as JsonValue;
    return { ...node, properties };
  }

  /** Runs the query: one page of results (all of them without `limit`). */
  async execute(): Promise<QueryResult> {
    const { execution, executor, timeMs } = await this.#run();
    const items = execution.items.map((it) => ({ ...it, node: this.#project(it.node) }));
    const result: QueryResult = { items, stats: { executor, strategy: execution.strategy, returned: items.length, timeMs } };
    const last = execution.items[execution.items.length - 1];
    if (execution.more && last) result.nextCursor = encodeCursor(this.#plan, positionOf(orderOf(this.#plan), last));
    return result;
  }

  /**
   * The results as an async iterator, read a page at a time as the consumer
   * goes (up to `limit` results when one is set).
   */
  async *stream(): AsyncGenerator<QueryItem, void, undefined> {
    let left = this.#plan.limit ?? Infinity;
    let page: ConvergedQuery = this.limit(Math.min(left, STREAM_PAGE));
    for (;;) {
      const { items, nextCursor } = await page.execute();
      yield* items;
      left -= items.length;
      if (!nextCursor || left <= 0) return;
      page = page.after(nextCursor).limit(Math.min(left, STREAM_PAGE));
    }
  }

  /** Runs the query and reports the chosen strategy and, per stage, estimated and actual sizes and time. */
  async explain(): Promise<Explanation> {
    const { execution, executor, timeMs } = await this.#run();
    return { plan: this.toPlan(), executor, strategy: execution.strategy, stages: execution.stages, returned: execution.items.length, timeMs };
  }
}

/**
 * A new query on `db`.
 *
 * @example
 * ```ts
 * const { items } = await query(db)
 *   .type('Message')
 *   .where('role', 'eq', 'user')
 *   .similarTo([0.1, 0.9, 0.2], { k: 5 })
 *   .execute();
 * ```
 */
export function query(db: QueryableDB, options?: QueryOptions): ConvergedQuery {
  return new ConvergedQuery(db, undefined, options);
}

/**
 * The query a plan describes; `INVALID_ARGUMENT` naming the JSON path when the plan is not valid.
 *
 * @example
 * ```ts
 * const plan = query(db).type('Note').where('tag', 'eq', 'rust').toPlan();
 * const again = await fromPlan(db, JSON.parse(JSON.stringify(plan))).execute(); // validated: bad plans are INVALID_ARGUMENT
 * ```
 */
export function fromPlan(db: QueryableDB, plan: unknown, options?: QueryOptions): ConvergedQuery {
  return new ConvergedQuery(db, plan as Plan, options);
}
