import type {
  BackupResult,
  CompactResult,
  Edge,
  IndexSpec,
  Metrics,
  Neighbor,
  Node,
  Path,
  Properties,
  Reached,
  SearchHit,
  SpaceSpec,
  Stats,
  TextHit,
  TextIndexSpec,
  StorageUsage,
  VerifyResult,
  ExportedRecord,
} from './types.js';
import type { LeaseOptions, PreparedCondition, PreparedEdge, PreparedEdgePage, PreparedEdgeSelector, PreparedHop, PreparedNode, PreparedNodeFilter, PreparedNodePage, Position } from './prepared.js';

/**
 * What a backend can do beyond the required record-level methods. LoomDB
 * uses a capability when present and a generic path otherwise.
 *
 * @example
 * ```ts
 * const capabilities: StorageCapabilities = { nativeQuery: false, transactions: true, durableQueue: false, multiProcess: false, writeBatch: false, textSearch: false };
 * if (!db.capabilities.textSearch) console.log('searchText is UNSUPPORTED here');
 * ```
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
  /**
   * `writeBatch` and `changeSequence`: several writes in one commit,
   * optionally only if the graph is unchanged. Without it LoomDB applies a
   * batch's parts in a transaction, with no conditions.
   */
  writeBatch?: boolean;
  /** `createTextIndex`, `dropTextIndex` and `searchText`: full-text indexes kept in the same commits as the nodes. */
  textSearch?: boolean;
}

/**
 * An item to push on a durable queue: `id` dedupes, `payload` is opaque text.
 *
 * @example
 * ```ts
 * const item: QueueItemInput = { id: 'evt-1', payload: JSON.stringify({ content: 'hi' }) };
 * db.queue('inbox').push([item]); // [true]; pushing the same id again gives [false]
 * ```
 */
export interface QueueItemInput {
  id: string;
  payload: string;
}

/**
 * An item leased to a consumer. `seq` orders the queue and names the item in later calls.
 *
 * @example
 * ```ts
 * for (const item of db.queue('inbox').lease({ holder: 'w1', max: 10, leaseMs: 30_000 }) as LeasedQueueItem[]) {
 *   console.log(item.seq, item.id, item.attempts, JSON.parse(item.payload));
 * }
 * ```
 */
export interface LeasedQueueItem {
  seq: number;
  id: string;
  payload: string;
  /** Leases taken on the item so far, this one included (1 on first delivery). */
  attempts: number;
  /** When it was pushed, ms since epoch. */
  enqueuedAt: number;
}

/**
 * An item that failed for good, with the reason.
 *
 * @example
 * ```ts
 * for (const d of db.queue('weaver-inbox').deadLetters() as DeadLetter[]) console.error(d.id, d.attempts, d.error);
 * ```
 */
export interface DeadLetter {
  seq: number;
  id: string;
  payload: string;
  attempts: number;
  error: string;
  failedAt: number;
}

/**
 * Counts of one queue (committed state).
 *
 * @example
 * ```ts
 * const { pending, done, dead }: QueueStats = db.queue('weaver-inbox').stats();
 * ```
 */
export interface QueueStats {
  /** Pushed and not yet acknowledged or dead-lettered (leased ones included). */
  pending: number;
  done: number;
  dead: number;
}

/**
 * Durable queues, version 1: present when `capabilities.durableQueue`. Named
 * FIFO queues stored with the data, so a consumer can acknowledge items in
 * the same transaction as the writes they caused. Contract:
 * - an id is stored once per queue, ever (a repeated push returns `false`);
 * - `queueLease` hands out the oldest items that are not leased, whose lease
 *   expired (a consumer died) or whose release back-off has passed;
 * - only the holder of an item's lease may ack, dead-letter or release it;
 *   `queueAck` and `queueDeadLetter` throw `CONFLICT` otherwise and change nothing.
 * Times are the backend's clock in ms.
 *
 * @example
 * ```ts
 * // A backend with capabilities.durableQueue implements these; users call them through db.queue(name):
 * const inbox = db.queue('inbox');
 * inbox.push([{ id: 'e1', payload: '{}' }]);
 * const [item] = inbox.lease({ holder: 'w1', max: 1, leaseMs: 30_000 });
 * inbox.ack('w1', [item!.seq]);
 * ```
 */
export interface StorageQueues {
  /** Appends the items whose ids are new; returns for each whether it was stored. */
  queuePush(queue: string, items: QueueItemInput[]): boolean[];
  queueLease(queue: string, holder: string, max: number, leaseMs: number): LeasedQueueItem[];
  queueAck(queue: string, holder: string, seqs: number[]): void;
  /** Makes items leasable again after `delayMs`; items `holder` no longer holds are skipped. */
  queueRelease(queue: string, holder: string, seqs: number[], delayMs: number): void;
  queueDeadLetter(queue: string, holder: string, seq: number, error: string): void;
  queueStats(queue: string): QueueStats;
  /** The oldest `limit` dead letters. */
  queueDeadLetters(queue: string, limit: number): DeadLetter[];
}

/**
 * A `writeBatch` call's writes, validated, in the order they apply.
 *
 * @example
 * ```ts
 * // What a backend's writeBatch receives for db.writeBatch({ insertNodes: [{ type: 'Note' }] }):
 * function count(batch: PreparedWriteBatch): number {
 *   return batch.insertNodes.length + batch.insertEdges.length;
 * }
 * ```
 */
export interface PreparedWriteBatch {
  deleteEdges: PreparedEdgeSelector[];
  insertNodes: PreparedNode[];
  updateNodes: Array<{ id: string; patch: Properties }>;
  insertEdges: PreparedEdge[];
  addEdgeWeights: PreparedEdge[];
  insertEmbeddings: Array<{ nodeId: string; space: string; vector: Float32Array }>;
  queue?: {
    name: string;
    push: QueueItemInput[];
    ack?: { holder: string; seqs: number[] };
    lease?: LeaseOptions;
  };
}

/**
 * The conditions and durability of a backend's `writeBatch`, validated.
 *
 * @example
 * ```ts
 * const options: StorageBatchOptions = { ifChangeSequence: 41, tag: 'w1/7' };
 * ```
 */
export interface StorageBatchOptions {
  ifChangeSequence?: number;
  ifAfter?: string;
  tag?: string;
  durability?: 'immediate' | 'relaxed';
}

/**
 * What a backend's `writeBatch` reports.
 *
 * @example
 * ```ts
 * // The backend side of db.writeBatch: ids written, items pushed and leased, the new change sequence.
 * const result: StorageBatchResult = backend.writeBatch!(prepared, {});
 * ```
 */
export interface StorageBatchResult {
  pushed: boolean[];
  leased: LeasedQueueItem[];
  changeSequence: number;
}

/**
 * The filter a backend's `searchVectors` receives, already validated.
 *
 * @example
 * ```ts
 * // db.searchVectors(v, { filter: { type: 'Message', where: { role: 'user' } } }) reaches the backend as a StorageSearchFilter:
 * const filter: StorageSearchFilter = { types: ['Message'], where: [['role', { eq: 'user' }]] };
 * ```
 */
export interface StorageSearchFilter {
  types?: string[];
  ids?: string[];
  /** Conditions as `[property, { operator: value }]`, all of which must hold. */
  where?: PreparedCondition[];
}

/**
 * How a backend with an index of its own should search.
 *
 * @example
 * ```ts
 * const hits = backend.searchVectors(new Float32Array([1, 0, 0]), { k: 5, space: 'default' } as StorageSearchOptions);
 * ```
 */
export interface StorageSearchOptions {
  /** Scan exactly, bypassing any index. */
  exact?: boolean;
  /** Index search breadth for this query. */
  ef?: number;
}

/**
 * The data operations of a storage backend, which its transactions offer
 * too. LoomDB validates every input before calling them (ids, types, JSON
 * properties; vector lengths against the space are the backend's to check),
 * so a backend only stores and retrieves. Each write call is atomic: it
 * either fully happens or throws and changes nothing. Errors should be
 * `LoomError`s (or carry one of its codes as `code`). The queue methods are
 * there when `capabilities.durableQueue` is.
 *
 * @example
 * ```ts
 * // Implemented by every backend (and its transactions); EmbeddedDB validates input, then calls them.
 * function nodeCount(ops: StorageOperations): number {
 *   return ops.stats().nodes;
 * }
 * ```
 */
export interface StorageOperations extends Partial<StorageQueues> {
  /**
   * Declares a space (filling in `index: 'hnsw'` and, for hnsw, `M: 16`,
   * `efConstruction: 128`, `ef: 64`), or checks that an existing one has
   * every field `spec` gives (else `INVALID_ARGUMENT`). An index the backend
   * lacks is `UNSUPPORTED`.
   */
  ensureSpace(name: string, spec: SpaceSpec): void;
  /**
   * Declares a property index and fills it; `false` when it existed. Query
   * results must not depend on indexes: they only make `where` faster.
   */
  createIndex(spec: IndexSpec): boolean;
  /** Removes a property index; `false` when there was none. */
  dropIndex(spec: IndexSpec): boolean;
  /** `ALREADY_EXISTS` on a taken id. */
  insertNode(node: PreparedNode): Node;
  /** Inserts all nodes in one atomic write (`ALREADY_EXISTS` on a taken id). */
  insertNodes(nodes: PreparedNode[]): void;
  getNode(id: string): Node | null;
  /** Shallow merge; a `null` value deletes its key. `NOT_FOUND` when absent. */
  updateNode(id: string, patch: Properties): Node;
  /** Also deletes the node's edges and embeddings. */
  deleteNode(id: string): boolean;
  /** `NOT_FOUND` naming a missing endpoint. */
  insertEdge(edge: PreparedEdge): Edge;
  getEdge(id: string): Edge | null;
  /** Shallow-merges `patch` into the properties (`null` deletes a key) and sets the weight when given. `NOT_FOUND` when absent. */
  updateEdge(id: string, patch: Properties, weight?: number): Edge;
  deleteEdge(id: string): boolean;
  /** Stores or replaces a vector (`NOT_FOUND` for an unknown node or space, `DIMENSION_MISMATCH`). */
  insertEmbedding(nodeId: string, space: string, vector: Float32Array): void;
  getEmbedding(nodeId: string, space: string): Float32Array | null;
  /**
   * The k nearest neighbours among nodes that pass `filter`, nearest first
   * (ties in any order); fewer only when fewer match. `exactSearch` from this package
   * implements it over any list of vectors; a backend with an index may
   * approximate unless `options.exact`.
   */
  searchVectors(space: string, vector: Float32Array, k: number, filter: StorageSearchFilter, options?: StorageSearchOptions): SearchHit[];
  /** Inserts all edges in one atomic write; `NOT_FOUND` names a missing endpoint. */
  insertEdges(edges: PreparedEdge[]): void;
  /**
   * Counter edges, in one atomic write: adds each edge's weight to the
   * edge with its id, creating it as given when absent (and the weight is
   * positive), deleting it when the sum drops to 0 or below. An existing
   * edge with another type or endpoints is `INVALID_ARGUMENT`.
   */
  addEdgeWeights(edges: PreparedEdge[]): void;
  /** Stores all vectors in one atomic write. */
  insertEmbeddings(items: Array<{ nodeId: string; space: string; vector: Float32Array }>): void;
  /** Deletes the nodes the filter admits (ids, types, where), with their edges and embeddings; returns the count. */
  deleteNodes(filter: PreparedNodeFilter): number;
  /** Deletes the edges named by id, or of a type (from/to narrowing); returns the count. */
  deleteEdges(selector: PreparedEdgeSelector): number;
  /** `NOT_FOUND` when `id` is absent. */
  neighbors(id: string, hop: PreparedHop, limit?: number): Neighbor[];
  degree(id: string, hop: PreparedHop): number;
  /** Breadth-first, each node once, the start excluded. */
  traverse(id: string, hop: PreparedHop, options: { maxDepth: number; nodeTypes?: string[]; limit?: number }): Reached[];
  /** Fewest edges within `maxDepth`, or null. */
  shortestPath(from: string, to: string, hop: PreparedHop, maxDepth: number): Path | null;
  /**
   * One page strictly after `query.after`, in `query.order` (`createdAt` is
   * insertion order), and where the next one starts (null on the last page).
   */
  listNodes(query: PreparedNodePage): { items: Node[]; next: Position | null };
  /** One page of edges in insertion order. */
  listEdges(query: PreparedEdgePage): { items: Edge[]; next: Position | null };
  stats(): Stats;
  /**
   * Runs a whole `@loomdb/query` plan, given and answered as JSON text in
   * that package's executor contract (the query vector may come beside the
   * JSON); present when `capabilities.nativeQuery`.
   */
  executeQuery?(planJson: string, vector?: Float32Array): string;
  /**
   * Applies every part of `batch` in one atomic write (a savepoint inside a
   * transaction), in the order of {@link PreparedWriteBatch}; with
   * `ifChangeSequence`, only if `changeSequence()` still returns it, with
   * `ifAfter`, only if the batch last committed with that `tag` made the
   * last change to the graph (else `CONFLICT`). Present when
   * `capabilities.writeBatch`.
   */
  writeBatch?(batch: PreparedWriteBatch, options: StorageBatchOptions): StorageBatchResult;
  /** A number that moves with every committed node, edge or embedding write, and only with those. Present when `capabilities.writeBatch`. */
  changeSequence?(): number;
  /**
   * Declares a text index and fills it from the nodes there are, reporting
   * nodes done to `control.onProgress` (`false` from it stops: `ABORTED`,
   * nothing written); `false` when it existed with this spec,
   * `INVALID_ARGUMENT` when it exists with another. Present when `capabilities.textSearch`.
   */
  createTextIndex?(name: string, spec: TextIndexSpec, control: MaintenanceControl): boolean;
  /** Removes a text index; `false` when there was none. Present when `capabilities.textSearch`. */
  dropTextIndex?(name: string): boolean;
  /**
   * The `k` best BM25 matches of `query` in the index that pass `filter`,
   * best first; none for a query without terms. Present when `capabilities.textSearch`.
   */
  searchText?(index: string, query: string, k: number, filter: StorageSearchFilter): TextHit[];
}

/**
 * A write transaction (`capabilities.transactions`): the same operations,
 * whose reads see the transaction's writes while nobody else sees them
 * before `commit`. Writers outside it wait (or get `LOCKED`). It is used
 * only on the JavaScript thread.
 *
 * @example
 * ```ts
 * const tx: StorageTransaction = backend.beginTransaction!();
 * try {
 *   tx.insertNode({ id: 'n1', type: 'Note', properties: {} });
 *   tx.commit();
 * } catch (e) {
 *   tx.rollback();
 *   throw e;
 * }
 * ```
 */
export interface StorageTransaction extends StorageOperations {
  commit(): void;
  /** Undoes every write of the transaction. */
  rollback(): void;
  /** Opens a savepoint: the writes after it can be undone alone. */
  savepoint(): void;
  /** Ends the newest savepoint, keeping its writes or undoing them. */
  endSavepoint(keep: boolean): void;
}

/**
 * A storage backend, version 1: the {@link StorageOperations} plus identity,
 * capabilities and lifecycle.
 *
 * The built-in `native` and `memory` backends implement exactly this
 * interface; run `@loomdb/db/testing`'s conformance suite against yours.
 *
 * @example
 * ```ts
 * const plugin: LoomPlugin = {
 *   name: 'scratch',
 *   register: (r) => r.registerStorage('scratch', (options): StorageBackend => new MemoryStorage({ readOnly: options.readOnly })),
 * };
 * const db = EmbeddedDB.open('./unused', { plugins: [plugin], storage: 'scratch' });
 * ```
 */
export interface StorageBackend extends StorageOperations {
  readonly specificationVersion: 'v1';
  /** The name the backend was registered under. */
  readonly name: string;
  readonly capabilities: StorageCapabilities;
  /**
   * Begins a write transaction, waiting up to the busy timeout for other
   * writers (when `capabilities.transactions`). `durability` overrides the
   * database's for this transaction's commit (backends without durability
   * levels ignore it).
   */
  beginTransaction?(options?: TransactionOptions): StorageTransaction;
  close(): void;
  /** Off-thread versions of the methods above, when the backend has them. */
  readonly async?: AsyncStorageOperations;
  /** Backup, compaction, verification and engine metrics, for a backend with a data file. */
  readonly maintenance?: StorageMaintenance;
  /** Whole-space operations that `reembed` builds on; without them `reembed` is `UNSUPPORTED`. */
  readonly spaces?: StorageSpaces;
}

/**
 * Whole-space operations (`StorageBackend.spaces`): what re-embedding a
 * space needs to build new vectors beside the live ones and swap them in.
 *
 * @example
 * ```ts
 * // What db.reembed builds on; a backend without it makes reembed UNSUPPORTED.
 * if (backend.spaces) backend.spaces.drop('old-space');
 * ```
 */
export interface StorageSpaces {
  /** Removes a space with its vectors; `false` when there was none. */
  drop(name: string): boolean;
  /**
   * Up to `limit` nodes that have a vector in `from` and none in `to`,
   * strictly after `after` (the `next` of the previous page; `null` to start)
   * in an order of the backend's, and where to go on (`null` at the end).
   */
  missing(from: string, to: string, after: Position | null, limit: number): { items: Node[]; next: Position | null };
  /**
   * In one atomic write: `name` takes `by`'s vectors and the spec `spec`
   * (whose dimensions must be `by`'s, else `DIMENSION_MISMATCH`), its old
   * vectors are deleted and the name `by` is gone. `CONFLICT`, changing
   * nothing, while a node with a vector in `name` has none in `by`.
   */
  replace(name: string, by: string, spec: SpaceSpec): void;
  readonly async: {
    missing(from: string, to: string, after: Position | null, limit: number): Promise<{ items: Node[]; next: Position | null }>;
    replace(name: string, by: string, spec: SpaceSpec): Promise<void>;
  };
}

/**
 * Control of a long maintenance call: `onProgress` sees bytes copied and
 * returns `false` to stop a synchronous run; `signal` stops an asynchronous one.
 *
 * @example
 * ```ts
 * const control: MaintenanceControl = { signal: AbortSignal.timeout(60_000), onProgress: (done, total) => true };
 * backend.maintenance?.backup('./memory-backup', control);
 * ```
 */
export interface MaintenanceControl {
  onProgress?: (done: number, total: number) => boolean;
  signal?: AbortSignal;
}

/**
 * Engine figures a backend reports for `db.metrics()`.
 *
 * @example
 * ```ts
 * const engine: EngineMetrics | undefined = backend.maintenance?.metrics();
 * console.log(engine?.storage.fileBytes);
 * ```
 */
export type EngineMetrics = Pick<Metrics, 'uptimeS' | 'operations' | 'caches' | 'sidecars' | 'readers' | 'vectorIndexes'> & { storage: StorageUsage };

/**
 * Whole-database operations (`StorageBackend.maintenance`). Each runs synchronously or, under `async`, off the JS thread.
 *
 * @example
 * ```ts
 * // Users reach it through db.backup(), db.compact(), db.verify() and db.metrics():
 * const maintenance: StorageMaintenance | undefined = backend.maintenance;
 * console.log(maintenance?.verify().ok);
 * ```
 */
export interface StorageMaintenance {
  /** A consistent snapshot into a new directory, while others read and write. */
  backup(destPath: string, control: MaintenanceControl): BackupResult;
  /** Rewrites the file without free pages; `LOCKED` naming other processes that have it open. */
  compact(control: MaintenanceControl): CompactResult;
  verify(): VerifyResult;
  /** Brings every derived index (HNSW graphs) up to the last commit on this call, instead of in the background. */
  catchUpIndexes(): void;
  metrics(): EngineMetrics;
  usage(): StorageUsage;
  /** Inserts exported records as they were (ids, times), in creation order, in one commit. */
  load(records: ExportedRecord[]): void;
  readonly async: {
    backup(destPath: string, control: MaintenanceControl): Promise<BackupResult>;
    compact(control: MaintenanceControl): Promise<CompactResult>;
    verify(): Promise<VerifyResult>;
    catchUpIndexes(): Promise<void>;
    metrics(): Promise<EngineMetrics>;
    usage(): Promise<StorageUsage>;
  };
}

type Promised<T> = { [K in keyof T]: NonNullable<T[K]> extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never };

/**
 * The operations a backend may run off the JavaScript thread.
 *
 * @example
 * ```ts
 * for (const name of ASYNC_OPERATIONS) if (!backend.async?.[name]) console.log(`${name} runs on the JS thread`);
 * ```
 */
export const ASYNC_OPERATIONS = [
  'createIndex',
  'dropIndex',
  'insertNode',
  'insertNodes',
  'getNode',
  'updateNode',
  'deleteNode',
  'insertEdge',
  'getEdge',
  'updateEdge',
  'deleteEdge',
  'insertEmbedding',
  'getEmbedding',
  'searchVectors',
  'insertEdges',
  'addEdgeWeights',
  'insertEmbeddings',
  'deleteNodes',
  'deleteEdges',
  'neighbors',
  'degree',
  'traverse',
  'shortestPath',
  'listNodes',
  'listEdges',
  'stats',
  'executeQuery',
  'writeBatch',
  'changeSequence',
  'createTextIndex',
  'dropTextIndex',
  'searchText',
] as const;

/**
 * Promise-returning versions of {@link ASYNC_OPERATIONS}, plus a
 * `beginTransaction` that waits for the writer lock without blocking the
 * JavaScript thread.
 *
 * @example
 * ```ts
 * const ops: AsyncStorageOperations | undefined = backend.async;
 * const node = await ops?.getNode('ada');
 * ```
 */
export type AsyncStorageOperations = Promised<Pick<StorageBackend, (typeof ASYNC_OPERATIONS)[number]>> & {
  beginTransaction?(options?: TransactionOptions): Promise<StorageTransaction>;
};
/**
 * Options of one transaction.
 *
 * @example
 * ```ts
 * db.transaction((tx) => {
 *   tx.queue('inbox').ack('w1', seqs);
 * }, { durability: 'relaxed' } satisfies TransactionOptions);
 * ```
 */
export interface TransactionOptions {
  /**
   * How its commit reaches the disk, instead of the database's setting:
   * `relaxed` suits work that can be redone after an OS crash, such as
   * items acknowledged from a durable queue in the same commit.
   */
  durability?: 'immediate' | 'relaxed';
}

/**
 * What a storage factory receives from `EmbeddedDB.open`.
 *
 * @example
 * ```ts
 * const factory: StorageFactory = (options: StorageOpenOptions) => new MemoryStorage({ readOnly: options.readOnly });
 * ```
 */
export interface StorageOpenOptions {
  /** Database directory (absolute). */
  path: string;
  durability: 'immediate' | 'relaxed';
  busyTimeoutMs: number;
  readOnly: boolean;
  /** Initial LMDB map size in bytes (native backend). */
  mapSize?: number;
  /** Largest node or edge record a write may store (native backend); see `OpenOptions.maxRecordBytes`. */
  maxRecordBytes?: number;
}

/**
 * Makes a backend.
 *
 * @example
 * ```ts
 * const factory: StorageFactory = (options) => new MemoryStorage({ readOnly: options.readOnly });
 * const plugin: LoomPlugin = { name: 'scratch', register: (r) => r.registerStorage('scratch', factory) };
 * ```
 */
export type StorageFactory = (options: StorageOpenOptions) => StorageBackend;
