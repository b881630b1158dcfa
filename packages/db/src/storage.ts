import type { Edge, Node, Properties, SearchHit, SpaceSpec, Stats } from './types.js';
import type { PreparedEdge, PreparedNode } from './validate.js';

/**
 * What a backend can do beyond the required record-level methods. LoomDB
 * uses a capability when present and a generic path otherwise.
 */
export interface StorageCapabilities {
  /** Executes a whole query plan itself (see `@loomdb/query`). */
  nativeQuery: boolean;
  /** Multi-statement transactions. */
  transactions: boolean;
  /** Durable queues (the weaver's inbox). */
  durableQueue: boolean;
  /** Several processes may open the same database at once. */
  multiProcess: boolean;
}

/** The filter a backend's `searchVectors` receives, already validated. */
export interface StorageSearchFilter {
  types?: string[];
  ids?: string[];
}

/**
 * A storage backend, version 1. LoomDB validates every input before calling
 * it (ids, types, JSON properties, vector lengths against the space are the
 * backend's to check), so a backend only stores and retrieves. Each write
 * call is atomic: it either fully happens or throws and changes nothing.
 * Errors should be `LoomError`s (or carry one of its codes as `code`).
 *
 * The built-in `native` and `memory` backends implement exactly this
 * interface; run `@loomdb/db/testing`'s conformance suite against yours.
 */
export interface StorageBackend {
  readonly specificationVersion: 'v1';
  /** The name the backend was registered under. */
  readonly name: string;
  readonly capabilities: StorageCapabilities;

  /** Declares a space, or checks an existing one equals `spec` (else `INVALID_ARGUMENT`). */
  ensureSpace(name: string, spec: Required<SpaceSpec>): void;
  /** Inserts all nodes in one atomic write (`ALREADY_EXISTS` on a taken id). */
  insertNodes(nodes: PreparedNode[]): Node[];
  getNode(id: string): Node | null;
  /** Shallow merge; a `null` value deletes its key. `NOT_FOUND` when absent. */
  updateNode(id: string, patch: Properties): Node;
  /** Also deletes the node's edges and embeddings. */
  deleteNode(id: string): boolean;
  /** `NOT_FOUND` naming a missing endpoint. */
  insertEdge(edge: PreparedEdge): Edge;
  getEdge(id: string): Edge | null;
  deleteEdge(id: string): boolean;
  /** Stores or replaces a vector (`NOT_FOUND` for an unknown node or space, `DIMENSION_MISMATCH`). */
  insertEmbedding(nodeId: string, space: string, vector: Float32Array): void;
  getEmbedding(nodeId: string, space: string): Float32Array | null;
  /**
   * The k nearest neighbours among nodes that pass `filter`, nearest first
   * (ties in any order); fewer only when fewer match. `exactSearch` from this package
   * implements it over any list of vectors.
   */
  searchVectors(space: string, vector: Float32Array, k: number, filter: StorageSearchFilter): SearchHit[];
  stats(): Stats;
  close(): void;
  /** Off-thread versions of the methods above, when the backend has them. */
  readonly async?: AsyncStorageOperations;
}

type Promised<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never };

/** The subset of operations a backend may run off the JavaScript thread. */
export type AsyncStorageOperations = Promised<
  Pick<
    StorageBackend,
    | 'insertNodes'
    | 'getNode'
    | 'updateNode'
    | 'deleteNode'
    | 'insertEdge'
    | 'getEdge'
    | 'deleteEdge'
    | 'insertEmbedding'
    | 'getEmbedding'
    | 'searchVectors'
    | 'stats'
  >
>;

/** What a storage factory receives from `EmbeddedDB.open`. */
export interface StorageOpenOptions {
  /** Database directory (absolute). */
  path: string;
  durability: 'immediate' | 'relaxed';
  busyTimeoutMs: number;
  readOnly: boolean;
  /** Initial LMDB map size in bytes (native backend). */
  mapSize?: number;
}

export type StorageFactory = (options: StorageOpenOptions) => StorageBackend;
