/**
 * The contract between a query and whatever executes it: a plan with every
 * input resolved (a vector instead of text, a position instead of a cursor,
 * the order made explicit), and what an execution reports back.
 *
 * @module
 */
import type { Node } from '@loomdb/db';
import type { Plan, PlanOrder, PlanSimilar } from './plan.js';
import type { Position } from './semantics.js';

/**
 * A {@link Plan} ready to run: what the native engine receives as JSON, the
 * query vector passed beside it as a `Float32Array`.
 *
 * @example
 * ```ts
 * // What executeGeneric receives: a parsed plan with its vector embedded and its order settled.
 * const plan: ExecutablePlan = { version: PLAN_VERSION, types: ['Note'], order: { key: 'createdAt', direction: 'asc' }, limit: 10 };
 * const { items } = await executeGeneric(db, plan);
 * ```
 */
export interface ExecutablePlan extends Pick<Plan, 'version' | 'types' | 'where' | 'createdBetween' | 'graph' | 'limit' | 'matches'> {
  /** `embeddedBy`: the space's embedder that embedded a text; `CONFLICT` when the space records another. */
  similar?: Omit<PlanSimilar, 'text' | 'vector'> & { vector: Float32Array; embeddedBy?: string };
  order: PlanOrder;
  /** Results start strictly after this position. */
  position?: Position;
}

/**
 * One result.
 *
 * @example
 * ```ts
 * for (const item of (await query(db).similarTo(vector, { k: 3 }).execute()).items as QueryItem[]) {
 *   console.log(item.node.id, item.distance, item.hops);
 * }
 * ```
 */
export interface QueryItem {
  node: Node;
  /** With `similarTo`: distance to the query vector. */
  distance?: number;
  /** With `matches`: BM25 (higher is better), or with `similarTo` too the fused relevance, 0 to 1. */
  score?: number;
  /** With `connectedTo`: fewest hops to an anchor of the first graph filter. */
  hops?: number;
}

/**
 * One step of an execution, for `explain()`.
 *
 * @example
 * ```ts
 * const { stages } = await query(db).type('Message').explain();
 * const slowest: Stage | undefined = [...stages].sort((a, b) => b.timeMs - a.timeMs)[0];
 * ```
 */
export interface Stage {
  stage: string;
  /** What the step used (an index, the anchors, the space…). */
  detail?: string;
  /** The planner's estimate of the nodes coming out, when it made one. */
  estimated: number | null;
  /** Nodes that came out. */
  actual: number;
  timeMs: number;
}

/**
 * What an executor returns.
 *
 * @example
 * ```ts
 * const run: Execution = await executeGeneric(db, plan);
 * console.log(run.items.length, run.more, run.strategy);
 * ```
 */
export interface Execution {
  items: QueryItem[];
  /** More results follow the page. */
  more: boolean;
  /** The chosen strategy, e.g. `graph → filter → exact-knn → order`. */
  strategy: string;
  stages: Stage[];
}
