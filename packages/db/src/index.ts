/**
 * LoomDB: an embedded graph + vector database for Node.js.
 *
 * ```ts
 * import { EmbeddedDB } from '@loomdb/db';
 * const db = EmbeddedDB.open(); // the per-user default database
 * ```
 *
 * @packageDocumentation
 */
export { EmbeddedDB } from './embedded-db.js';
export { AsyncEmbeddedDB, type LongOperationOptions } from './async-db.js';
export { Transaction, type AsyncTransaction } from './transaction.js';
export { DatabaseOperations } from './operations.js';
export type { WriteBatch, WriteBatchOptions, WriteBatchResult } from './write-batch.js';
export { DEFAULT_MAX_RECORD_BYTES, type OpenOptions } from './open.js';
export {
  LoomError,
  LOOM_ERROR_CODES,
  type LoomErrorCode,
  NotFoundError,
  AlreadyExistsError,
  InvalidArgumentError,
  DimensionMismatchError,
  LockedError,
  ReadOnlyError,
  ClosedError,
  ConflictError,
  BackpressureError,
  CorruptionError,
  IoError,
  UnsupportedError,
  AbortedError,
  InternalError,
  abortedError,
} from './errors.js';
export { defaultDbPath, DEFAULT_DB_NAME } from './paths.js';
export type {
  LoomPlugin,
  PluginRegistry,
  PluginOptions,
  Embedder,
  EmbedderFactory,
  Extractor,
  ExtractorFactory,
  ExtractedEntity,
} from './plugins.js';
export { hashingEmbed, createHashingEmbedder, hashingEmbedderPlugin, HASHING_DIMENSIONS } from './embedders/hashing.js';
export { DurableQueue, MAX_QUEUE_NAME_BYTES, MAX_LEASE } from './queue.js';
export type {
  QueueItemInput,
  LeasedQueueItem,
  DeadLetter,
  QueueStats,
  StorageQueues,
  StorageBackend,
  StorageCapabilities,
  StorageFactory,
  StorageOpenOptions,
  StorageSearchFilter,
  StorageSearchOptions,
  StorageOperations,
  StorageTransaction,
  PreparedWriteBatch,
  StorageBatchOptions,
  StorageBatchResult,
  TransactionOptions,
  AsyncStorageOperations,
} from './storage.js';
export type { PreparedNode, PreparedEdge, LeaseOptions } from './prepared.js';
export { MAX_ID_BYTES, MAX_TYPE_BYTES, MAX_PROPERTY_BYTES, MAX_K, MAX_DIMENSIONS, MAX_EF, MAX_VECTOR_NORM, MIN_COSINE_NORM, resolveSpaceSpec, spaceSpecAdmits } from './validate.js';
export { MemoryStorage, memoryStoragePlugin } from './backends/memory.js';
export { NativeStorage, nativeStoragePlugin } from './backends/native.js';
export { distance, exactSearch } from './exact-search.js';
export { byteOrder, compareJsonValues, jsonValuesEqual, valueSatisfies } from './json-order.js';
export { MAX_PAGE, MAX_DEPTH } from './walk.js';
export { ASYNC_OPERATIONS } from './storage.js';
export type { EngineMetrics, MaintenanceControl, StorageMaintenance, StorageSpaces } from './storage.js';
export { DEFAULT_TEXT_INDEX, MAX_TEXT_QUERY_BYTES } from './text-search.js';
export { REEMBED_SUFFIX, type ReembedOptions, type ReembedResult } from './reembed.js';
export { toPrometheus } from './prometheus.js';
export type { PreparedCondition, PreparedEdgePage, PreparedEdgeSelector, PreparedHop, PreparedNodeFilter, PreparedNodePage, Position } from './prepared.js';
export type * from './types.js';
