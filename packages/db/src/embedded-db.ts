import { invalid, loomError } from './errors.js';
import { openBackend, type OpenOptions } from './open.js';
import type { Embedder, Extractor, PluginOptions, Registry } from './plugins.js';
import { call, DatabaseOperations } from './operations.js';
import type { StorageBackend, StorageCapabilities, StorageOperations } from './storage.js';
import { runTransaction, Transaction } from './transaction.js';

/**
 * A LoomDB database, synchronous: every call returns when its work is done
 * (and, with `durability: 'immediate'`, on disk).
 *
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
  /** The database directory (absolute), or `''` for a backend given as an instance. */
  readonly path: string;

  readonly #registry: Registry;

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
      const pending = plugin.onOpen?.(db);
      if (pending instanceof Promise) {
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
  transaction<T>(fn: (tx: Transaction) => T): T {
    if (typeof fn !== 'function') throw invalid(`transaction needs a function, got ${typeof fn}`);
    const backend = this.target() as StorageBackend;
    if (!backend.beginTransaction) throw loomError('UNSUPPORTED', `the "${backend.name}" storage backend has no transactions`);
    const begin = backend.beginTransaction.bind(backend);
    return runTransaction(new Transaction(call(backend, () => begin())), fn);
  }

  /** A new instance of the embedder registered as `name` (built in: `'hashing'`), or `NOT_FOUND`. */
  embedder(name: string, options?: PluginOptions): Embedder {
    return this.#registry.embedder(name, options);
  }

  /** A new instance of the extractor registered as `name` (a plugin's), or `NOT_FOUND`. */
  extractor(name: string, options?: PluginOptions): Extractor {
    return this.#registry.extractor(name, options);
  }

  /** Closes the handle; later calls throw `CLOSED`. Closing twice is harmless. */
  close(): void {
    const backend = this.#backend;
    this.#backend = null;
    backend?.close();
  }

  get closed(): boolean {
    return this.#backend === null;
  }
}
