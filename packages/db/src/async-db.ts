import { AsyncLocalStorage } from 'node:async_hooks';
import { batchResult, call, toListPage, WALK_PAGE } from './operations.js';
import { abortedError, invalid, loomError, throwIfAborted, toLoomError } from './errors.js';
import { asyncTransaction, prepareTransactionOptions, Transaction, type AsyncTransaction } from './transaction.js';
import { openBackend, type OpenOptions } from './open.js';
import { restoreNativeAsync } from './backends/native.js';
import { assembleMetrics, maintenanceOf, MetricsSources, prepareMaintenance, prepareMetricsFormat, preparePath, runLong } from './maintenance.js';
import { toPrometheus } from './prometheus.js';
import type { BackupResult, CompactResult, MaintenanceOptions, Metrics, RestoreOptions, RestoreResult, TextHit, TextIndexSpec, TextSearchOptions, VerifyResult } from './types.js';
import type { Embedder, Extractor, PluginOptions, Registry } from './plugins.js';
import { ASYNC_OPERATIONS, type AsyncStorageOperations, type StorageBackend, type StorageCapabilities, type StorageOperations, type TransactionOptions } from './storage.js';
import type {
  Edge,
  EdgeInput,
  EdgeListOptions,
  EdgeSelector,
  EdgeWalkOptions,
  EmbeddingInput,
  HopOptions,
  IndexSpec,
  ListPage,
  Neighbor,
  NeighborOptions,
  Node,
  NodeInput,
  NodeListOptions,
  NodeSelector,
  NodeWalkOptions,
  Path,
  Reached,
  SearchHit,
  SearchOptions,
  ShortestPathOptions,
  SpaceOption,
  SpaceSpec,
  Stats,
  TraverseOptions,
  Vector,
} from './types.js';
import {
  edgeQueryOf,
  nodeQueryOf,
  prepareDepth,
  prepareEdgePage,
  prepareEdgeSelector,
  prepareHop,
  prepareLimit,
  prepareNodePage,
  prepareNodeSelector,
  prepareTraverse,
  walkPagesAsync,
  prepareSearch,
} from './walk.js';
import { DurableQueue, prepareQueueName } from './queue.js';
import { prepareTextIndexName, prepareTextIndexSpec, prepareTextSearch, textSearchOf } from './text-search.js';
import { reembed, type ReembedOptions, type ReembedResult, type StepRunner } from './reembed.js';
import { noWriteBatches, prepareWriteBatch, type WriteBatch, type WriteBatchOptions, type WriteBatchResult } from './write-batch.js';
import {
  checkId,
  prepareBatch,
  prepareCounterEdges,
  prepareEdgeBatch,
  prepareEmbeddingBatch,
  prepareIndexSpec,
  prepareSpaceSpec,
  prepareEdge,
  prepareEdgePatch,
  prepareNode,
  preparePatch,
  prepareSpaceName,
  prepareVector,
} from './validate.js';

/**
 * Options of long operations.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * await db.insertNodesBatch(nodes, { signal: controller.signal, onProgress: ({ done, total }) => console.log(done, total) });
 * ```
 */
export interface LongOperationOptions {
  /** Aborting before the work is committed rejects with the signal's reason and writes nothing. */
  signal?: AbortSignal;
  /** Called as the work proceeds (batches report after each chunk written, before the commit). */
  onProgress?: (progress: { done: number; total: number }) => void;
}

/** Items written between progress reports and abort checks. */
const CHUNK = 2048;

function prepareLongOptions(options: unknown): LongOperationOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw invalid(`options must be an object, got ${options === null ? 'null' : typeof options}`);
  const { signal, onProgress } = options as LongOperationOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid('options.signal must be an AbortSignal');
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalid(`options.onProgress must be a function, got ${typeof onProgress}`);
  return { signal, onProgress };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The backend's off-thread operations, or its synchronous ones wrapped in promises. */
function operations(backend: StorageBackend): AsyncStorageOperations {
  if (backend.async) return backend.async;
  const wrapped: Record<string, unknown> = {};
  for (const name of [...ASYNC_OPERATIONS, 'beginTransaction'] as const) {
    const method = backend[name] as ((...args: unknown[]) => unknown) | undefined;
    if (method) wrapped[name] = async (...args: unknown[]) => method.apply(backend, args);
  }
  return wrapped as AsyncStorageOperations;
}

/** The handle whose transaction function is running in this async context (see `#write`). */
const INSIDE_TRANSACTION = new AsyncLocalStorage<AsyncEmbeddedDB>();

/**
 * The same database as {@link EmbeddedDB}, with every method returning a
 * promise and its work done off the JavaScript thread (on the native
 * backend), so timers and I/O keep running during long calls. Inputs are
 * validated before anything is scheduled: bad input rejects at once.
 *
 * @example
 * ```ts
 * const db = await AsyncEmbeddedDB.open('./memory.loomdb');
 * const node = await db.insertNode({ type: 'Note', properties: { text: 'hi' } });
 * const hits = await db.searchVectors([0.1, 0.2, 0.3], { k: 5 });
 * await db.close();
 * ```
 */
export class AsyncEmbeddedDB {
  #backend: StorageBackend | null;
  readonly #ops: AsyncStorageOperations;
  /** Settles when this handle's open transaction ends; its writes wait for it. */
  #transactionEnded: Promise<void> | null = null;
  /** The transaction open on this handle: `close` rolls it back. */
  #transaction: Transaction | undefined;
  readonly #sources = new MetricsSources();
  readonly path: string;

  readonly #registry: Registry;

  private constructor(backend: StorageBackend, path: string, registry: Registry) {
    this.#registry = registry;
    this.#backend = backend;
    this.#ops = operations(backend);
    this.path = path;
  }

  static async open(path?: string, options?: OpenOptions): Promise<AsyncEmbeddedDB> {
    const { backend, path: dbPath, plugins, registry } = openBackend(path, options);
    const db = new AsyncEmbeddedDB(backend, dbPath, registry);
    try {
      for (const plugin of plugins) await plugin.onOpen?.(db);
    } catch (e) {
      db.close();
      throw toLoomError(e);
    }
    return db;
  }

  async #run<T>(op: (ops: AsyncStorageOperations) => Promise<T>, signal?: AbortSignal): Promise<T> {
    call(this.#backend, () => undefined);
    throwIfAborted(signal);
    try {
      return await op(this.#ops);
    } catch (e) {
      throw toLoomError(e);
    }
  }

  /**
   * A write: waits until this handle's transaction (if any) has ended —
   * unless it comes from inside that transaction's own function, which
   * would wait for itself forever: that is `LOCKED` at once.
   */
  async #write<T>(op: (ops: AsyncStorageOperations) => Promise<T>, signal?: AbortSignal): Promise<T> {
    call(this.#backend, () => undefined);
    if (this.#transactionEnded && INSIDE_TRANSACTION.getStore() === this) {
      throw loomError('LOCKED', `this write was made on the database inside its own transaction (${this.path}) and would wait for that transaction forever; write through tx instead`);
    }
    while (this.#transactionEnded) await this.#transactionEnded;
    return this.#run(op, signal);
  }

  /**
   * Runs `fn` in a write transaction: committed when the promise it returns
   * resolves, rolled back when it rejects (rejecting with the original
   * error) or when `signal` aborts (rejecting with `ABORTED`, the signal's reason as its `cause`).
   * The transaction's calls run on the JavaScript thread; other writers
   * wait, and this handle's own writes outside `tx` queue until it ends.
   *
   * ```ts
   * await adb.transaction(async (tx) => {
   *   const m = await tx.insertNode({ type: 'Message', properties: { content: 'hi' } });
   *   await tx.insertEdge({ type: 'IN_CONVERSATION', from: m.id, to: conversationId });
   * });
   * ```
   */
  async transaction<T>(fn: (tx: AsyncTransaction) => Promise<T> | T, options?: { signal?: AbortSignal } & TransactionOptions): Promise<T> {
    if (typeof fn !== 'function') throw invalid(`transaction needs a function, got ${typeof fn}`);
    const prepared = prepareTransactionOptions(options, ['signal']);
    const { signal } = prepareLongOptions(options === undefined ? undefined : { signal: (options as { signal?: AbortSignal }).signal });
    return this.#withTransaction((tx) => fn(asyncTransaction(tx)), signal, prepared);
  }

  async #withTransaction<T>(fn: (tx: Transaction) => Promise<T> | T, signal?: AbortSignal, options?: TransactionOptions): Promise<T> {
    const begin = this.#ops.beginTransaction;
    if (!begin) throw loomError('UNSUPPORTED', `the "${this.storage}" storage backend has no transactions`);
    while (this.#transactionEnded) await this.#transactionEnded;
    let ended!: () => void;
    this.#transactionEnded = new Promise((resolve) => (ended = resolve));
    let tx: Transaction | undefined;
    const abort = () => tx?.end(false);
    try {
      throwIfAborted(signal);
      tx = new Transaction(await this.#run(() => begin(options)));
      if (!this.#backend) {
        // Closed while the transaction was beginning.
        tx.abandon();
        throw loomError('CLOSED', 'the database is closed');
      }
      this.#transaction = tx;
      signal?.addEventListener('abort', abort, { once: true });
      try {
        const result = await INSIDE_TRANSACTION.run(this, () => fn(tx as Transaction));
        throwIfAborted(signal);
        tx.end(true);
        return result;
      } catch (e) {
        tx.end(false);
        throw signal?.aborted ? abortedError(signal) : e;
      }
    } finally {
      signal?.removeEventListener('abort', abort);
      if (this.#transaction === tx) this.#transaction = undefined;
      this.#transactionEnded = null;
      ended();
    }
  }

  /**
   * A validated batch: one off-thread call, or, to report progress or stop
   * midway, chunks in one transaction with a turn of the event loop between
   * them. Either way it commits whole or not at all.
   */
  async #batch<P>(items: P[], options: LongOperationOptions, write: (o: StorageOperations, items: P[]) => void, whole: (o: AsyncStorageOperations) => Promise<void>): Promise<void> {
    const { signal, onProgress } = options;
    if (!signal && !onProgress) return this.#write(whole);
    return this.#withTransaction(async (tx) => {
      for (let done = 0; done < items.length; ) {
        const chunk = items.slice(done, done + CHUNK);
        write(tx.storage, chunk);
        done += chunk.length;
        onProgress?.({ done, total: items.length });
        await nextTurn();
        throwIfAborted(signal);
      }
    }, signal);
  }

  get storage(): string {
    return call(this.#backend, (b) => b.name);
  }

  /** What the storage backend can do beyond the basics. */
  get capabilities(): StorageCapabilities {
    return call(this.#backend, (b) => ({ ...b.capabilities }));
  }

  async createIndex(index: IndexSpec): Promise<boolean> {
    const spec = prepareIndexSpec(index);
    return this.#write((o) => o.createIndex(spec));
  }

  /** Declares an embedding space after opening (`dimensions` and `metric` required), or checks the existing one has every field `spec` gives. */
  async ensureSpace(name: string, spec: SpaceSpec): Promise<void> {
    const prepared = prepareSpaceSpec(name, spec);
    return this.#write(async () => call(this.#backend, (b) => b.ensureSpace(name, prepared)));
  }

  /**
   * The durable queue `name` (`capabilities.durableQueue`). Its calls are
   * quick and synchronous; while this handle has a transaction open they
   * throw `LOCKED` (use `tx.queue(name)` inside it).
   */
  queue(name: string): DurableQueue {
    const n = prepareQueueName(name);
    return new DurableQueue(() => call(this.#backend, (b) => b), n);
  }

  async dropIndex(index: IndexSpec): Promise<boolean> {
    const spec = prepareIndexSpec(index);
    return this.#write((o) => o.dropIndex(spec));
  }

  /** Inserts a node (id generated when absent) and returns it as stored; as `EmbeddedDB.insertNode` does. */
  async insertNode(node: NodeInput): Promise<Node> {
    const n = prepareNode(node);
    return this.#write((o) => o.insertNode(n));
  }

  /** Inserts every node or none, in one commit, off the JS thread; returns their ids in order. */
  async insertNodesBatch(nodes: NodeInput[], options?: LongOperationOptions): Promise<string[]> {
    const long = prepareLongOptions(options);
    const prepared = prepareBatch(nodes);
    await this.#batch(prepared, long, (o, chunk) => o.insertNodes(chunk), (o) => o.insertNodes(prepared));
    return prepared.map((n) => n.id);
  }

  /** The node with this id, or `null` when there is none. */
  async getNode(id: string): Promise<Node | null> {
    const checked = checkId('id', id);
    return this.#run((o) => o.getNode(checked));
  }

  async updateNode(id: string, update: { properties: NodeInput['properties'] }): Promise<Node> {
    const checked = checkId('id', id);
    const patch = preparePatch(update);
    return this.#write((o) => o.updateNode(checked, patch));
  }

  async deleteNode(id: string): Promise<boolean> {
    const checked = checkId('id', id);
    return this.#write((o) => o.deleteNode(checked));
  }

  /** Inserts an edge between two existing nodes and returns it as stored; as `EmbeddedDB.insertEdge` does. */
  async insertEdge(edge: EdgeInput): Promise<Edge> {
    const e = prepareEdge(edge);
    return this.#write((o) => o.insertEdge(e));
  }

  async getEdge(id: string): Promise<Edge | null> {
    const checked = checkId('id', id);
    return this.#run((o) => o.getEdge(checked));
  }

  async updateEdge(id: string, update: { properties?: EdgeInput['properties']; weight?: number }): Promise<Edge> {
    const checked = checkId('id', id);
    const { properties, weight } = prepareEdgePatch(update);
    return this.#write((o) => o.updateEdge(checked, properties, weight));
  }

  async deleteEdge(id: string): Promise<boolean> {
    const checked = checkId('id', id);
    return this.#write((o) => o.deleteEdge(checked));
  }

  async insertEmbedding(nodeId: string, vector: Vector, options?: SpaceOption): Promise<void> {
    const id = checkId('nodeId', nodeId);
    const v = prepareVector(vector);
    const space = prepareSpaceName(options);
    return this.#write((o) => o.insertEmbedding(id, space, v));
  }

  /** The node's vector in `options.space` (default `'default'`), or `null` when it has none. */
  async getEmbedding(nodeId: string, options?: SpaceOption): Promise<Float32Array | null> {
    const id = checkId('nodeId', nodeId);
    const space = prepareSpaceName(options);
    return this.#run((o) => o.getEmbedding(id, space));
  }

  /** {@link EmbeddedDB.searchVectors}, off the JavaScript thread; concurrent searches run in parallel. */
  async searchVectors(vector: Vector, options?: SearchOptions): Promise<SearchHit[]> {
    const v = prepareVector(vector);
    const { space, k, filter, options: search } = prepareSearch(options);
    return this.#run((o) => o.searchVectors(space, v, k, filter, search));
  }

  /** {@link EmbeddedDB.createTextIndex}, filled off the JavaScript thread (on the native backend). */
  async createTextIndex(name: string, spec: TextIndexSpec, options?: MaintenanceOptions): Promise<boolean> {
    const index = prepareTextIndexName(name);
    const prepared = prepareTextIndexSpec(index, spec);
    const o = prepareMaintenance(options);
    return this.#write((ops) => runLong(o, (control) => textSearchOf(ops).createTextIndex(index, prepared, control)));
  }

  /** Removes a text index; `false` when there was none. */
  async dropTextIndex(name: string): Promise<boolean> {
    const index = prepareTextIndexName(name);
    return this.#write(async (ops) => textSearchOf(ops).dropTextIndex(index));
  }

  /** {@link EmbeddedDB.searchText}, off the JavaScript thread. */
  async searchText(text: string, options?: TextSearchOptions): Promise<TextHit[]> {
    const { query, index, k, filter } = prepareTextSearch(text, options);
    return this.#run(async (ops) => textSearchOf(ops).searchText(index, query, k, filter));
  }

  /** The same as {@link AsyncEmbeddedDB.ensureSpace}. */
  async createSpace(name: string, spec: SpaceSpec): Promise<void> {
    return this.ensureSpace(name, spec);
  }

  async insertEdgesBatch(edges: EdgeInput[], options?: LongOperationOptions): Promise<string[]> {
    const long = prepareLongOptions(options);
    const prepared = prepareEdgeBatch(edges);
    await this.#batch(prepared, long, (o, chunk) => o.insertEdges(chunk), (o) => o.insertEdges(prepared));
    return prepared.map((e) => e.id);
  }

  /** Counter edges: see {@link EmbeddedDB.addEdgeWeights}. */
  async addEdgeWeights(edges: Array<EdgeInput & { id: string }>): Promise<void> {
    const prepared = prepareCounterEdges(edges);
    return this.#write((o) => o.addEdgeWeights(prepared));
  }

  async insertEmbeddingsBatch(items: EmbeddingInput[], options?: LongOperationOptions): Promise<void> {
    const long = prepareLongOptions(options);
    const prepared = prepareEmbeddingBatch(items);
    await this.#batch(prepared, long, (o, chunk) => o.insertEmbeddings(chunk), (o) => o.insertEmbeddings(prepared));
  }

  async deleteNodes(selector: NodeSelector): Promise<number> {
    const filter = prepareNodeSelector(selector);
    return this.#write((o) => o.deleteNodes(filter));
  }

  async deleteEdges(selector: EdgeSelector): Promise<number> {
    const s = prepareEdgeSelector(selector);
    return this.#write((o) => o.deleteEdges(s));
  }

  async neighbors(id: string, options: NeighborOptions): Promise<Neighbor[]> {
    const checked = checkId('id', id);
    const hop = prepareHop('options', options);
    const limit = prepareLimit('options.limit', options.limit);
    return this.#run((o) => o.neighbors(checked, hop, limit));
  }

  async degree(id: string, options: HopOptions): Promise<number> {
    const checked = checkId('id', id);
    const hop = prepareHop('options', options);
    return this.#run((o) => o.degree(checked, hop));
  }

  async traverse(startId: string, options: TraverseOptions): Promise<Reached[]> {
    const checked = checkId('startId', startId);
    const { hop, ...rest } = prepareTraverse(options);
    return this.#run((o) => o.traverse(checked, hop, rest));
  }

  async shortestPath(fromId: string, toId: string, options: ShortestPathOptions): Promise<Path | null> {
    const from = checkId('fromId', fromId);
    const to = checkId('toId', toId);
    const hop = prepareHop('options', options);
    const maxDepth = prepareDepth('options.maxDepth', options.maxDepth, 0);
    return this.#run((o) => o.shortestPath(from, to, hop, maxDepth));
  }

  async listNodes(options: NodeListOptions): Promise<ListPage<Node>> {
    const query = prepareNodePage(options);
    return toListPage(await this.#run((o) => o.listNodes(query)), nodeQueryOf(query));
  }

  async listEdges(options: EdgeListOptions): Promise<ListPage<Edge>> {
    const query = prepareEdgePage(options);
    return toListPage(await this.#run((o) => o.listEdges(query)), edgeQueryOf(query));
  }

  /**
   * Every matching node as an async iterator. Pages are read off the JS
   * thread one at a time, only when the consumer has used the previous one.
   */
  streamNodes(options: NodeWalkOptions = {}): AsyncGenerator<Node, void, undefined> {
    return walkPagesAsync(prepareNodePage(options, WALK_PAGE), (q) => this.#run((o) => o.listNodes(q)));
  }

  streamEdges(options: EdgeWalkOptions = {}): AsyncGenerator<Edge, void, undefined> {
    return walkPagesAsync(prepareEdgePage(options, WALK_PAGE), (q) => this.#run((o) => o.listEdges(q)));
  }

  async stats(): Promise<Stats> {
    return this.#run((o) => o.stats());
  }

  /**
   * {@link DatabaseOperations.writeBatch}, off the JavaScript thread
   * (`capabilities.writeBatch`; else `UNSUPPORTED`).
   */
  async writeBatch(batch: WriteBatch, options?: WriteBatchOptions): Promise<WriteBatchResult> {
    const p = prepareWriteBatch(batch, options);
    return this.#write(async (o) => {
      if (!o.writeBatch) throw noWriteBatches();
      return batchResult(p.batch, await o.writeBatch(p.batch, p.options));
    });
  }

  /** {@link DatabaseOperations.changeSequence} (`capabilities.writeBatch`; else `UNSUPPORTED`). */
  async changeSequence(): Promise<number> {
    return this.#run((o) => {
      if (!o.changeSequence) throw noWriteBatches();
      return o.changeSequence();
    });
  }

  /** {@link EmbeddedDB.executeQuery}, off the JavaScript thread. */
  async executeQuery(planJson: string, vector?: Float32Array): Promise<string> {
    if (typeof planJson !== 'string') throw invalid(`planJson must be a string, got ${typeof planJson}`);
    const v = vector === undefined ? undefined : prepareVector(vector);
    return this.#run((o) => {
      if (!o.executeQuery) throw loomError('UNSUPPORTED', `the "${this.storage}" storage backend does not execute query plans (capabilities.nativeQuery is false)`);
      return o.executeQuery(planJson, v);
    });
  }

  /** {@link EmbeddedDB.backup}, off the JS thread; `signal` stops it. */
  async backup(destPath: string, options?: MaintenanceOptions): Promise<BackupResult> {
    const dest = preparePath('destPath', destPath);
    const o = prepareMaintenance(options);
    const m = maintenanceOf(this.#live(), 'backups');
    return runLong(o, (control) => m.async.backup(dest, control));
  }

  /** {@link EmbeddedDB.restore}, off the JS thread. */
  static async restore(backupPath: string, targetPath: string, options?: RestoreOptions): Promise<RestoreResult> {
    const from = preparePath('backupPath', backupPath);
    const to = preparePath('targetPath', targetPath);
    const o = prepareMaintenance(options, true);
    return runLong(o, (control) => restoreNativeAsync(from, to, o.overwrite ?? false, control));
  }

  /** {@link EmbeddedDB.catchUpIndexes}, off the JS thread. */
  async catchUpIndexes(): Promise<void> {
    const m = this.#live().maintenance;
    if (m) await this.#run(() => m.async.catchUpIndexes());
  }

  async verify(): Promise<VerifyResult> {
    const m = maintenanceOf(this.#live(), 'verify');
    return this.#run(() => m.async.verify());
  }

  /** {@link EmbeddedDB.compact}, off the JS thread; waits for this handle's transaction. */
  async compact(options?: MaintenanceOptions): Promise<CompactResult> {
    const o = prepareMaintenance(options);
    const m = maintenanceOf(this.#live(), 'compaction');
    while (this.#transactionEnded) await this.#transactionEnded;
    return runLong(o, (control) => m.async.compact(control));
  }

  async metrics(): Promise<Metrics>;
  async metrics(options: { format: 'json' }): Promise<Metrics>;
  async metrics(options: { format: 'prometheus' }): Promise<string>;
  async metrics(options?: { format?: 'json' | 'prometheus' }): Promise<Metrics | string> {
    const format = prepareMetricsFormat(options);
    const backend = this.#live();
    const engine = backend.maintenance ? await this.#run(() => (backend.maintenance as NonNullable<typeof backend.maintenance>).async.metrics()) : null;
    const m = assembleMetrics(backend.name, engine, this.#sources.collect());
    return format === 'prometheus' ? toPrometheus(m) : m;
  }

  /** {@link EmbeddedDB.registerMetricsSource}. */
  registerMetricsSource(name: string, source: () => object): () => void {
    this.#live();
    return this.#sources.register(name, source);
  }

  #live(): StorageBackend {
    return call(this.#backend, (b) => b);
  }

  /** {@link EmbeddedDB.reembed}; its writes wait for this handle's transaction like any other. */
  async reembed(space: string, options: ReembedOptions): Promise<ReembedResult> {
    const backend = call(this.#backend, (b) => b);
    const run: StepRunner = (step, write) => (write ? this.#write(async () => step()) : this.#run(async () => step()));
    return reembed(backend, this.#registry, run, space, options);
  }

  /** A new instance of the embedder registered as `name` (built in: `'hashing'`), or `NOT_FOUND`. */
  embedder(name: string, options?: PluginOptions): Embedder {
    return this.#registry.embedder(name, options);
  }

  /** A new instance of the extractor registered as `name` (a plugin's), or `NOT_FOUND`. */
  extractor(name: string, options?: PluginOptions): Extractor {
    return this.#registry.extractor(name, options);
  }

  /**
   * Closes the handle; later calls reject with `CLOSED`. Calls already
   * running finish first: the engine keeps the database open until they do.
   * A transaction open on the handle is rolled back, and its function's
   * further calls and its end reject with `CLOSED`.
   */
  close(): void {
    const backend = this.#backend;
    this.#backend = null;
    this.#transaction?.abandon();
    this.#transaction = undefined;
    backend?.close();
  }

  get closed(): boolean {
    return this.#backend === null;
  }
}

