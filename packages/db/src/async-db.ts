import { call, prepareBatch, prepareEdgeBatch, prepareEmbeddingBatch, toListPage, WALK_PAGE } from './embedded-db.js';
import { invalid, loomError, toLoomError } from './errors.js';
import { openBackend, type OpenOptions } from './open.js';
import { ASYNC_OPERATIONS, type AsyncStorageOperations, type StorageBackend } from './storage.js';
import type {
  Edge,
  EdgeInput,
  EdgeListOptions,
  EdgeSelector,
  EdgeWalkOptions,
  EmbeddingInput,
  HopOptions,
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
} from './walk.js';
import { checkId, prepareEdge, prepareNode, preparePatch, prepareSearch, prepareSpaceName, prepareVector } from './validate.js';

/** Options of long operations. */
export interface LongOperationOptions {
  /** Aborting before the work is committed rejects with the signal's reason and writes nothing. */
  signal?: AbortSignal;
}

/** The backend's off-thread operations, or its synchronous ones wrapped in promises. */
function operations(backend: StorageBackend): AsyncStorageOperations {
  if (backend.async) return backend.async;
  const wrapped: Record<string, unknown> = {};
  for (const name of ASYNC_OPERATIONS) {
    const method = backend[name] as (...args: unknown[]) => unknown;
    wrapped[name] = async (...args: unknown[]) => method.apply(backend, args);
  }
  return wrapped as AsyncStorageOperations;
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

  async insertEdgesBatch(edges: EdgeInput[], options: LongOperationOptions = {}): Promise<string[]> {
    const prepared = prepareEdgeBatch(edges);
    return (await this.#run((o) => o.insertEdges(prepared), options.signal)).map((e) => e.id);
  }

  async insertEmbeddingsBatch(items: EmbeddingInput[], options: LongOperationOptions = {}): Promise<void> {
    const prepared = prepareEmbeddingBatch(items);
    return this.#run((o) => o.insertEmbeddings(prepared), options.signal);
  }

  async deleteNodes(selector: NodeSelector): Promise<number> {
    const filter = prepareNodeSelector(selector);
    return this.#run((o) => o.deleteNodes(filter));
  }

  async deleteEdges(selector: EdgeSelector): Promise<number> {
    const s = prepareEdgeSelector(selector);
    return this.#run((o) => o.deleteEdges(s));
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

