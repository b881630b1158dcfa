import { LoomError, MAX_DEPTH, MAX_K, type Embedder, type Node } from '@loomdb/db';
import { checkQueryable, fromPlan, type ConvergedQuery, type QueryableDB } from './builder.js';
import type { QueryItem } from './executor.js';
import { EdgeTypes, ENTITY_TEXT_INDEX, MESSAGE_SPACE, MESSAGE_TEXT_INDEX, NodeTypes, normalizeEntityName } from './memory.js';
import { PLAN_VERSION, type Plan, type PlanCondition, type PlanGraphFilter } from './plan.js';

/**
 * Options of MemoryQueries.
 *
 * @example
 * ```ts
 * const memory = new MemoryQueries(db, { embedder: 'local' } satisfies MemoryQueriesOptions);
 * ```
 */
export interface MemoryQueriesOptions {
  /** Embeds query texts: an embedder, or the name of a registered one. Default: the message space's own embedder. */
  embedder?: Embedder | string;
}

/**
 * What every memory query returns.
 *
 * @example
 * ```ts
 * const page: MemoryPage = await memory.getChatHistory('c1', { limit: 20 });
 * if (page.nextCursor) await memory.getChatHistory('c1', { limit: 20, cursor: page.nextCursor });
 * ```
 */
export interface MemoryPage {
  items: QueryItem[];
  /** Pass back as `cursor` for the next page (paged methods only). */
  nextCursor?: string;
}

/**
 * Options of findSimilarMemories.
 *
 * @example
 * ```ts
 * const options: SimilarMemoriesOptions = { k: 5, role: 'user', since: Date.now() - 7 * 86_400_000, mode: 'hybrid' };
 * await memory.findSimilarMemories('weekend plans', options);
 * ```
 */
export interface SimilarMemoriesOptions {
  /** How many messages; default 10. */
  k?: number;
  conversationId?: string;
  role?: string;
  /** Messages with `timestamp` at or after this. */
  since?: Date | number;
  /** Messages with `timestamp` at or before this. */
  until?: Date | number;
  /** Only messages mentioning this entity (its id or its name). */
  entity?: string;
  /**
   * `'hybrid'` (default): the words (BM25 over the text index `'default'`)
   * and the meaning (the message space's vectors), fused as
   * `query().matches().similarTo()` fuses them (items' `score`, 0 to 1);
   * `'text'` (items' `score` is BM25) or `'vector'`: one of them. Hybrid falls back to vectors on a database
   * without that text index; `'text'` there is `NOT_FOUND`. A vector query is vector-only.
   */
  mode?: 'hybrid' | 'text' | 'vector';
  /** Hybrid: the text's share of the fused score, 0 to 1 (default 0.7, the engine's; `explain()` of the same query shows it). */
  textWeight?: number;
}

/**
 * Options of getConversationContext.
 *
 * @example
 * ```ts
 * const { items } = await memory.getConversationContext(messageId, { before: 3, after: 3, includeEntities: true } satisfies ConversationContextOptions);
 * ```
 */
export interface ConversationContextOptions {
  /** Earlier messages to include; default 5. */
  before?: number;
  /** Later messages to include; default 5. */
  after?: number;
  /** Also the entities these messages mention; default true. */
  includeEntities?: boolean;
}

/**
 * Options of searchByEntity.
 *
 * @example
 * ```ts
 * await memory.searchByEntity('Lisbon', { k: 20, hops: 2, types: ['Message'] } satisfies EntitySearchOptions);
 * ```
 */
export interface EntitySearchOptions {
  /** How many nodes per page; default 10. */
  k?: number;
  /** Hops from the entity, along edges of any type and direction; default 1. */
  hops?: number;
  /** Only nodes of these types. */
  types?: string[];
  cursor?: string;
}

/**
 * Options of getChatHistory.
 *
 * @example
 * ```ts
 * await memory.getChatHistory('c1', { limit: 50, order: 'desc' } satisfies ChatHistoryOptions);
 * ```
 */
export interface ChatHistoryOptions {
  /** Messages per page; default 50. */
  limit?: number;
  cursor?: string;
  /** By `timestamp`; default `'asc'`. */
  order?: 'asc' | 'desc';
}

/** An option counting something, checked here so a bad value is named as the caller wrote it (`options.k`), not as a plan field. */
function count(what: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw new LoomError('INVALID_ARGUMENT', `${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value as number;
}

function text(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new LoomError('INVALID_ARGUMENT', `${what} must be a non-empty string, got ${typeof value === 'string' ? '""' : typeof value}`);
  return value;
}

function options<T extends object>(what: string, value: T | undefined, allowed: Array<keyof T>): T {
  if (value === undefined) return {} as T;
  if (typeof value !== 'object' || value === null) throw new LoomError('INVALID_ARGUMENT', `${what} must be an object, got ${value === null ? 'null' : typeof value}`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key as keyof T)) throw new LoomError('INVALID_ARGUMENT', `${what}.${key} is not an option (${allowed.join(', ')})`);
  }
  return value;
}

/** A graph filter anchored at an entity given by id or by name (compared as {@link normalizeEntityName} does). */
function entityAnchor(nameOrId: string, rest: Omit<PlanGraphFilter, 'anchors' | 'anchorMatch'>): PlanGraphFilter {
  const where: PlanCondition[] = [{ property: 'normalizedName', op: 'eq', value: normalizeEntityName(nameOrId) }];
  return { anchors: [nameOrId], anchorMatch: { types: [NodeTypes.Entity], where }, ...rest };
}

const time = (what: string, value: unknown): number => {
  const t = value instanceof Date ? value.getTime() : value;
  if (typeof t !== 'number' || !Number.isFinite(t)) throw new LoomError('INVALID_ARGUMENT', `${what} must be a Date or ms since epoch, got ${String(value)}`);
  return t;
};

/** Most entities a name that matches none exactly stands for, and the share of the best match's score each must reach. */
const FUZZY_ENTITIES = 5;
const FUZZY_SCORE_SHARE = 0.5;

const page = async (q: ConvergedQuery): Promise<MemoryPage> => {
  const { items, nextCursor } = await q.execute();
  return nextCursor ? { items, nextCursor } : { items };
};

/**
 * The questions an assistant asks of its memory, each answered by one
 * query plan over the memory vocabulary (`@loomdb/query/memory`) —
 * `getConversationContext` reads the message, then runs one plan for the
 * conversation and one for the entities it mentions.
 *
 * One rule for absence, as on every read: a message, entity or
 * conversation that does not exist gives an empty page, never an error.
 * Entities are found by id or by name, compared after
 * {@link normalizeEntityName} (so `'anna'` finds `Anna`).
 *
 * @example
 * ```ts
 * const memory = new MemoryQueries(db);
 * const { items } = await memory.findSimilarMemories('where did we plan to hike?', { k: 5 });
 * ```
 */
export class MemoryQueries {
  readonly #db: QueryableDB;
  readonly #embedder?: Embedder;
  #textIndexes?: Promise<Set<string>>;

  constructor(db: QueryableDB, opts?: MemoryQueriesOptions) {
    const o = options('options', opts, ['embedder']);
    checkQueryable(db);
    this.#db = db;
    this.#embedder = typeof o.embedder === 'string' ? db.embedder(o.embedder) : o.embedder;
  }

  /** The query a plan describes, embedding text with this instance's embedder. */
  #query(plan: Omit<Plan, 'version'>): ConvergedQuery {
    return fromPlan(this.#db, { version: PLAN_VERSION, ...plan }, { embedder: this.#embedder });
  }

  /** The `k` messages nearest to a text or vector, optionally only of a conversation, role, time span or mentioning an entity. */
  async findSimilarMemories(textOrVector: string | Float32Array | readonly number[], opts?: SimilarMemoriesOptions): Promise<MemoryPage> {
    const o = options('options', opts, ['k', 'conversationId', 'role', 'since', 'until', 'entity', 'mode', 'textWeight']);
    const target =
      typeof textOrVector === 'string'
        ? { text: textOrVector }
        : textOrVector instanceof Float32Array || Array.isArray(textOrVector)
          ? { vector: Array.from(textOrVector as ArrayLike<number>) }
          : null;
    if (!target) throw new LoomError('INVALID_ARGUMENT', `findSimilarMemories needs a text or a vector (Float32Array or number[]), got ${textOrVector === null ? 'null' : typeof textOrVector}`);
    const mode = o.mode ?? 'hybrid';
    if (!['hybrid', 'text', 'vector'].includes(mode)) throw new LoomError('INVALID_ARGUMENT', `options.mode must be 'hybrid', 'text' or 'vector', got ${String(mode)}`);
    const textWeight = o.textWeight;
    if (textWeight !== undefined && (typeof textWeight !== 'number' || !(textWeight >= 0 && textWeight <= 1))) throw new LoomError('INVALID_ARGUMENT', `options.textWeight must be a number from 0 to 1, got ${String(textWeight)}`);
    const k = count('options.k', o.k, 10, 1, MAX_K);
    const where: PlanCondition[] = [];
    if (o.conversationId !== undefined) where.push({ property: 'conversationId', op: 'eq', value: text('options.conversationId', o.conversationId) });
    if (o.role !== undefined) where.push({ property: 'role', op: 'eq', value: text('options.role', o.role) });
    if (o.since !== undefined) where.push({ property: 'timestamp', op: 'gte', value: time('options.since', o.since) });
    if (o.until !== undefined) where.push({ property: 'timestamp', op: 'lte', value: time('options.until', o.until) });
    const graph = o.entity === undefined ? [] : [entityAnchor(text('options.entity', o.entity), { edgeTypes: [EdgeTypes.MENTIONS], direction: 'out', maxHops: 1, negate: false })];
    const structure = { types: [NodeTypes.Message], ...(where.length ? { where } : {}), ...(graph.length ? { graph } : {}) };
    const similar = (n: number) => this.#query({ ...structure, similar: { space: MESSAGE_SPACE, k: n, ...target } });
    if (typeof textOrVector !== 'string' || textOrVector.trim() === '' || mode === 'vector') return page(similar(k));
    if (!(await this.#hasTextIndex(MESSAGE_TEXT_INDEX))) {
      if (mode === 'text') throw new LoomError('NOT_FOUND', `text search needs the text index "${MESSAGE_TEXT_INDEX}" (the weaver creates it; or db.createTextIndex('${MESSAGE_TEXT_INDEX}', MESSAGE_TEXT_INDEX_SPEC))`);
      return page(similar(k));
    }
    const matches = { index: MESSAGE_TEXT_INDEX, query: textOrVector };
    if (mode === 'text') return page(this.#query({ ...structure, matches: { ...matches, k } }));
    return page(this.#query({ ...structure, matches: { ...matches, ...(textWeight === undefined ? {} : { textWeight }) }, similar: { space: MESSAGE_SPACE, k, ...target } }));
  }

  /** Whether the database has this text index (the list looked up once per instance). */
  async #hasTextIndex(name: string): Promise<boolean> {
    this.#textIndexes ??= (async () => {
      if (!this.#db.capabilities.textSearch || !this.#db.capabilities.nativeQuery) return new Set<string>();
      const stats = await this.#db.stats();
      return new Set((stats.textIndexes ?? []).map((t) => t.name));
    })();
    return (await this.#textIndexes).has(name);
  }

  /**
   * The message with up to `before` earlier and `after` later messages of
   * its conversation, in time order, then the entities they mention.
   * No such message: an empty page.
   */
  async getConversationContext(messageId: string, opts?: ConversationContextOptions): Promise<MemoryPage> {
    const o = options('options', opts, ['before', 'after', 'includeEntities']);
    const before = count('options.before', o.before, 5, 0);
    const after = count('options.after', o.after, 5, 0);
    if (o.includeEntities !== undefined && typeof o.includeEntities !== 'boolean') {
      throw new LoomError('INVALID_ARGUMENT', `options.includeEntities must be a boolean, got ${typeof o.includeEntities}`);
    }
    const message: Node | null = await this.#db.getNode(text('messageId', messageId));
    if (!message || message.type !== NodeTypes.Message) return { items: [] };
    const conversationId = message.properties.conversationId;
    if (typeof conversationId !== 'string') throw new LoomError('INVALID_ARGUMENT', `message "${messageId}" has no conversationId`);
    const { items } = await this.#query({
      types: [NodeTypes.Message],
      where: [{ property: 'conversationId', op: 'eq', value: conversationId }],
      orderBy: { key: 'property', property: 'timestamp', direction: 'asc' },
    }).execute();
    const at = items.findIndex((it) => it.node.id === message.id);
    const window = items.slice(Math.max(0, at - before), at + after + 1);
    if (o.includeEntities === false) return { items: window };
    const mentioned = await this.#query({
      types: [NodeTypes.Entity],
      graph: [{ anchors: window.map((it) => it.node.id), edgeTypes: [EdgeTypes.MENTIONS], direction: 'in', maxHops: 1, negate: false }],
      orderBy: { key: 'property', property: 'name', direction: 'asc' },
    }).execute();
    return { items: [...window, ...mentioned.items] };
  }

  /** Nodes within `hops` of an entity (by id or name), newest first, `k` per page. */
  async searchByEntity(nameOrId: string, opts?: EntitySearchOptions): Promise<MemoryPage> {
    const o = options('options', opts, ['k', 'hops', 'types', 'cursor']);
    const name = text('nameOrId', nameOrId);
    const around = { direction: 'both', maxHops: count('options.hops', o.hops, 1, 1, MAX_DEPTH), negate: false } as const;
    let anchor = entityAnchor(name, around);
    if (!(await this.#isEntity(name))) {
      const like = await this.#entitiesNamedLike(name);
      if (like.length === 0) return { items: [] };
      anchor = { anchors: like, ...around };
    }
    return page(
      this.#query({
        ...(o.types === undefined ? {} : { types: o.types }),
        graph: [anchor],
        orderBy: { key: 'createdAt', direction: 'desc' },
        limit: count('options.k', o.k, 10, 1),
        ...(o.cursor === undefined ? {} : { after: o.cursor }),
      }),
    );
  }

  /** Whether `nameOrId` is an entity's id or its name (compared as {@link normalizeEntityName} does). */
  async #isEntity(nameOrId: string): Promise<boolean> {
    if ((await this.#db.getNode(nameOrId))?.type === NodeTypes.Entity) return true;
    const named = await this.#db.listNodes({ type: NodeTypes.Entity, where: { normalizedName: normalizeEntityName(nameOrId) }, limit: 1 });
    return named.items.length > 0;
  }

  /**
   * When no entity has the name: the entities whose names match it in the
   * entity name index, those scoring at least half the best ("Patel" finds
   * "Dr. Patel", "marco" "Marco Rossi"); none without that index.
   */
  async #entitiesNamedLike(name: string): Promise<string[]> {
    if (!(await this.#hasTextIndex(ENTITY_TEXT_INDEX))) return [];
    const { items } = await this.#query({ types: [NodeTypes.Entity], matches: { index: ENTITY_TEXT_INDEX, query: name, k: FUZZY_ENTITIES } }).execute();
    const best = items[0]?.score ?? 0;
    return items.filter((i) => (i.score ?? 0) >= best * FUZZY_SCORE_SHARE).map((i) => i.node.id);
  }

  /** A conversation's messages by `timestamp`, a page at a time. */
  async getChatHistory(conversationId: string, opts?: ChatHistoryOptions): Promise<MemoryPage> {
    const o = options('options', opts, ['limit', 'cursor', 'order']);
    if (o.order !== undefined && o.order !== 'asc' && o.order !== 'desc') throw new LoomError('INVALID_ARGUMENT', `options.order must be 'asc' or 'desc', got ${String(o.order)}`);
    return page(
      this.#query({
        types: [NodeTypes.Message],
        where: [{ property: 'conversationId', op: 'eq', value: text('conversationId', conversationId) }],
        orderBy: { key: 'property', property: 'timestamp', direction: o.order ?? 'asc' },
        limit: count('options.limit', o.limit, 50, 1),
        ...(o.cursor === undefined ? {} : { after: o.cursor }),
      }),
    );
  }
}
