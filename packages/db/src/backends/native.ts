import { native, type NativeAddon, type NativeCancelToken, type NativeHandle, type NativeTransaction } from '@loomdb/core-native';
import { toLoomError } from '../errors.js';
import type { LoomPlugin } from '../plugins.js';
import type {
  AsyncStorageOperations,
  EngineMetrics,
  MaintenanceControl,
  PreparedWriteBatch,
  StorageBatchOptions,
  StorageBatchResult,
  TransactionOptions,
  DeadLetter,
  LeasedQueueItem,
  QueueItemInput,
  QueueStats,
  StorageBackend,
  StorageMaintenance,
  StorageOpenOptions,
  StorageOperations,
  StorageSearchFilter,
  StorageSearchOptions,
  StorageSpaces,
  StorageTransaction,
} from '../storage.js';
import type {
  BackupResult,
  CompactResult,
  Edge,
  IndexSpec,
  Neighbor,
  Node,
  Path,
  Properties,
  Reached,
  RestoreResult,
  SearchHit,
  SpaceSpec,
  Stats,
  StorageUsage,
  TextHit,
  TextIndexSpec,
  VerifyResult,
} from '../types.js';
import type { PreparedEdge, PreparedNode } from '../prepared.js';
import type { PreparedEdgePage, PreparedEdgeSelector, PreparedHop, PreparedNodeFilter, PreparedNodePage, Position } from '../prepared.js';

type NodePage = { items: Node[]; next: Position | null };
type EdgePage = { items: Edge[]; next: Position | null };

/** The items' vectors end to end in one Float32Array. */
function concatVectors(items: ReadonlyArray<{ vector: Float32Array }>): Float32Array {
  const flat = new Float32Array(items.reduce((n, i) => n + i.vector.length, 0));
  let offset = 0;
  for (const { vector } of items) {
    flat.set(vector, offset);
    offset += vector.length;
  }
  return flat;
}

/** Embedding batches cross as one Float32Array plus per-item lengths. */
function flatten(items: Array<{ nodeId: string; space: string; vector: Float32Array }>) {
  return [JSON.stringify(items.map((i) => i.nodeId)), JSON.stringify(items.map((i) => i.space)), concatVectors(items), JSON.stringify(items.map((i) => i.vector.length))] as const;
}

/** A write batch crosses as JSON plus its embeddings' floats in one Float32Array. */
function batchArgs(batch: PreparedWriteBatch, options: StorageBatchOptions) {
  const json = JSON.stringify({
    ifChangeSequence: options.ifChangeSequence,
    ifAfter: options.ifAfter,
    tag: options.tag,
    deleteEdges: batch.deleteEdges,
    insertNodes: batch.insertNodes,
    updateNodes: batch.updateNodes.map((u) => ({ id: u.id, properties: u.patch })),
    insertEdges: batch.insertEdges,
    addEdgeWeights: batch.addEdgeWeights,
    insertEmbeddings: batch.insertEmbeddings.map((e) => ({ nodeId: e.nodeId, space: e.space, length: e.vector.length })),
    queue: batch.queue,
  });
  return [json, concatVectors(batch.insertEmbeddings), JSON.stringify(options.durability ?? null)] as const;
}

/** Engine errors carry their code; give them the LoomError class on the way out. */
function sync<T>(call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw toLoomError(e);
  }
}

async function later<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw toLoomError(e);
  }
}

const parse = <T>(json: string): T => JSON.parse(json) as T;
/** Puts back the ids that the addon sends beside a node page's JSON (see `NativeAddon.listNodes`). */
function nodePage([json, ids]: [string, string[]]): NodePage {
  const page = parse<{ items: Array<Omit<Node, 'id'>>; next: Position | null }>(json);
  const items = page.items.map((n, i): Node => ({
    id: ids[i] as string,
    type: n.type,
    properties: n.properties,
    createdAt: n.createdAt,
    updatedAt: n.updatedAt,
  }));
  return { items, next: page.next };
}

/** The engine's search request. */
const searchJson = (k: number, filter: StorageSearchFilter, options: StorageSearchOptions) => JSON.stringify({ k, ...options, filter });
const parseOrNull = <T>(json: string | null): T | null => (json === null ? null : parse<T>(json));

/** The engine's data operations on a database handle or on one of its transactions. */
class NativeOperations implements StorageOperations {
  protected readonly addon: NativeAddon;
  readonly #handle: NativeHandle;

  constructor(addon: NativeAddon, handle: NativeHandle) {
    this.addon = addon;
    this.#handle = handle;
  }

  ensureSpace(name: string, spec: SpaceSpec): void {
    sync(() => this.addon.ensureSpace(this.#handle, name, JSON.stringify(spec)));
  }

  createTextIndex(name: string, spec: TextIndexSpec, control: MaintenanceControl): boolean {
    return sync(() => this.addon.createTextIndex(this.#handle, name, JSON.stringify(spec), control.onProgress ?? null, null, false));
  }

  dropTextIndex(name: string): boolean {
    return sync(() => this.addon.dropTextIndex(this.#handle, name));
  }

  searchText(index: string, query: string, k: number, filter: StorageSearchFilter): TextHit[] {
    return sync(() => parse<TextHit[]>(this.addon.searchText(this.#handle, index, query, k, JSON.stringify(filter), false)));
  }

  createIndex(spec: IndexSpec): boolean {
    return sync(() => this.addon.createIndex(this.#handle, spec.type, spec.property, false));
  }

  dropIndex(spec: IndexSpec): boolean {
    return sync(() => this.addon.dropIndex(this.#handle, spec.type, spec.property, false));
  }

  insertNode(n: PreparedNode): Node {
    return sync(() => parse<Node>(this.addon.insertNode(this.#handle, n.id, n.type, JSON.stringify(n.properties), false)));
  }

  insertNodes(nodes: PreparedNode[]): void {
    sync(() => this.addon.insertNodes(this.#handle, JSON.stringify(nodes), false));
  }

  getNode(id: string): Node | null {
    return sync(() => parseOrNull<Node>(this.addon.getNode(this.#handle, id, false)));
  }

  updateNode(id: string, patch: Properties): Node {
    return sync(() => parse<Node>(this.addon.updateNode(this.#handle, id, JSON.stringify(patch), false)));
  }

  deleteNode(id: string): boolean {
    return sync(() => this.addon.deleteNode(this.#handle, id, false));
  }

  insertEdge(e: PreparedEdge): Edge {
    return sync(() => parse<Edge>(this.addon.insertEdge(this.#handle, e.id, e.type, e.from, e.to, JSON.stringify(e.properties), e.weight, false)));
  }

  getEdge(id: string): Edge | null {
    return sync(() => parseOrNull<Edge>(this.addon.getEdge(this.#handle, id, false)));
  }

  updateEdge(id: string, patch: Properties, weight?: number): Edge {
    return sync(() => parse<Edge>(this.addon.updateEdge(this.#handle, id, JSON.stringify(patch), JSON.stringify(weight ?? null), false)));
  }

  deleteEdge(id: string): boolean {
    return sync(() => this.addon.deleteEdge(this.#handle, id, false));
  }

  insertEmbedding(nodeId: string, space: string, vector: Float32Array): void {
    sync(() => this.addon.insertEmbedding(this.#handle, nodeId, space, vector, false));
  }

  getEmbedding(nodeId: string, space: string): Float32Array | null {
    return sync(() => this.addon.getEmbedding(this.#handle, nodeId, space, false));
  }

  searchVectors(space: string, vector: Float32Array, k: number, filter: StorageSearchFilter, options: StorageSearchOptions = {}): SearchHit[] {
    return sync(() => parse<SearchHit[]>(this.addon.search(this.#handle, space, vector, searchJson(k, filter, options), false)));
  }

  insertEdges(edges: PreparedEdge[]): void {
    sync(() => this.addon.insertEdges(this.#handle, JSON.stringify(edges), false));
  }

  addEdgeWeights(edges: PreparedEdge[]): void {
    sync(() => this.addon.addEdgeWeights(this.#handle, JSON.stringify(edges), false));
  }

  insertEmbeddings(items: Array<{ nodeId: string; space: string; vector: Float32Array }>): void {
    sync(() => this.addon.insertEmbeddings(this.#handle, ...flatten(items), false));
  }

  deleteNodes(filter: PreparedNodeFilter): number {
    return sync(() => this.addon.deleteNodes(this.#handle, JSON.stringify(filter), false));
  }

  deleteEdges(selector: PreparedEdgeSelector): number {
    return sync(() => this.addon.deleteEdges(this.#handle, JSON.stringify(selector), false));
  }

  neighbors(id: string, hop: PreparedHop, limit?: number): Neighbor[] {
    return sync(() => parse<Neighbor[]>(this.addon.neighbors(this.#handle, id, JSON.stringify(hop), JSON.stringify(limit ?? null), false)));
  }

  degree(id: string, hop: PreparedHop): number {
    return sync(() => this.addon.degree(this.#handle, id, JSON.stringify(hop), false));
  }

  traverse(id: string, hop: PreparedHop, options: { maxDepth: number; nodeTypes?: string[]; limit?: number }): Reached[] {
    return sync(() => parse<Reached[]>(this.addon.traverse(this.#handle, id, JSON.stringify(hop), JSON.stringify(options), false)));
  }

  shortestPath(from: string, to: string, hop: PreparedHop, maxDepth: number): Path | null {
    return sync(() => parseOrNull<Path>(this.addon.shortestPath(this.#handle, from, to, JSON.stringify(hop), maxDepth, false)));
  }

  listNodes(query: PreparedNodePage): NodePage {
    return sync(() => nodePage(this.addon.listNodes(this.#handle, JSON.stringify(query), false)));
  }

  listEdges(query: PreparedEdgePage): EdgePage {
    return sync(() => parse<EdgePage>(this.addon.listEdges(this.#handle, JSON.stringify(query), false)));
  }

  stats(): Stats {
    return sync(() => parse<Stats>(this.addon.stats(this.#handle, false)));
  }

  executeQuery(planJson: string, vector?: Float32Array): string {
    return sync(() => this.addon.executePlan(this.#handle, planJson, vector ?? null, false));
  }

  writeBatch(batch: PreparedWriteBatch, options: StorageBatchOptions): StorageBatchResult {
    return sync(() => parse<StorageBatchResult>(this.addon.writeBatch(this.#handle, ...batchArgs(batch, options), false)));
  }

  changeSequence(): number {
    return sync(() => this.addon.changeSequence(this.#handle, false));
  }

  queuePush(queue: string, items: QueueItemInput[]): boolean[] {
    return sync(() => parse<boolean[]>(this.addon.queuePush(this.#handle, queue, JSON.stringify(items), false)));
  }

  queueLease(queue: string, holder: string, max: number, leaseMs: number): LeasedQueueItem[] {
    return sync(() => parse<LeasedQueueItem[]>(this.addon.queueLease(this.#handle, queue, holder, max, leaseMs, false)));
  }

  queueAck(queue: string, holder: string, seqs: number[]): void {
    sync(() => this.addon.queueAck(this.#handle, queue, holder, JSON.stringify(seqs), false));
  }

  queueRelease(queue: string, holder: string, seqs: number[], delayMs: number): void {
    sync(() => this.addon.queueRelease(this.#handle, queue, holder, JSON.stringify(seqs), delayMs, false));
  }

  queueDeadLetter(queue: string, holder: string, seq: number, error: string): void {
    sync(() => this.addon.queueDeadLetter(this.#handle, queue, holder, seq, error, false));
  }

  queueStats(queue: string): QueueStats {
    return sync(() => parse<QueueStats>(this.addon.queueStats(this.#handle, queue, false)));
  }

  queueDeadLetters(queue: string, limit: number): DeadLetter[] {
    return sync(() => parse<DeadLetter[]>(this.addon.queueDeadLetters(this.#handle, queue, limit, false)));
  }
}

/** A transaction of the engine: calls run on the JS thread, which owns it. */
class NativeStorageTransaction extends NativeOperations implements StorageTransaction {
  readonly #tx: NativeTransaction;

  constructor(addon: NativeAddon, tx: NativeTransaction) {
    super(addon, tx);
    this.#tx = tx;
  }

  commit(): void {
    sync(() => this.addon.txCommit(this.#tx));
  }

  rollback(): void {
    sync(() => this.addon.txRollback(this.#tx));
  }

  savepoint(): void {
    sync(() => this.addon.txSavepoint(this.#tx));
  }

  endSavepoint(keep: boolean): void {
    sync(() => this.addon.txEndSavepoint(this.#tx, keep));
  }
}

/**
 * The default backend: the Rust engine on LMDB. Several processes may open
 * one database; writes are durable per `durability`.
 *
 * @example
 * ```ts
 * const db = EmbeddedDB.open('./memory.loomdb'); // storage 'native': a NativeStorage on LMDB
 * console.log(db.capabilities.nativeQuery); // true
 * ```
 */
export class NativeStorage extends NativeOperations implements StorageBackend {
  readonly specificationVersion = 'v1';
  readonly name = 'native';
  readonly capabilities = { nativeQuery: true, transactions: true, durableQueue: true, multiProcess: true, writeBatch: true, textSearch: true };
  readonly async: AsyncStorageOperations;
  readonly maintenance: StorageMaintenance;
  readonly spaces: StorageSpaces;
  readonly #handle: NativeHandle;

  constructor(options: StorageOpenOptions) {
    const a = native();
    const { durability, busyTimeoutMs, readOnly, mapSize, maxRecordBytes } = options;
    const h = sync(() => a.open(options.path, JSON.stringify({ durability, busyTimeoutMs, readOnly, mapSize, maxRecordBytes })));
    super(a, h);
    this.#handle = h;
    this.async = {
      createIndex: (spec) => later(() => a.createIndex(h, spec.type, spec.property, true)),
      dropIndex: (spec) => later(() => a.dropIndex(h, spec.type, spec.property, true)),
      beginTransaction: (options) => later(async () => new NativeStorageTransaction(a, await a.txBegin(h, JSON.stringify(options?.durability ?? null), true))),
      insertNode: (n) => later(async () => parse<Node>(await a.insertNode(h, n.id, n.type, JSON.stringify(n.properties), true))),
      insertNodes: (nodes) => later(async () => void (await a.insertNodes(h, JSON.stringify(nodes), true))),
      getNode: (id) => later(async () => parseOrNull<Node>(await a.getNode(h, id, true))),
      updateNode: (id, patch) => later(async () => parse<Node>(await a.updateNode(h, id, JSON.stringify(patch), true))),
      deleteNode: (id) => later(() => a.deleteNode(h, id, true)),
      insertEdge: (e) => later(async () => parse<Edge>(await a.insertEdge(h, e.id, e.type, e.from, e.to, JSON.stringify(e.properties), e.weight, true))),
      getEdge: (id) => later(async () => parseOrNull<Edge>(await a.getEdge(h, id, true))),
      updateEdge: (id, patch, weight) => later(async () => parse<Edge>(await a.updateEdge(h, id, JSON.stringify(patch), JSON.stringify(weight ?? null), true))),
      deleteEdge: (id) => later(() => a.deleteEdge(h, id, true)),
      insertEmbedding: (nodeId, space, vector) => later(() => a.insertEmbedding(h, nodeId, space, vector, true)),
      getEmbedding: (nodeId, space) => later(() => a.getEmbedding(h, nodeId, space, true)),
      searchVectors: (space, vector, k, filter, options = {}) =>
        later(async () => parse<SearchHit[]>(await a.search(h, space, vector, searchJson(k, filter, options), true))),
      insertEdges: (edges) => later(async () => void (await a.insertEdges(h, JSON.stringify(edges), true))),
      addEdgeWeights: (edges) => later(() => a.addEdgeWeights(h, JSON.stringify(edges), true)),
      insertEmbeddings: (items) => later(() => a.insertEmbeddings(h, ...flatten(items), true)),
      deleteNodes: (filter) => later(() => a.deleteNodes(h, JSON.stringify(filter), true)),
      deleteEdges: (selector) => later(() => a.deleteEdges(h, JSON.stringify(selector), true)),
      neighbors: (id, hop, limit) => later(async () => parse<Neighbor[]>(await a.neighbors(h, id, JSON.stringify(hop), JSON.stringify(limit ?? null), true))),
      degree: (id, hop) => later(() => a.degree(h, id, JSON.stringify(hop), true)),
      traverse: (id, hop, options) => later(async () => parse<Reached[]>(await a.traverse(h, id, JSON.stringify(hop), JSON.stringify(options), true))),
      shortestPath: (from, to, hop, maxDepth) => later(async () => parseOrNull<Path>(await a.shortestPath(h, from, to, JSON.stringify(hop), maxDepth, true))),
      listNodes: (query) => later(async () => nodePage(await a.listNodes(h, JSON.stringify(query), true))),
      listEdges: (query) => later(async () => parse<EdgePage>(await a.listEdges(h, JSON.stringify(query), true))),
      stats: () =>
        later(async () => {
          const [stats, storage] = await Promise.all([a.stats(h, true), a.usage(h, true)]);
          return { ...parse<Stats>(stats), storage: parse<StorageUsage>(storage) };
        }),
      executeQuery: (planJson, vector) => later(() => a.executePlan(h, planJson, vector ?? null, true)),
      writeBatch: (batch, options) => later(async () => parse<StorageBatchResult>(await a.writeBatch(h, ...batchArgs(batch, options), true))),
      changeSequence: () => later(() => a.changeSequence(h, true)),
      createTextIndex: (name, spec, control) => cancellable(a, control, (token) => a.createTextIndex(h, name, JSON.stringify(spec), control.onProgress ?? null, token, true)),
      dropTextIndex: (name) => later(async () => a.dropTextIndex(h, name)),
      searchText: (index, query, k, filter) => later(async () => parse<TextHit[]>(await a.searchText(h, index, query, k, JSON.stringify(filter), true))),
    };
    this.spaces = {
      drop: (name) => sync(() => a.dropSpace(h, name)),
      missing: (from, to, after, limit) => sync(() => nodePage(a.missingEmbeddings(h, from, to, JSON.stringify(after), limit, false))),
      replace: (name, by, spec) => sync(() => a.replaceSpace(h, name, by, JSON.stringify(spec), false)),
      async: {
        missing: (from, to, after, limit) => later(async () => nodePage(await a.missingEmbeddings(h, from, to, JSON.stringify(after), limit, true))),
        replace: (name, by, spec) => later(() => a.replaceSpace(h, name, by, JSON.stringify(spec), true)),
      },
    };
    this.maintenance = {
      backup: (dest, control) => sync(() => parse<BackupResult>(a.backup(h, dest, control.onProgress ?? null, null, false))),
      compact: (control) => sync(() => parse<CompactResult>(a.compact(h, control.onProgress ?? null, null, false))),
      verify: () => sync(() => parse<VerifyResult>(a.verify(h, false))),
      catchUpIndexes: () => sync(() => a.catchUpIndexes(h, false)),
      metrics: () => sync(() => parse<EngineMetrics>(a.metrics(h, false))),
      usage: () => sync(() => parse<StorageUsage>(a.usage(h, false))),
      load: (records) => sync(() => a.load(h, JSON.stringify(records), false)),
      async: {
        backup: (dest, control) => cancellable(a, control, (token) => a.backup(h, dest, control.onProgress ?? null, token, true)).then((j) => parse<BackupResult>(j)),
        compact: (control) => cancellable(a, control, (token) => a.compact(h, control.onProgress ?? null, token, true)).then((j) => parse<CompactResult>(j)),
        verify: () => later(async () => parse<VerifyResult>(await a.verify(h, true))),
        catchUpIndexes: () => later(() => a.catchUpIndexes(h, true)),
        metrics: () => later(async () => parse<EngineMetrics>(await a.metrics(h, true))),
        usage: () => later(async () => parse<StorageUsage>(await a.usage(h, true))),
      },
    };
  }

  override stats(): Stats {
    return { ...super.stats(), storage: this.maintenance.usage() };
  }

  beginTransaction(options?: TransactionOptions): StorageTransaction {
    return new NativeStorageTransaction(this.addon, sync(() => this.addon.txBegin(this.#handle, JSON.stringify(options?.durability ?? null), false)));
  }

  close(): void {
    this.addon.close(this.#handle);
  }
}

/** Runs an asynchronous long call with a cancel token that `control.signal` triggers. */
async function cancellable<T>(addon: NativeAddon, control: MaintenanceControl, run: (token: NativeCancelToken) => Promise<T>): Promise<T> {
  const token = addon.cancelToken();
  const abort = () => addon.cancel(token);
  control.signal?.addEventListener('abort', abort, { once: true });
  try {
    return await later(() => run(token));
  } finally {
    control.signal?.removeEventListener('abort', abort);
  }
}

/** Checks a backup (manifest, hash, pages, every record) and restores it into `targetPath`. */
export function restoreNative(backupPath: string, targetPath: string, overwrite: boolean, control: MaintenanceControl): RestoreResult {
  const a = native();
  return sync(() => parse<RestoreResult>(a.restore(backupPath, targetPath, overwrite, control.onProgress ?? null, null, false)));
}

export async function restoreNativeAsync(backupPath: string, targetPath: string, overwrite: boolean, control: MaintenanceControl): Promise<RestoreResult> {
  const a = native();
  return parse<RestoreResult>(await cancellable(a, control, (token) => a.restore(backupPath, targetPath, overwrite, control.onProgress ?? null, token, true)));
}

/**
 * Registers the native backend as `native`, the same way a third-party plugin would.
 *
 * @example
 * ```ts
 * EmbeddedDB.open('./memory.loomdb', { storage: 'native' }); // the default, registered by nativeStoragePlugin
 * ```
 */
export const nativeStoragePlugin: LoomPlugin = {
  name: 'native',
  register: (r) => r.registerStorage('native', (options) => new NativeStorage(options)),
};
