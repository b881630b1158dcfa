/**
 * The LoomDB engine, compiled from Rust, and its typed loader.
 *
 * Users should not need this package directly: `@loomdb/db` wraps it in
 * `EmbeddedDB`. Records cross the boundary as JSON text and vectors as
 * `Float32Array`; every function whose last argument is `true` runs on the
 * libuv thread pool and returns a promise instead of a value. Engine errors
 * are `Error`s with a string `code` (see `@loomdb/db`'s `LoomErrorCode`).
 *
 * @packageDocumentation
 */

import { loadNative } from './load.js';

export { locateNative, NativeLoadError, prebuiltPlatforms, type NativeLoadOptions, type NativeLocation } from './load.js';

/**
 * An open database handle owned by JavaScript. Opaque.
 *
 * @example
 * ```ts
 * const addon = native();
 * const handle: NativeHandle = addon.open('/tmp/raw.loomdb', JSON.stringify({ durability: 'immediate' }));
 * addon.close(handle);
 * ```
 */
export interface NativeHandle {
  readonly __loomdbNativeHandle: unique symbol;
}

/**
 * An open transaction, accepted wherever a handle is: such calls see the
 * transaction's writes and always run synchronously on the JS thread, which
 * owns the transaction. Garbage-collecting an unfinished one rolls it back.
 *
 * @example
 * ```ts
 * const tx: NativeTransaction = addon.txBegin(handle, 'null', false);
 * try {
 *   // … calls taking a handle, given tx …
 *   addon.txCommit(tx);
 * } catch (e) {
 *   addon.txRollback(tx);
 *   throw e;
 * }
 * ```
 */
export interface NativeTransaction extends NativeHandle {
  readonly __loomdbNativeTransaction: unique symbol;
}

/**
 * Cancels an asynchronous long operation. Opaque.
 *
 * @example
 * ```ts
 * // @loomdb/db makes one per AbortSignal and passes it to the async long operations;
 * // users pass `signal` to EmbeddedDB / AsyncEmbeddedDB instead:
 * await adb.backup('./memory-backup', { signal: AbortSignal.timeout(60_000) });
 * ```
 */
export interface NativeCancelToken {
  readonly __loomdbCancelToken: unique symbol;
}

/**
 * Progress of a long operation in bytes; returning `false` stops a synchronous one.
 *
 * @example
 * ```ts
 * const onProgress: NativeProgress = (done, total) => {
 *   console.log(`${done}/${total} bytes`);
 *   return true; // false stops a synchronous operation
 * };
 * ```
 */
export type NativeProgress = (done: number, total: number) => boolean | void;

/** Returned synchronously (`false`) or as a promise (`true`). */
type Maybe<A extends boolean, T> = A extends true ? Promise<T> : T;

/**
 * The raw addon. Strings marked JSON are parsed by the caller.
 *
 * @example
 * ```ts
 * // Most programs use @loomdb/db; the raw addon is for bindings built on the engine.
 * const addon: NativeAddon = native();
 * const handle = addon.open('/tmp/raw.loomdb', '{}');
 * addon.close(handle);
 * ```
 */
export interface NativeAddon {
  /** `options`: JSON `{ durability?, busyTimeoutMs?, readOnly?, mapSize? }`. */
  open(path: string, optionsJson: string): NativeHandle;
  close(handle: NativeHandle): void;
  /**
   * Begins a write transaction committing with `durabilityJson` (`"immediate"`, `"relaxed"`, or `null` for the
   * handle's); with `async`, waits for the writer lock off the JS thread.
   */
  txBegin<A extends boolean>(handle: NativeHandle, durabilityJson: string, async: A): Maybe<A, NativeTransaction>;
  txCommit(tx: NativeTransaction): void;
  txRollback(tx: NativeTransaction): void;
  txSavepoint(tx: NativeTransaction): void;
  /** Ends the newest savepoint: `keep` its writes or undo them. */
  txEndSavepoint(tx: NativeTransaction, keep: boolean): void;
  /** Declares a space or checks an existing one matches `specJson`. */
  ensureSpace(handle: NativeHandle, name: string, specJson: string): void;
  /** Declares and fills a text index (`specJson`); false when it existed. Progress and cancelling as `backup`. */
  createTextIndex<A extends boolean>(handle: NativeHandle, name: string, specJson: string, onProgress: NativeProgress | null, token: NativeCancelToken | null, async: A): Maybe<A, boolean>;
  dropTextIndex(handle: NativeHandle, name: string): boolean;
  /** `filterJson`: a node filter; returns `[{ id, score }]` as JSON, best first. */
  searchText<A extends boolean>(handle: NativeHandle, index: string, query: string, k: number, filterJson: string, async: A): Maybe<A, string>;
  /** Removes a space and its vectors; false when there was none. */
  dropSpace(handle: NativeHandle, name: string): boolean;
  /** Nodes with a vector in `from` and none in `to`, a page after `afterJson` (a position or `null`), returned as `listNodes` does. */
  missingEmbeddings<A extends boolean>(handle: NativeHandle, from: string, to: string, afterJson: string, limit: number, async: A): Maybe<A, [string, string[]]>;
  /** Makes `by`'s vectors those of `name`, with the spec `specJson`, in one commit; `CONFLICT` while a node of `name` has no vector in `by`. */
  replaceSpace<A extends boolean>(handle: NativeHandle, name: string, by: string, specJson: string, async: A): Maybe<A, void>;
  /** Declares and fills a property index; false when it existed. */
  createIndex<A extends boolean>(handle: NativeHandle, type: string, property: string, async: A): Maybe<A, boolean>;
  dropIndex<A extends boolean>(handle: NativeHandle, type: string, property: string, async: A): Maybe<A, boolean>;
  /** Returns the node as JSON. */
  insertNode<A extends boolean>(handle: NativeHandle, id: string, type: string, propertiesJson: string, async: A): Maybe<A, string>;
  /** `nodesJson`: `[{ id, type, properties }]`; returns the nodes as a JSON array. */
  insertNodes<A extends boolean>(handle: NativeHandle, nodesJson: string, async: A): Maybe<A, number>;
  getNode<A extends boolean>(handle: NativeHandle, id: string, async: A): Maybe<A, string | null>;
  updateNode<A extends boolean>(handle: NativeHandle, id: string, patchJson: string, async: A): Maybe<A, string>;
  deleteNode<A extends boolean>(handle: NativeHandle, id: string, async: A): Maybe<A, boolean>;
  insertEdge<A extends boolean>(
    handle: NativeHandle,
    id: string,
    type: string,
    from: string,
    to: string,
    propertiesJson: string,
    weight: number,
    async: A,
  ): Maybe<A, string>;
  /** `edgesJson`: `[{ id, type, from, to, properties, weight }]`; returns the edges as a JSON array. */
  insertEdges<A extends boolean>(handle: NativeHandle, edgesJson: string, async: A): Maybe<A, number>;
  /** `edgesJson` as for `insertEdges`: adds each weight to the edge with that id, creating it when absent, deleting it at 0 or below. */
  addEdgeWeights<A extends boolean>(handle: NativeHandle, edgesJson: string, async: A): Maybe<A, void>;
  /**
   * Several writes and queue steps in one commit (or savepoint of the open
   * transaction). `batchJson`: `{ ifChangeSequence?, ifAfter?, tag?,
   * deleteEdges?, insertNodes?, updateNodes?: [{ id, properties }],
   * insertEdges?, addEdgeWeights?, insertEmbeddings?: [{ nodeId, space,
   * length }], queue?: { name, push?, ack?: { holder, seqs }, lease?: {
   * holder, max, leaseMs } } }`; the embeddings' floats are `vectors`,
   * concatenated in order. `durabilityJson`: `"immediate"`, `"relaxed"` or
   * `null` (the handle's). Returns `{ pushed, leased, changeSequence }` as
   * JSON. `CONFLICT`, nothing written, when `ifChangeSequence` is no longer
   * the committed change sequence, or when the last change to the graph is
   * not the batch committed with `tag` = `ifAfter`.
   */
  writeBatch<A extends boolean>(handle: NativeHandle, batchJson: string, vectors: Float32Array, durabilityJson: string, async: A): Maybe<A, string>;
  /** The change-log sequence of the last committed node, edge or embedding write. */
  changeSequence<A extends boolean>(handle: NativeHandle, async: A): Maybe<A, number>;
  /** Item i is `(nodeIds[i], spaces[i], vectors[offset_i .. offset_i + lengths[i]])`. */
  insertEmbeddings<A extends boolean>(
    handle: NativeHandle,
    nodeIdsJson: string,
    spacesJson: string,
    vectors: Float32Array,
    lengthsJson: string,
    async: A,
  ): Maybe<A, void>;
  /** `selectorJson`: `{ types?, ids?, where: [[property, { op: value }]] }`; returns the count deleted. */
  deleteNodes<A extends boolean>(handle: NativeHandle, selectorJson: string, async: A): Maybe<A, number>;
  /** `selectorJson`: `{ ids }` or `{ type, from?, to? }`; returns the count deleted. */
  deleteEdges<A extends boolean>(handle: NativeHandle, selectorJson: string, async: A): Maybe<A, number>;
  /** `hopJson`: `{ direction, edgeTypes? }`; returns `[{ edge, node }]` as JSON. */
  neighbors<A extends boolean>(handle: NativeHandle, id: string, hopJson: string, limitJson: string, async: A): Maybe<A, string>;
  degree<A extends boolean>(handle: NativeHandle, id: string, hopJson: string, async: A): Maybe<A, number>;
  /** `optionsJson`: `{ maxDepth, nodeTypes?, limit? }`; returns `[{ node, depth, via }]` as JSON. */
  traverse<A extends boolean>(handle: NativeHandle, id: string, hopJson: string, optionsJson: string, async: A): Maybe<A, string>;
  /** Returns `{ nodes, edges }` as JSON, or null. */
  shortestPath<A extends boolean>(handle: NativeHandle, from: string, to: string, hopJson: string, maxDepth: number, async: A): Maybe<A, string | null>;
  /**
   * `queryJson`: `{ filter, order, descending, after, limit }`; returns `[json, ids]`: `{ items, next }`
   * as JSON with each item's `id` left out, and the ids in item order (unique ids parsed from JSON
   * would all be interned by V8, which slows scans).
   */
  listNodes<A extends boolean>(handle: NativeHandle, queryJson: string, async: A): Maybe<A, [string, string[]]>;
  /** `queryJson`: `{ type?, descending, after, limit }`; returns `{ items, next }` as JSON. */
  listEdges<A extends boolean>(handle: NativeHandle, queryJson: string, async: A): Maybe<A, string>;
  getEdge<A extends boolean>(handle: NativeHandle, id: string, async: A): Maybe<A, string | null>;
  /** Merges `patchJson` into the edge's properties; `weightJson` is a number or `null` (keep). Returns the edge as JSON. */
  updateEdge<A extends boolean>(handle: NativeHandle, id: string, patchJson: string, weightJson: string, async: A): Maybe<A, string>;
  deleteEdge<A extends boolean>(handle: NativeHandle, id: string, async: A): Maybe<A, boolean>;
  insertEmbedding<A extends boolean>(handle: NativeHandle, nodeId: string, space: string, vector: Float32Array, async: A): Maybe<A, void>;
  getEmbedding<A extends boolean>(handle: NativeHandle, nodeId: string, space: string, async: A): Maybe<A, Float32Array | null>;
  /**
   * `optionsJson`: `{ k, ef?, exact?, filter?: { types?, ids?, where?: [[property, { op: value }]] } }`;
   * returns `[{ id, distance }]` as JSON, nearest first.
   */
  search<A extends boolean>(handle: NativeHandle, space: string, vector: Float32Array, optionsJson: string, async: A): Maybe<A, string>;
  /** Runs a `@loomdb/query` executable plan (JSON; its query vector may come beside it) in one read transaction; returns its execution as JSON. */
  executePlan<A extends boolean>(handle: NativeHandle, planJson: string, vector: Float32Array | null, async: A): Maybe<A, string>;
  /** Returns committed-data statistics as JSON. */
  stats<A extends boolean>(handle: NativeHandle, async: A): Maybe<A, string>;
  /** Durable queue: `itemsJson` `[{ id, payload }]`; returns `[stored]` as JSON (false: id seen before). */
  queuePush<A extends boolean>(handle: NativeHandle, queue: string, itemsJson: string, async: A): Maybe<A, string>;
  /** Leases up to `max` items to `holder`; returns `[{ seq, id, payload, attempts, enqueuedAt }]` as JSON. */
  queueLease<A extends boolean>(handle: NativeHandle, queue: string, holder: string, max: number, leaseMs: number, async: A): Maybe<A, string>;
  /** Marks leased items done (`CONFLICT` unless `holder` holds them all). `seqsJson`: `[seq]`. */
  queueAck<A extends boolean>(handle: NativeHandle, queue: string, holder: string, seqsJson: string, async: A): Maybe<A, void>;
  /** Gives leased items back, leasable again after `delayMs`. */
  queueRelease<A extends boolean>(handle: NativeHandle, queue: string, holder: string, seqsJson: string, delayMs: number, async: A): Maybe<A, void>;
  queueDeadLetter<A extends boolean>(handle: NativeHandle, queue: string, holder: string, seq: number, error: string, async: A): Maybe<A, void>;
  /** Returns `{ pending, done, dead }` as JSON. */
  queueStats<A extends boolean>(handle: NativeHandle, queue: string, async: A): Maybe<A, string>;
  /** Returns `[{ seq, id, payload, attempts, error, failedAt }]` as JSON, oldest first. */
  queueDeadLetters<A extends boolean>(handle: NativeHandle, queue: string, limit: number, async: A): Maybe<A, string>;
  /**
   * Writes a backup directory; returns `{ path, bytes, formatVersion }` as JSON.
   * Long operations (backup, restore, compact) take `onProgress(done, total)`
   * in bytes (returning `false` stops a synchronous run) and a cancel token
   * (for asynchronous runs).
   */
  backup<A extends boolean>(handle: NativeHandle, destPath: string, onProgress: NativeProgress | null, token: NativeCancelToken | null, async: A): Maybe<A, string>;
  /** Checks and restores a backup; returns `{ path, bytes, nodes, edges, replaced }` as JSON. */
  restore<A extends boolean>(
    backupPath: string,
    targetPath: string,
    overwrite: boolean,
    onProgress: NativeProgress | null,
    token: NativeCancelToken | null,
    async: A,
  ): Maybe<A, string>;
  /** Checks a backup's manifest and hash; returns the manifest as JSON. */
  checkBackup<A extends boolean>(backupPath: string, async: A): Maybe<A, string>;
  /** Compacts the database; returns `{ bytesBefore, bytesAfter, prunedChanges, removedSidecars }` as JSON. */
  compact<A extends boolean>(handle: NativeHandle, onProgress: NativeProgress | null, token: NativeCancelToken | null, async: A): Maybe<A, string>;
  /** Returns `{ ok, errors: [{ check, message }], checked }` as JSON. */
  verify<A extends boolean>(handle: NativeHandle, async: A): Maybe<A, string>;
  /** Builds or catches up every HNSW graph of this process to the last commit. */
  catchUpIndexes<A extends boolean>(handle: NativeHandle, async: A): Maybe<A, void>;
  /** Returns `{ uptimeS, operations, storage, sidecars, caches }` as JSON. */
  metrics<A extends boolean>(handle: NativeHandle, async: A): Maybe<A, string>;
  /** Returns the storage usage (file, tables, reclaimable bytes) as JSON. */
  usage<A extends boolean>(handle: NativeHandle, async: A): Maybe<A, string>;
  /** Inserts exported records with their ids and times, in creation order, in one commit: `[{ node } | { edge }]`. */
  load<A extends boolean>(handle: NativeHandle, recordsJson: string, async: A): Maybe<A, void>;
  cancelToken(): NativeCancelToken;
  cancel(token: NativeCancelToken): void;
  /** Test-only: panics inside the engine, which must surface as an `INTERNAL` error. */
  debugPanic<A extends boolean>(async: A): Maybe<A, void>;
}

let addon: NativeAddon | undefined;

/**
 * Loads the addon on first call and returns it: a build from source when
 * there is one (`LOOMDB_NATIVE_PATH`, or `index.node` at the package root in
 * a clone of the repository), else the prebuilt
 * `@loomdb/core-native-<platform>` package. Throws an `UNSUPPORTED`
 * {@link NativeLoadError} naming the platform and the fix when there is
 * neither. Loading lazily keeps importing this package free of side effects.
 *
 * @example
 * ```ts
 * import { native } from '@loomdb/core-native';
 * const addon = native(); // loads the engine on first call (lazily: importing has no side effects)
 * ```
 */
export function native(): NativeAddon {
  addon ??= loadNative<NativeAddon>();
  return addon;
}
