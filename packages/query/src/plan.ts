/**
 * Query plans: the versioned JSON a {@link ConvergedQuery} compiles to, and
 * the only thing executors see. A plan can be stored, sent and turned back
 * into a query with `fromPlan`, which validates it here.
 *
 * @module
 */
import { LoomError, MAX_DEPTH, MAX_ID_BYTES, MAX_K, MAX_TYPE_BYTES } from '@loomdb/db';
import { z } from 'zod';

/**
 * The plan version this release writes and reads.
 *
 * @example
 * ```ts
 * const plan = query(db).type('Note').toPlan();
 * console.log(plan.version === PLAN_VERSION); // true
 * ```
 */
export const PLAN_VERSION = 1;

/**
 * Operators of `where`. Values compare as JSON: numbers with numbers, strings with strings (bytewise), booleans with booleans.
 *
 * @example
 * ```ts
 * const op = 'gte';
 * if ((WHERE_OPERATORS as readonly string[]).includes(op)) query(db).where('age', op as WhereOperator, 18);
 * ```
 */
export const WHERE_OPERATORS = ['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'contains', 'startsWith', 'exists'] as const;
/**
 * A where operator.
 *
 * @example
 * ```ts
 * const op: WhereOperator = 'startsWith';
 * await query(db).type('Entity').where('name', op, 'Ada').execute();
 * ```
 */
export type WhereOperator = (typeof WHERE_OPERATORS)[number];

/**
 * A value a condition compares with.
 *
 * @example
 * ```ts
 * const value: Scalar = 'user';
 * query(db).where('role', 'eq', value);
 * ```
 */
export type Scalar = string | number | boolean | null;

/**
 * One property condition. A missing property fails every operator but
 * `ne` (and `exists: false`). `contains`: a string property containing the
 * string, or an array property with an element equal to the value.
 * `startsWith`: a string property with that prefix. `exists`: `true` when
 * the property is present (even `null`), `false` when absent.
 *
 * @example
 * ```ts
 * const condition: PlanCondition = { property: 'role', op: 'eq', value: 'user' };
 * fromPlan(db, { version: PLAN_VERSION, where: [condition] });
 * ```
 */
export interface PlanCondition {
  property: string;
  op: WhereOperator;
  /** A scalar; an array of scalars for `in`; a boolean for `exists`; a string for `startsWith`. */
  value: Scalar | Scalar[];
}

/**
 * A graph filter. `direction` is seen from the result node: `'out'` keeps
 * nodes with a path of edges result → … → anchor. A node is within `maxHops`
 * when its shortest such path has 1 to `maxHops` edges; the anchors
 * themselves are never within. The anchors are the nodes named in
 * `anchors` plus those `anchorMatch` selects (at least one of the two is
 * given); ids that do not exist reach nothing.
 *
 * @example
 * ```ts
 * const graph: PlanGraphFilter = { anchors: ['ent1'], edgeTypes: ['MENTIONS'], direction: 'out', maxHops: 1, negate: false };
 * fromPlan(db, { version: PLAN_VERSION, types: ['Message'], graph: [graph] });
 * ```
 */
export interface PlanGraphFilter {
  anchors?: string[];
  anchorMatch?: PlanAnchorMatch;
  edgeTypes?: string[];
  direction: 'out' | 'in' | 'both';
  maxHops: number;
  /** `notConnectedTo`: keep the nodes the filter would drop. */
  negate: boolean;
}

/**
 * Nearest neighbours: among nodes that pass every other filter and have a
 * vector in `space` within `maxDistance`, the `k` nearest (ties by id).
 * Exactly one of `vector` and `text`; text goes through the space's embedder.
 *
 * @example
 * ```ts
 * const similar: PlanSimilar = { space: 'default', k: 10, text: 'trip to Lisbon' };
 * fromPlan(db, { version: PLAN_VERSION, types: ['Message'], similar });
 * ```
 */
export interface PlanSimilar {
  space: string;
  k: number;
  maxDistance?: number;
  /**
   * Rank every candidate exactly. Without it the planner searches the
   * space's HNSW graph (filtered by the rest of the plan) when many nodes
   * are candidates, and scans exactly when few are; `k` results come back
   * whenever `k` nodes pass the filters, either way.
   */
  exact?: boolean;
  vector?: number[];
  text?: string;
}

/**
 * Full-text matching over a text index (BM25): the `k` best matches that
 * pass every other filter (all of them without `k`). With `similar` too,
 * each retriever proposes candidates and their scores are fused:
 * `textWeight` × normalised BM25 + (1 − `textWeight`) × vector similarity.
 */
export interface PlanMatches {
  index: string;
  query: string;
  k?: number;
  /** 0 to 1, default 0.7 (the engine's; `explain()` shows the weight used). */
  textWeight?: number;
}

/**
 * Anchors chosen by type and conditions, like a query's structural part.
 *
 * @example
 * ```ts
 * const anchorMatch: PlanAnchorMatch = { types: ['Entity'], where: [{ property: 'name', op: 'eq', value: 'Lisbon' }] };
 * fromPlan(db, { version: PLAN_VERSION, types: ['Message'], graph: [{ anchorMatch, direction: 'out', maxHops: 1, negate: false }] });
 * ```
 */
export interface PlanAnchorMatch {
  types?: string[];
  where?: PlanCondition[];
}

/**
 * Result order; ties are broken by node id (bytewise), in the same direction.
 *
 * @example
 * ```ts
 * const orderBy: PlanOrder = { key: 'createdAt', direction: 'desc' };
 * fromPlan(db, { version: PLAN_VERSION, types: ['Message'], orderBy, limit: 20 });
 * ```
 */
export interface PlanOrder {
  /** `score` needs `matches`, `distance` needs `similar`; `property` orders by `property`'s value (missing < null < booleans < numbers < strings < arrays/objects). */
  key: 'score' | 'distance' | 'createdAt' | 'property';
  property?: string;
  direction: 'asc' | 'desc';
}

/**
 * A query, version 1. Every part is optional but `version`; no part means no restriction.
 *
 * @example
 * ```ts
 * const plan: Plan = { version: PLAN_VERSION, types: ['Message'], where: [{ property: 'role', op: 'eq', value: 'user' }], limit: 10 };
 * const { items } = await fromPlan(db, plan).execute();
 * ```
 */
export interface Plan {
  version: typeof PLAN_VERSION;
  /** Only nodes of these types. */
  types?: string[];
  where?: PlanCondition[];
  /** `from <= createdAt <= to`, ms since epoch. */
  createdBetween?: { from: number; to: number };
  graph?: PlanGraphFilter[];
  similar?: PlanSimilar;
  matches?: PlanMatches;
  /** Default: `score` descending with `matches`, `distance` ascending with `similar` alone, else `createdAt` ascending. */
  orderBy?: PlanOrder;
  /** Page size; absent: every result. */
  limit?: number;
  /** `nextCursor` of the previous page of the same query. */
  after?: string;
  /** Properties to keep on returned nodes (id, type and times are always kept). */
  select?: string[];
}

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s).length;

const id = z.string().refine((s) => s.length > 0 && bytes(s) <= MAX_ID_BYTES, `must be an id of 1 to ${MAX_ID_BYTES} bytes`);
const type = z.string().refine((s) => s.length > 0 && bytes(s) <= MAX_TYPE_BYTES && !s.includes('\0'), `must be a type of 1 to ${MAX_TYPE_BYTES} bytes without NUL`);
const property = z.string().refine((s) => s.length > 0 && bytes(s) <= 128 && !s.includes('\0'), 'must be a property name of 1 to 128 bytes without NUL');
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** A space's or text index's name, as `@loomdb/db` checks it. */
const name = (what: string) => z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, `must be a ${what} name of 1 to 64 characters of [A-Za-z0-9_-]`);
const positive = (max: number) => z.number().int().min(1).max(max);

const condition = z
  .object({ property, op: z.enum(WHERE_OPERATORS), value: z.union([scalar, z.array(scalar)]) })
  .strict()
  .superRefine((c, ctx) => {
    const fail = (expected: string) => ctx.addIssue({ code: 'custom', path: ['value'], message: `must be ${expected} for "${c.op}"` });
    if (c.op === 'in') {
      if (!Array.isArray(c.value)) fail('an array of strings, numbers, booleans or nulls');
    } else if (Array.isArray(c.value)) fail('a string, number, boolean or null');
    else if (c.op === 'exists' && typeof c.value !== 'boolean') fail('a boolean');
    else if (c.op === 'startsWith' && typeof c.value !== 'string') fail('a string');
  });

const anchorMatch = z.object({ types: z.array(type).min(1).optional(), where: z.array(condition).optional() }).strict();

const graphFilter = z
  .object({
    anchors: z.array(id).min(1).optional(),
    anchorMatch: anchorMatch.optional(),
    edgeTypes: z.array(type).min(1).optional(),
    direction: z.enum(['out', 'in', 'both']),
    maxHops: positive(MAX_DEPTH),
    negate: z.boolean(),
  })
  .strict()
  .superRefine((g, ctx) => {
    if (!g.anchors && !g.anchorMatch) ctx.addIssue({ code: 'custom', path: ['anchors'], message: 'or anchorMatch is required' });
  });

const similar = z
  .object({
    space: name('space'),
    k: positive(MAX_K),
    maxDistance: z.number().optional(),
    exact: z.boolean().optional(),
    vector: z.array(z.number()).min(1).optional(),
    text: z.string().optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if ((s.vector === undefined) === (s.text === undefined)) ctx.addIssue({ code: 'custom', path: [], message: 'needs exactly one of vector and text' });
  });

const matches = z
  .object({
    index: name('text index'),
    query: z.string().refine((q) => q.trim().length > 0, 'must be a non-empty text'),
    k: positive(MAX_K).optional(),
    textWeight: z.number().min(0).max(1).optional(),
  })
  .strict();

const order = z
  .object({ key: z.enum(['score', 'distance', 'createdAt', 'property']), property: property.optional(), direction: z.enum(['asc', 'desc']) })
  .strict()
  .superRefine((o, ctx) => {
    if ((o.key === 'property') !== (o.property !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['property'], message: 'is required with key "property" and only then' });
    }
  });

const planSchema = z
  .object({
    version: z.literal(PLAN_VERSION),
    types: z.array(type).min(1).optional(),
    where: z.array(condition).optional(),
    createdBetween: z.object({ from: z.number(), to: z.number() }).strict().optional(),
    graph: z.array(graphFilter).optional(),
    similar: similar.optional(),
    matches: matches.optional(),
    orderBy: order.optional(),
    limit: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    after: z.string().min(1).optional(),
    select: z.array(property).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.orderBy?.key === 'distance' && !p.similar) ctx.addIssue({ code: 'custom', path: ['orderBy', 'key'], message: 'is "distance", which needs similar' });
    if (p.orderBy?.key === 'score' && !p.matches) ctx.addIssue({ code: 'custom', path: ['orderBy', 'key'], message: 'is "score", which needs matches' });
  });

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** `plan.where[0].op` */
function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : `${text}.${String(key)}`), 'plan');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, key) => (typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined), root);
}

/**
 * Checks that `plan` is a valid plan of this version and returns it typed.
 * `INVALID_ARGUMENT` names the first offending JSON path and value; an
 * unknown version, operator or field is invalid.
 *
 * @example
 * ```ts
 * const plan = parsePlan(JSON.parse(body)); // INVALID_ARGUMENT naming the JSON path when bad
 * await fromPlan(db, plan).execute();
 * ```
 */
export function parsePlan(plan: unknown): Plan {
  const version = (plan as { version?: unknown } | null)?.version;
  if (typeof plan === 'object' && plan !== null && version !== PLAN_VERSION) {
    throw new LoomError('INVALID_ARGUMENT', `plan.version is ${describe(version)}; this release reads plan version ${PLAN_VERSION}`);
  }
  const result = planSchema.safeParse(plan);
  if (result.success) return result.data as Plan;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    throw new LoomError('INVALID_ARGUMENT', `${pathText(issue.path)} has unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`);
  }
  const at = valueAt(plan, issue.path);
  throw new LoomError('INVALID_ARGUMENT', `${pathText(issue.path)} ${issue.message.replace(/^Invalid input: /, '').replace(/^./, (c) => c.toLowerCase())}, got ${describe(at)}`);
}
