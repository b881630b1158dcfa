import { invalid, loomError, toLoomError } from './errors.js';
import { openBackend, type OpenOptions } from './open.js';
import type { StorageBackend } from './storage.js';
import type { Edge, EdgeInput, Node, NodeInput, SearchHit, SearchOptions, SpaceOption, Stats, Vector } from './types.js';
import { checkId, prepareEdge, prepareNode, preparePatch, prepareSearch, prepareSpaceName, prepareVector } from './validate.js';

/** Runs a backend call, turning whatever it throws into a LoomError. */
export function call<T>(backend: StorageBackend | null, op: (b: StorageBackend) => T): T {
  if (!backend) throw loomError('CLOSED', 'the database is closed');
  try {
    return op(backend);
  } catch (e) {
    throw toLoomError(e);
  }
}

export function prepareBatch(nodes: unknown): ReturnType<typeof prepareNode>[] {
  if (!Array.isArray(nodes)) throw invalid(`nodes must be an array, got ${typeof nodes}`);
  return nodes.map((n, i) => prepareNode(n, `nodes[${i}]`));
}

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
export class EmbeddedDB {
  #backend: StorageBackend | null;
  /** The database directory (absolute), or `''` for a backend given as an instance. */
  readonly path: string;

  private constructor(backend: StorageBackend, path: string) {
    this.#backend = backend;
    this.path = path;
  }

  /** Opens (creating if needed) the database at `path`, default {@link defaultDbPath}. */
  static open(path?: string, options?: OpenOptions): EmbeddedDB {
    const { backend, path: dbPath, plugins } = openBackend(path, options);
    const db = new EmbeddedDB(backend, dbPath);
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

  insertNode(node: NodeInput): Node {
    const n = prepareNode(node);
    return call(this.#backend, (b) => b.insertNodes([n])[0] as Node);
  }

  /** Inserts every node or none, in one commit; returns their ids in order. */
  insertNodesBatch(nodes: NodeInput[]): string[] {
    const prepared = prepareBatch(nodes);
    return call(this.#backend, (b) => b.insertNodes(prepared).map((n) => n.id));
  }

  getNode(id: string): Node | null {
    const checked = checkId('id', id);
    return call(this.#backend, (b) => b.getNode(checked));
  }

  /** Shallow-merges `properties`; a `null` value deletes its key. */
  updateNode(id: string, update: { properties: NodeInput['properties'] }): Node {
    const checked = checkId('id', id);
    const patch = preparePatch(update);
    return call(this.#backend, (b) => b.updateNode(checked, patch));
  }

  /** Deletes the node with its edges and embeddings; `false` when there was none. */
  deleteNode(id: string): boolean {
    const checked = checkId('id', id);
    return call(this.#backend, (b) => b.deleteNode(checked));
  }

  insertEdge(edge: EdgeInput): Edge {
    const e = prepareEdge(edge);
    return call(this.#backend, (b) => b.insertEdge(e));
  }

  getEdge(id: string): Edge | null {
    const checked = checkId('id', id);
    return call(this.#backend, (b) => b.getEdge(checked));
  }

  deleteEdge(id: string): boolean {
    const checked = checkId('id', id);
    return call(this.#backend, (b) => b.deleteEdge(checked));
  }

  /** Stores the node's vector in a space (default `'default'`), replacing any it had. */
  insertEmbedding(nodeId: string, vector: Vector, options?: SpaceOption): void {
    const id = checkId('nodeId', nodeId);
    const v = prepareVector(vector);
    const space = prepareSpaceName(options);
    call(this.#backend, (b) => b.insertEmbedding(id, space, v));
  }

  getEmbedding(nodeId: string, options?: SpaceOption): Float32Array | null {
    const id = checkId('nodeId', nodeId);
    const space = prepareSpaceName(options);
    return call(this.#backend, (b) => b.getEmbedding(id, space));
  }

  /** The `k` (default 10) nearest nodes to `vector`, nearest first. */
  searchVectors(vector: Vector, options?: SearchOptions): SearchHit[] {
    const v = prepareVector(vector);
    const { space, k, filter } = prepareSearch(options);
    return call(this.#backend, (b) => b.searchVectors(space, v, k, filter));
  }

  /** Counts and definitions of committed data. */
  stats(): Stats {
    return call(this.#backend, (b) => b.stats());
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
