import { call, prepareBatch } from './embedded-db.js';
import { invalid, loomError, toLoomError } from './errors.js';
import { openBackend, type OpenOptions } from './open.js';
import type { AsyncStorageOperations, StorageBackend } from './storage.js';
import type { Edge, EdgeInput, Node, NodeInput, SearchHit, SearchOptions, SpaceOption, Stats, Vector } from './types.js';
import { checkId, prepareEdge, prepareNode, preparePatch, prepareSearch, prepareSpaceName, prepareVector } from './validate.js';

/** Options of long operations. */
export interface LongOperationOptions {
  /** Aborting before the work is committed rejects with the signal's reason and writes nothing. */
  signal?: AbortSignal;
}

/** The backend's off-thread operations, or its synchronous ones wrapped in promises. */
function operations(backend: StorageBackend): AsyncStorageOperations {
  if (backend.async) return backend.async;
  const wrap =
    <A extends unknown[], R>(f: (...args: A) => R) =>
    async (...args: A): Promise<R> =>
      f.apply(backend, args);
  return {
    insertNodes: wrap(backend.insertNodes),
    getNode: wrap(backend.getNode),
    updateNode: wrap(backend.updateNode),
    deleteNode: wrap(backend.deleteNode),
    insertEdge: wrap(backend.insertEdge),
    getEdge: wrap(backend.getEdge),
    deleteEdge: wrap(backend.deleteEdge),
    insertEmbedding: wrap(backend.insertEmbedding),
    getEmbedding: wrap(backend.getEmbedding),
    searchVectors: wrap(backend.searchVectors),
    stats: wrap(backend.stats),
  };
}

/**
 * The same database as {@link EmbeddedDB}, with every method returning a
 * promise and its work done off the JavaScript thread (on the native
 * backend), so timers and I/O keep running during long calls. Inputs are
 * validated before anything is scheduled: bad input rejects at once.
 */
export class AsyncEmbeddedDB {
  #backend: StorageBackend | null;
  readonly #ops: AsyncStorageOperations;
  readonly path: string;

  private constructor(backend: StorageBackend, path: string) {
    this.#backend = backend;
    this.#ops = operations(backend);
    this.path = path;
  }

  static async open(path?: string, options?: OpenOptions): Promise<AsyncEmbeddedDB> {
    const { backend, path: dbPath, plugins } = openBackend(path, options);
    const db = new AsyncEmbeddedDB(backend, dbPath);
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
    signal?.throwIfAborted();
    try {
      return await op(this.#ops);
    } catch (e) {
      throw toLoomError(e);
    }
  }

  get storage(): string {
    return call(this.#backend, (b) => b.name);
  }

  async insertNode(node: NodeInput): Promise<Node> {
    const n = prepareNode(node);
    return (await this.#run((o) => o.insertNodes([n])))[0] as Node;
  }

  /** Inserts every node or none, in one commit, off the JS thread; returns their ids in order. */
  async insertNodesBatch(nodes: NodeInput[], options: LongOperationOptions = {}): Promise<string[]> {
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw invalid('options.signal must be an AbortSignal');
    const prepared = prepareBatch(nodes);
    const inserted = await this.#run((o) => o.insertNodes(prepared), options.signal);
    return inserted.map((n) => n.id);
  }

  async getNode(id: string): Promise<Node | null> {
    const checked = checkId('id', id);
    return this.#run((o) => o.getNode(checked));
  }

  async updateNode(id: string, update: { properties: NodeInput['properties'] }): Promise<Node> {
    const checked = checkId('id', id);
    const patch = preparePatch(update);
    return this.#run((o) => o.updateNode(checked, patch));
  }

  async deleteNode(id: string): Promise<boolean> {
    const checked = checkId('id', id);
    return this.#run((o) => o.deleteNode(checked));
  }

  async insertEdge(edge: EdgeInput): Promise<Edge> {
    const e = prepareEdge(edge);
    return this.#run((o) => o.insertEdge(e));
  }

  async getEdge(id: string): Promise<Edge | null> {
    const checked = checkId('id', id);
    return this.#run((o) => o.getEdge(checked));
  }

  async deleteEdge(id: string): Promise<boolean> {
    const checked = checkId('id', id);
    return this.#run((o) => o.deleteEdge(checked));
  }

  async insertEmbedding(nodeId: string, vector: Vector, options?: SpaceOption): Promise<void> {
    const id = checkId('nodeId', nodeId);
    const v = prepareVector(vector);
    const space = prepareSpaceName(options);
    return this.#run((o) => o.insertEmbedding(id, space, v));
  }

  async getEmbedding(nodeId: string, options?: SpaceOption): Promise<Float32Array | null> {
    const id = checkId('nodeId', nodeId);
    const space = prepareSpaceName(options);
    return this.#run((o) => o.getEmbedding(id, space));
  }

  async searchVectors(vector: Vector, options?: SearchOptions): Promise<SearchHit[]> {
    const v = prepareVector(vector);
    const { space, k, filter } = prepareSearch(options);
    return this.#run((o) => o.searchVectors(space, v, k, filter));
  }

  async stats(): Promise<Stats> {
    return this.#run((o) => o.stats());
  }

  /**
   * Closes the handle; later calls reject with `CLOSED`. Calls already
   * running finish first: the engine keeps the database open until they do.
   */
  close(): void {
    const backend = this.#backend;
    this.#backend = null;
    backend?.close();
  }

  get closed(): boolean {
    return this.#backend === null;
  }
}

