import { invalid, loomError, toLoomError } from './errors.js';
import { restoreNative } from './backends/native.js';
import { assembleMetrics, maintenanceOf, MetricsSources, prepareMaintenance, prepareMetricsFormat, preparePath, runLong } from './maintenance.js';
import { openBackend, type OpenOptions } from './open.js';
import { toPrometheus } from './prometheus.js';
import type { BackupResult, CompactResult, ExportedRecord, MaintenanceOptions, Metrics, RestoreOptions, RestoreResult, VerifyResult } from './types.js';
import type { Embedder, Extractor, PluginOptions, Registry } from './plugins.js';
import { batchResult, call, DatabaseOperations } from './operations.js';
import { prepareWriteBatch, type WriteBatch, type WriteBatchOptions, type WriteBatchResult } from './write-batch.js';
import type { StorageBackend, StorageCapabilities, StorageOperations, TransactionOptions } from './storage.js';
import { prepareTransactionOptions, runTransaction, Transaction } from './transaction.js';
import { reembed, type ReembedOptions, type ReembedResult, type StepRunner } from './reembed.js';
import { checkProperties, guard, isPlainObject } from './validate.js';

/**
 * A LoomDB database, synchronous: every call returns when its work is done
 * (and, with `durability: 'immediate'`, on disk).
 *
 * @example
 * ```ts
 * const db = EmbeddedDB.open('./memory.loomdb', { spaces: { default: { dimensions: 3, metric: 'cosine' } } });
 * const a = db.insertNode({ type: 'Message', properties: { content: 'hi' } });
 * db.insertEmbedding(a.id, [0.1, 0.2, 0.3]);
 * db.searchVectors([0.1, 0.2, 0.3], { k: 5 }); // [{ id: a.id, distance: 0 }]
 * db.close();
 * ```
 */
export class EmbeddedDB extends DatabaseOperations {
  #backend: StorageBackend | null;
  readonly #sources = new MetricsSources();
  /** The database directory (absolute), or `''` for a backend given as an instance. */
  readonly path: string;

  readonly #registry: Registry;
  /** Transactions open on this handle: `close` rolls them back. */
  readonly #transactions = new Set<Transaction>();

  private constructor(backend: StorageBackend, path: string, registry: Registry) {
    super();
    this.#registry = registry;
    this.#backend = backend;
    this.path = path;
  }

  /** @internal */
  protected target(): StorageOperations {
    if (!this.#backend) throw loomError('CLOSED', 'the database is closed');
    return this.#backend;
  }

  /** Opens (creating if needed) the database at `path`, default {@link defaultDbPath}. */
  static open(path?: string, options?: OpenOptions): EmbeddedDB {
    const { backend, path: dbPath, plugins, registry } = openBackend(path, options);
    const db = new EmbeddedDB(backend, dbPath, registry);
    for (const plugin of plugins) {
      let pending: unknown;
      try {
        pending = plugin.onOpen?.(db);
      } catch (e) {
        // The handle is the caller's only when open returns it.
        db.close();
        throw toLoomError(e);
      }
      if (pending instanceof Promise) {
        pending.catch(() => undefined);
        db.close();
        throw invalid(`plugin "${plugin.name}" has an async onOpen; open with AsyncEmbeddedDB.open instead`);
      }
    }
    return db;
  }

  /** The storage backend's name (`'native'`, `'memory'`, …). */
  get storage(): string {
    return call(this.#backend, (b) => b.name);
  }

  /** What the storage backend can do beyond the basics (transactions, several processes, …). */
  get capabilities(): StorageCapabilities {
    return call(this.#backend, (b) => ({ ...b.capabilities }));
  }

  /**
   * Runs `fn` in a write transaction and returns what it returns: committed
   * when `fn` returns, rolled back when it throws (the error is rethrown
   * unchanged). Reads on `tx` see its writes; other readers see nothing
   * until the commit; other writers wait. Write through `tx`: a write on
   * `db` itself meanwhile throws `LOCKED`. `tx.transaction` nests as a
   * savepoint.
   *
   * ```ts
   * const id = db.transaction((tx) => {
   *   const c = tx.insertNode({ type: 'Conversation', properties: {} });
   *   tx.insertEdge({ type: 'IN_CONVERSATION', from: messageId, to: c.id });
   *   return c.id;
   * });
   * ```
   */
  transaction<T>(fn: (tx: Transaction) => T, options?: TransactionOptions): T {
    if (typeof fn !== 'function') throw invalid(`transaction needs a function, got ${typeof fn}`);
    const prepared = prepareTransactionOptions(options);
    const backend = this.target() as StorageBackend;
    if (!backend.beginTransaction) throw loomError('UNSUPPORTED', `the "${backend.name}" storage backend has no transactions`);
    const begin = backend.beginTransaction.bind(backend);
    const tx = new Transaction(call(backend, () => begin(prepared)));
    this.#transactions.add(tx);
    try {
      return runTransaction(tx, fn);
    } finally {
      this.#transactions.delete(tx);
    }
  }

  /**
   * {@link DatabaseOperations.writeBatch} committed off the JavaScript thread
   * (on the native backend; elsewhere as `writeBatch`): the promise settles
   * once the batch is committed, while timers and I/O go on. A synchronous
   * write on this handle meanwhile blocks until it is done (or `LOCKED`
   * after `busyTimeoutMs`).
   */
  async writeBatchAsync(batch: WriteBatch, options?: WriteBatchOptions): Promise<WriteBatchResult> {
    const offThread = (this.target() as StorageBackend).async?.writeBatch;
    if (!offThread) return this.writeBatch(batch, options);
    const p = prepareWriteBatch(batch, options);
    try {
      return batchResult(p.batch, await offThread(p.batch, p.options));
    } catch (e) {
      throw toLoomError(e);
    }
  }

  /**
   * Writes a backup of the committed data to the new directory `destPath`
   * (missing or empty): a consistent snapshot, taken while this and other
   * processes go on reading and writing. Vector index sidecars are not
   * copied; a restored database rebuilds them.
   */
  backup(destPath: string, options?: MaintenanceOptions): BackupResult {
    const dest = preparePath('destPath', destPath);
    const o = prepareMaintenance(options);
    const m = maintenanceOf(this.#open(), 'backups');
    return runLong(o, (control) => m.backup(dest, control));
  }

  /**
   * Restores the backup at `backupPath` into `targetPath`. The backup is
   * checked completely (manifest, hash, page structure, every record)
   * before the target is touched: a damaged one is `CORRUPTION`. A
   * non-empty target is refused (`ALREADY_EXISTS`) unless `overwrite`, and
   * replaced only when no process has it open (`LOCKED`).
   */
  static restore(backupPath: string, targetPath: string, options?: RestoreOptions): RestoreResult {
    const from = preparePath('backupPath', backupPath);
    const to = preparePath('targetPath', targetPath);
    const o = prepareMaintenance(options, true);
    return runLong(o, (control) => restoreNative(from, to, o.overwrite ?? false, control));
  }

  /**
   * Builds or catches up every vector index (HNSW graph) of this process
   * to the last commit, on this call. Searches never wait for an index: while
   * one is built or behind, a background worker catches it up and searches
   * score what it lacks exactly. Call this to move that work before a phase
   * where search speed matters (after a bulk load, before a benchmark).
   * A backend without derived indexes has nothing to do.
   *
   * @example
   * ```ts
   * db.insertEmbeddings(items);
   * db.catchUpIndexes();
   * db.stats().spaces[0]?.graph; // { loaded: true, behind: 0, ... }
   * ```
   */
  catchUpIndexes(): void {
    const m = this.#open().maintenance;
    if (m) call(this.#backend, () => m.catchUpIndexes());
  }

  /**
   * Checks the file's page structure and every record, index entry, edge
   * endpoint and adjacency entry; reports problems instead of throwing.
   */
  verify(): VerifyResult {
    const m = maintenanceOf(this.#open(), 'verify');
    return call(this.#backend, () => m.verify());
  }

  /**
   * Rewrites the data file without free pages and prunes the change log.
   * Needs the database to itself: with other processes having it open it
   * throws `LOCKED` naming them. Other handles in this process wait and
   * then see the compacted file.
   */
  compact(options?: MaintenanceOptions): CompactResult {
    const o = prepareMaintenance(options);
    const m = maintenanceOf(this.#open(), 'compaction');
    return runLong(o, (control) => m.compact(control));
  }

  /**
   * Operation counts and latency percentiles, storage usage and every
   * registered source; `{ format: 'prometheus' }` gives the text exposition format.
   */
  metrics(): Metrics;
  metrics(options: { format: 'json' }): Metrics;
  metrics(options: { format: 'prometheus' }): string;
  metrics(options?: { format?: 'json' | 'prometheus' }): Metrics | string {
    const format = prepareMetricsFormat(options);
    const backend = this.#open();
    const engine = backend.maintenance ? call(backend, (b) => (b.maintenance as NonNullable<typeof b.maintenance>).metrics()) : null;
    const m = assembleMetrics(backend.name, engine, this.#sources.collect());
    return format === 'prometheus' ? toPrometheus(m) : m;
  }

  /**
   * Inserts records exactly as `getNode`/`getEdge` (or `loomdb export`)
   * gave them — ids, properties, weights, `createdAt`/`updatedAt` — in one
   * commit; all or nothing. Pass them in creation order (an edge after its
   * endpoints): times stay as given when the database has no later records.
   */
  importRecords(records: ExportedRecord[]): void {
    guard('records', () => checkRecords(records));
    const m = maintenanceOf(this.#open(), 'record import');
    call(this.#backend, () => m.load(records));
  }

  /**
   * Adds `source()`'s object to every `metrics()` under `name` (the weaver
   * registers its stats this way). Registering a name again replaces its
   * source; the returned function removes it.
   */
  registerMetricsSource(name: string, source: () => object): () => void {
    this.#open();
    return this.#sources.register(name, source);
  }

  #open(): StorageBackend {
    return this.target() as StorageBackend;
  }

  /**
   * Re-embeds every vector of `space` with another embedder, which the
   * space then records. The new vectors are built beside the old ones
   * (in the space `<space>__reembed`; searches keep using the old ones, here
   * and in other processes) and replace them in one commit at the end.
   * Interrupted (`signal`, an error, a killed process), it goes on where it
   * stopped when called again; once done, calling it again does nothing.
   * Vectors written to `space` meanwhile are re-embedded too. Embedding runs
   * as the embedder runs it (a model plugin: off the JavaScript thread).
   *
   * ```ts
   * await db.reembed('default', { embedder: 'local', onProgress: ({ done, total }) => console.log(done, total) });
   * ```
   */
  async reembed(space: string, options: ReembedOptions): Promise<ReembedResult> {
    const run: StepRunner = async (step) => {
      this.target();
      try {
        return await step();
      } catch (e) {
        throw toLoomError(e);
      }
    };
    return reembed(this.#open(), this.#registry, run, space, options);
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
   * Closes the handle; later calls throw `CLOSED`. Closing twice is harmless.
   * A transaction open on the handle is rolled back, and its function's
   * further calls and its end throw `CLOSED`.
   */
  close(): void {
    const backend = this.#backend;
    this.#backend = null;
    for (const tx of this.#transactions) tx.abandon();
    this.#transactions.clear();
    backend?.close();
  }

  get closed(): boolean {
    return this.#backend === null;
  }
}

/** Checks records for `importRecords`: `{ node }` or `{ edge }`, of JSON values only. */
function checkRecords(records: unknown): void {
  if (!Array.isArray(records)) throw invalid(`records must be an array of { node } or { edge }, got ${typeof records}`);
  (records as unknown[]).forEach((r, i) => {
    if (!isPlainObject(r) || Object.keys(r).length !== 1 || !('node' in r || 'edge' in r)) {
      throw invalid(`records[${i}] must be { node } or { edge }`);
    }
    // JSON values only (no bigint, cycle, hole, throwing getter, Proxy or unpaired surrogate), named where they are.
    checkProperties(`records[${i}]`, r);
  });
}
