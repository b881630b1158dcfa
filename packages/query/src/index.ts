/**
 * LoomDB queries: one plan mixing structural filters, graph hops and
 * semantic search, run in the storage engine when it can and by a generic
 * executor otherwise; the memory vocabulary (also `@loomdb/query/memory`)
 * and `MemoryQueries`.
 *
 * ```ts
 * import { query } from '@loomdb/query';
 * const { items } = await query(db).type('Message').similarTo(vector, { k: 5 }).execute();
 * ```
 *
 * @packageDocumentation
 */
export {
  ConvergedQuery,
  query,
  fromPlan,
  type QueryableDB,
  type QueryOptions,
  type QueryResult,
  type QueryStats,
  type Explanation,
  type GraphOptions,
  type SimilarOptions,
  type MatchesOptions,
} from './builder.js';
export {
  parsePlan,
  PLAN_VERSION,
  WHERE_OPERATORS,
  type Plan,
  type PlanAnchorMatch,
  type PlanCondition,
  type PlanGraphFilter,
  type PlanOrder,
  type PlanSimilar,
  type Scalar,
  type WhereOperator,
} from './plan.js';
export type { ExecutablePlan, Execution, QueryItem, Stage } from './executor.js';
export { executeGeneric, type RecordSource } from './generic.js';
export {
  MemoryQueries,
  type MemoryQueriesOptions,
  type MemoryPage,
  type SimilarMemoriesOptions,
  type ConversationContextOptions,
  type EntitySearchOptions,
  type ChatHistoryOptions,
} from './memory-queries.js';
export * from './memory.js';
