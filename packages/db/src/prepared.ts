/**
 * What validation hands a storage backend: the checked shapes of nodes,
 * edges, hops, filters and pages. Types only (and the condition operators),
 * so the storage contract and the code that prepares its input both depend
 * on this module and not on each other.
 */
import type { Direction, JsonValue, Properties } from './types.js';

/**
 * A node ready for a storage backend: id assigned, everything checked.
 *
 * @example
 * ```ts
 * // What a StorageBackend's insertNode receives, already checked:
 * const node: PreparedNode = { id: 'n1', type: 'Note', properties: { text: 'hi' } };
 * ```
 */
export interface PreparedNode {
  id: string;
  type: string;
  properties: Properties;
}

/**
 * A validated edge.
 *
 * @example
 * ```ts
 * const edge: PreparedEdge = { id: 'e1', type: 'LINKS', from: 'n1', to: 'n2', properties: {}, weight: 1 };
 * ```
 */
export interface PreparedEdge extends PreparedNode {
  from: string;
  to: string;
  weight: number;
}

/**
 * A validated hop.
 *
 * @example
 * ```ts
 * // What a backend's neighbors() receives for db.neighbors(id, { direction: 'out', edgeTypes: ['KNOWS'] }):
 * const hop: PreparedHop = { direction: 'out', edgeTypes: ['KNOWS'] };
 * ```
 */
export interface PreparedHop {
  direction: Direction;
  edgeTypes?: string[];
}

export const OPERATORS = ['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte'] as const;
export type Operator = (typeof OPERATORS)[number];
/**
 * `[property, { operator: value }]`, one operator each.
 *
 * @example
 * ```ts
 * const condition: PreparedCondition = ['age', { gte: 18 }];
 * ```
 */
export type PreparedCondition = [string, Partial<Record<Operator, JsonValue>>];

/**
 * A validated node filter.
 *
 * @example
 * ```ts
 * const filter: PreparedNodeFilter = { types: ['Person'], where: [['age', { gte: 18 }]] };
 * ```
 */
export interface PreparedNodeFilter {
  types?: string[];
  ids?: string[];
  where: PreparedCondition[];
}

/**
 * A validated edge selector.
 *
 * @example
 * ```ts
 * // db.deleteEdges({ type: 'MENTIONS', from: 'm1' }) reaches the backend as:
 * const selector: PreparedEdgeSelector = { type: 'MENTIONS', from: 'm1' };
 * ```
 */
export interface PreparedEdgeSelector {
  ids?: string[];
  type?: string;
  from?: string;
  to?: string;
}

/**
 * Where a page ended: an insertion-order key, or an id.
 *
 * @example
 * ```ts
 * const start: Position = { key: 0 };
 * const afterAda: Position = { id: 'ada' };
 * ```
 */
export type Position = { key: number } | { id: string };

/**
 * A validated node page request.
 *
 * @example
 * ```ts
 * // What a backend's listNodes receives for db.listNodes({ type: 'Person', limit: 100 }):
 * const page: PreparedNodePage = { filter: { types: ['Person'], where: [] }, order: 'createdAt', descending: false, after: null, limit: 100 };
 * ```
 */
export interface PreparedNodePage {
  filter: PreparedNodeFilter;
  order: 'createdAt' | 'id';
  descending: boolean;
  after: Position | null;
  limit: number;
}

/**
 * A validated edge page request.
 *
 * @example
 * ```ts
 * const page: PreparedEdgePage = { type: 'KNOWS', descending: false, after: null, limit: 100 };
 * ```
 */
export interface PreparedEdgePage {
  type?: string;
  descending: boolean;
  after: Position | null;
  limit: number;
}

/**
 * Options of lease.
 *
 * @example
 * ```ts
 * const options: LeaseOptions = { holder: `worker-${process.pid}`, max: 100, leaseMs: 30_000 };
 * const items = db.queue('inbox').lease(options);
 * ```
 */
export interface LeaseOptions {
  /** Who takes the lease: unique per consumer (process and instance). */
  holder: string;
  /** Most items to take. */
  max: number;
  /** How long the lease lasts, ms; after that another consumer may take the items. */
  leaseMs: number;
}
