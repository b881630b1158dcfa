import { invalid, loomError, toLoomError } from './errors.js';
import type { PreparedWriteBatch, StorageBackend, StorageBatchResult, StorageOperations } from './storage.js';
import { applyWriteBatch, conditional, noWriteBatches, prepareWriteBatch, type WriteBatch, type WriteBatchOptions, type WriteBatchResult } from './write-batch.js';
import type {
  Edge,
  EdgeInput,
  EdgeListOptions,
  EdgeSelector,
  EdgeWalkOptions,
  EmbeddingInput,
  ListPage,
  Neighbor,
  NeighborOptions,
  Node,
  NodeInput,
  NodeListOptions,
  NodeSelector,
  NodeWalkOptions,
  Path,
  HopOptions,
  IndexSpec,
  Reached,
  SearchHit,
  SearchOptions,
  ShortestPathOptions,
  SpaceOption,
  SpaceSpec,
  MaintenanceOptions,
  TextHit,
  TextIndexSpec,
  TextSearchOptions,
  Stats,
  TraverseOptions,
  Vector,
} from './types.js';
import {
  edgeQueryOf,
  encodeCursor,
  nodeQueryOf,
  prepareDepth,
  prepareEdgePage,
  prepareEdgeSelector,
  prepareHop,
  prepareLimit,
  prepareNodePage,
  prepareNodeSelector,
  prepareTraverse,
  prepareSearch,
  walkPages,
} from './walk.js';
import type { Position } from './prepared.js';
import { DurableQueue, prepareQueueName } from './queue.js';
import { prepareMaintenance, runLong } from './maintenance.js';
import { prepareTextIndexName, prepareTextIndexSpec, prepareTextSearch, textSearchOf } from './text-search.js';
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

/** Runs a backend call, turning whatever it throws into a LoomError. */
export function call<T>(backend: StorageBackend | null, op: (b: StorageBackend) => T): T {
  if (!backend) throw loomError('CLOSED', 'the database is closed');
  try {
    return op(backend);
  } catch (e) {
    throw toLoomError(e);
  }
}

/** A backend's batch result with the ids of the inserted nodes and edges. */
export function batchResult(batch: PreparedWriteBatch, result: Pick<StorageBatchResult, 'pushed' | 'leased'> & { changeSequence?: number }): WriteBatchResult {
  return { nodeIds: batch.insertNodes.map((n) => n.id), edgeIds: batch.insertEdges.map((e) => e.id), ...result };
}

/** A page of records and the opaque cursor that resumes after it. */
export function toListPage<T>(page: { items: T[]; next: Position | null }, query: object): ListPage<T> {
  return page.next ? { items: page.items, nextCursor: encodeCursor(query, page.next) } : { items: page.items };
}

/** Walk pages of this size when iterating. */
export const WALK_PAGE = 4096;

/**
 * The reads and writes of a database, synchronous. {@link EmbeddedDB} runs
 * them on the database, {@link Transaction} inside a transaction.
 *
 * @example
 * ```ts
 * function countPeople(ops: DatabaseOperations): number {
 *   return ops.listNodes({ type: 'Person', limit: 10_000 }).items.length;
 * }
 * countPeople(db);
 * db.transaction((tx) => countPeople(tx)); // a Transaction is one too
 * ```
 */
export abstract class DatabaseOperations {
  /**
   * Where the operations run; throws when that is gone (closed, ended).
   * @internal
   */
  protected abstract target(): StorageOperations;

  /** Runs a storage call, turning whatever it throws into a LoomError. */
  private run<T>(op: (o: StorageOperations) => T): T {
    const target = this.target();
    try {
      return op(target);
    } catch (e) {
      throw toLoomError(e);
    }
  }

  /**
   * Indexes `property` of nodes of `type`, so `where` filters on it read a
   * range instead of every node of the type; kept current by every write.
   * Results are the same with or without it. `false` when it existed.
   */
  createIndex(index: IndexSpec): boolean {
    const spec = prepareIndexSpec(index);
    return this.run((b) => b.createIndex(spec));
  }

  /**
   * Declares an embedding space after opening, as `open({ spaces })` does.
   * `dimensions` and `metric` are required; the other fields take their
   * defaults when the space is created. An existing space must have every
   * field `spec` gives (`INVALID_ARGUMENT` otherwise).
   *
   * ```ts
   * db.ensureSpace('notes', { dimensions: 384, metric: 'cosine', embedder: 'hashing' });
   * ```
   */
  ensureSpace(name: string, spec: SpaceSpec): void {
    const prepared = prepareSpaceSpec(name, spec);
    this.run((b) => b.ensureSpace(name, prepared));
  }

  /** Removes a property index; `false` when there was none. */
  dropIndex(index: IndexSpec): boolean {
    const spec = prepareIndexSpec(index);
    return this.run((b) => b.dropIndex(spec));
  }

  /**
   * Inserts a node and returns it as stored. Without an `id` it gets a
   * time-sortable one; an id that exists is `ALREADY_EXISTS`.
   *
   * ```ts
   * const msg = db.insertNode({ type: 'Message', properties: { role: 'user', content: 'Hike on Saturday?' } });
   * ```
   */
  insertNode(node: NodeInput): Node {
    const n = prepareNode(node);
    return this.run((b) => b.insertNode(n));
  }

  /** Inserts every node or none, in one commit; returns their ids in order. */
  insertNodesBatch(nodes: NodeInput[]): string[] {
    const prepared = prepareBatch(nodes);
    this.run((b) => b.insertNodes(prepared));
    return prepared.map((n) => n.id);
  }

  /** The node with this id, or `null` when there is none. */
  getNode(id: string): Node | null {
    const checked = checkId('id', id);
    return this.run((b) => b.getNode(checked));
  }

  /** Shallow-merges `properties`; a `null` value deletes its key. */
  updateNode(id: string, update: { properties: NodeInput['properties'] }): Node {
    const checked = checkId('id', id);
    const patch = preparePatch(update);
    return this.run((b) => b.updateNode(checked, patch));
  }

  /** Deletes the node with its edges and embeddings; `false` when there was none. */
  deleteNode(id: string): boolean {
    const checked = checkId('id', id);
    return this.run((b) => b.deleteNode(checked));
  }

  /**
   * Inserts an edge `from` → `to` (both nodes must exist, else `NOT_FOUND`)
   * and returns it as stored; `weight` defaults to 1.
   *
   * ```ts
   * db.insertEdge({ type: 'IN_CONVERSATION', from: msg.id, to: chat.id });
   * ```
   */
  insertEdge(edge: EdgeInput): Edge {
    const e = prepareEdge(edge);
    return this.run((b) => b.insertEdge(e));
  }

  getEdge(id: string): Edge | null {
    const checked = checkId('id', id);
    return this.run((b) => b.getEdge(checked));
  }

  /** Shallow-merges `properties` (a `null` value deletes its key) and/or sets `weight`; type and endpoints stay. */
  updateEdge(id: string, update: { properties?: EdgeInput['properties']; weight?: number }): Edge {
    const checked = checkId('id', id);
    const { properties, weight } = prepareEdgePatch(update);
    return this.run((b) => b.updateEdge(checked, properties, weight));
  }

  deleteEdge(id: string): boolean {
    const checked = checkId('id', id);
    return this.run((b) => b.deleteEdge(checked));
  }

  /** Stores the node's vector in a space (default `'default'`), replacing any it had. */
  insertEmbedding(nodeId: string, vector: Vector, options?: SpaceOption): void {
    const id = checkId('nodeId', nodeId);
    const v = prepareVector(vector);
    const space = prepareSpaceName(options);
    this.run((b) => b.insertEmbedding(id, space, v));
  }

  /** The node's vector in `options.space` (default `'default'`), or `null` when it has none. */
  getEmbedding(nodeId: string, options?: SpaceOption): Float32Array | null {
    const id = checkId('nodeId', nodeId);
    const space = prepareSpaceName(options);
    return this.run((b) => b.getEmbedding(id, space));
  }

  /**
   * The `k` (default 10) nearest nodes to `vector` that pass `filter`,
   * nearest first; `k` of them whenever `k` passing nodes have a vector.
   * On an `hnsw` space the search is approximate (raise `ef` for recall,
   * or pass `exact: true`).
   */
  searchVectors(vector: Vector, options?: SearchOptions): SearchHit[] {
    const v = prepareVector(vector);
    const { space, k, filter, options: search } = prepareSearch(options);
    return this.run((b) => b.searchVectors(space, v, k, filter, search));
  }

  /**
   * Declares a full-text index over the `fields` of nodes of `types` and
   * fills it from the nodes there are (progress in nodes; `signal` or
   * `onProgress` throwing stops it, writing nothing); `false` when it
   * existed with this spec. Every later write keeps it current in the same commit.
   *
   * ```ts
   * db.createTextIndex('default', { types: ['Message'], fields: ['content'] });
   * db.searchText('hiking in the alps', { k: 5 }); // [{ id, score }], best first
   * ```
   */
  createTextIndex(name: string, spec: TextIndexSpec, options?: MaintenanceOptions): boolean {
    const index = prepareTextIndexName(name);
    const prepared = prepareTextIndexSpec(index, spec);
    const o = prepareMaintenance(options);
    return this.run((b) => runLong(o, (control) => textSearchOf(b).createTextIndex(index, prepared, control)));
  }

  /** Removes a text index; `false` when there was none. */
  dropTextIndex(name: string): boolean {
    const index = prepareTextIndexName(name);
    return this.run((b) => textSearchOf(b).dropTextIndex(index));
  }

  /**
   * The `k` (default 10) nodes of text index `index` (default `'default'`)
   * that best match `text` by BM25 and pass `filter`, best first. Words are
   * matched as the index folds and stems them (any of them may match); a word
   * followed by `*` (`ferr*`) is a prefix of indexed terms; phrases are not
   * supported (quotes are ignored). A text of only stop words or punctuation
   * matches nothing.
   */
  searchText(text: string, options?: TextSearchOptions): TextHit[] {
    const { query, index, k, filter } = prepareTextSearch(text, options);
    return this.run((b) => textSearchOf(b).searchText(index, query, k, filter));
  }

  /** The same as {@link DatabaseOperations.ensureSpace}. */
  createSpace(name: string, spec: SpaceSpec): void {
    this.ensureSpace(name, spec);
  }

  /** Inserts every edge or none, in one commit; returns their ids in order. */
  insertEdgesBatch(edges: EdgeInput[]): string[] {
    const prepared = prepareEdgeBatch(edges);
    this.run((b) => b.insertEdges(prepared));
    return prepared.map((e) => e.id);
  }

  /**
   * Counter edges (co-mention counts, …), in one commit: adds each edge's
   * `weight` (default 1) to the edge with its `id`, creating it when absent,
   * deleting it when the sum drops to 0 or below.
   */
  addEdgeWeights(edges: Array<EdgeInput & { id: string }>): void {
    const prepared = prepareCounterEdges(edges);
    this.run((b) => b.addEdgeWeights(prepared));
  }

  /** Stores every vector or none, in one commit. */
  insertEmbeddingsBatch(items: EmbeddingInput[]): void {
    const prepared = prepareEmbeddingBatch(items);
    this.run((b) => b.insertEmbeddings(prepared));
  }

  /** Deletes nodes by id, or every node of a type and/or matching `where`, with their edges and embeddings, in one commit. Returns how many. */
  deleteNodes(selector: NodeSelector): number {
    const filter = prepareNodeSelector(selector);
    return this.run((b) => b.deleteNodes(filter));
  }

  /** Deletes edges by id, or every edge of a type (optionally only from and/or to a node), in one commit. Returns how many. */
  deleteEdges(selector: EdgeSelector): number {
    const s = prepareEdgeSelector(selector);
    return this.run((b) => b.deleteEdges(s));
  }

  /** The edges of a node and the nodes at their other ends. */
  neighbors(id: string, options: NeighborOptions): Neighbor[] {
    const checked = checkId('id', id);
    const hop = prepareHop('options', options);
    const limit = prepareLimit('options.limit', options.limit);
    return this.run((b) => b.neighbors(checked, hop, limit));
  }

  /** How many edges of a node `options` follow. */
  degree(id: string, options: HopOptions): number {
    const checked = checkId('id', id);
    const hop = prepareHop('options', options);
    return this.run((b) => b.degree(checked, hop));
  }

  /** Breadth-first from `startId` (not included), each node once, up to `maxDepth` hops. */
  traverse(startId: string, options: TraverseOptions): Reached[] {
    const checked = checkId('startId', startId);
    const { hop, ...rest } = prepareTraverse(options);
    return this.run((b) => b.traverse(checked, hop, rest));
  }

  /** A path with the fewest edges from `fromId` to `toId` (start first), or null when none within `maxDepth`. */
  shortestPath(fromId: string, toId: string, options: ShortestPathOptions): Path | null {
    const from = checkId('fromId', fromId);
    const to = checkId('toId', toId);
    const hop = prepareHop('options', options);
    const maxDepth = prepareDepth('options.maxDepth', options.maxDepth, 0);
    return this.run((b) => b.shortestPath(from, to, hop, maxDepth));
  }

  /** One page of nodes; pass `nextCursor` back as `cursor` for the next. Cursors stay valid across writes. */
  listNodes(options: NodeListOptions): ListPage<Node> {
    const query = prepareNodePage(options);
    return toListPage(this.run((b) => b.listNodes(query)), nodeQueryOf(query));
  }

  /** One page of edges in creation order. */
  listEdges(options: EdgeListOptions): ListPage<Edge> {
    const query = prepareEdgePage(options);
    return toListPage(this.run((b) => b.listEdges(query)), edgeQueryOf(query));
  }

  /** Every matching node, pulled from the engine a page at a time. */
  iterateNodes(options: NodeWalkOptions = {}): Generator<Node, void, undefined> {
    return walkPages(prepareNodePage(options, WALK_PAGE), (q) => this.run((b) => b.listNodes(q)));
  }

  /** Every edge (of a type), a page at a time. */
  iterateEdges(options: EdgeWalkOptions = {}): Generator<Edge, void, undefined> {
    return walkPages(prepareEdgePage(options, WALK_PAGE), (q) => this.run((b) => b.listEdges(q)));
  }

  /** Counts and definitions of committed data. */
  stats(): Stats {
    return this.run((b) => b.stats());
  }

  /**
   * Runs a query plan inside the storage engine (`capabilities.nativeQuery`),
   * JSON text in and out (the query vector may come beside the JSON);
   * `UNSUPPORTED` otherwise. Use `@loomdb/query`,
   * which builds the plans and falls back to its generic executor.
   */
  executeQuery(planJson: string, vector?: Float32Array): string {
    if (typeof planJson !== 'string') throw invalid(`planJson must be a string, got ${typeof planJson}`);
    const v = vector === undefined ? undefined : prepareVector(vector);
    return this.run((b) => {
      if (!b.executeQuery) throw loomError('UNSUPPORTED', 'this storage backend does not execute query plans (capabilities.nativeQuery is false)');
      return b.executeQuery(planJson, v);
    });
  }

  /**
   * Several writes, and steps on a durable queue, in one commit (inside a
   * transaction: all or none of them, as a savepoint), applied in the order
   * {@link WriteBatch} lists. With `ifChangeSequence`, only if no node, edge
   * or embedding changed since {@link DatabaseOperations.changeSequence}
   * returned it, and with `ifAfter`, only if the last change to the graph
   * is the batch with that `tag`: otherwise `CONFLICT` and nothing is
   * written. A backend without `capabilities.writeBatch` applies the parts
   * in a transaction, and has no conditions or tags (`UNSUPPORTED`).
   *
   * ```ts
   * const seen = db.changeSequence();
   * const known = db.getNode('ada'); // plan from reads…
   * db.writeBatch({ insertEdges: [{ type: 'KNOWS', from: 'ada', to: 'alan' }] }, { ifChangeSequence: seen });
   * ```
   */
  writeBatch(batch: WriteBatch, options?: WriteBatchOptions): WriteBatchResult {
    const p = prepareWriteBatch(batch, options);
    const target = this.target();
    if (target.writeBatch) return batchResult(p.batch, this.run((b) => b.writeBatch!(p.batch, p.options)));
    // The generic path: the record-level calls, all or none in a transaction (a savepoint inside one).
    if (conditional(p.options)) throw noWriteBatches();
    return batchResult(p.batch, this.transaction((tx) => applyWriteBatch(tx.target(), p.batch)));
  }

  /**
   * A number that moves with every committed node, edge or embedding write
   * (queue steps leave it), for {@link DatabaseOperations.writeBatch}'s
   * `ifChangeSequence` (`capabilities.writeBatch`; else `UNSUPPORTED`).
   */
  changeSequence(): number {
    return this.run((b) => {
      if (!b.changeSequence) throw noWriteBatches();
      return b.changeSequence();
    });
  }

  /** Runs `fn` in a transaction (a savepoint inside one): what a multi-part write needs. */
  abstract transaction<T>(fn: (tx: DatabaseOperations) => T): T;

  /**
   * The durable queue `name` in this database (`capabilities.durableQueue`;
   * else its calls throw `UNSUPPORTED`). Inside a transaction its calls join it.
   */
  queue(name: string): DurableQueue {
    return new DurableQueue(() => this.target(), prepareQueueName(name));
  }
}
