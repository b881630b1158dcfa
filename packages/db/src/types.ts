/**
 * A JSON value as stored in properties.
 *
 * @example
 * ```ts
 * const value: JsonValue = { tags: ['rust', 'tea'], score: 0.5, seen: true, note: null };
 * ```
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Node and edge properties: a JSON object.
 *
 * @example
 * ```ts
 * const properties: Properties = { name: 'Ada', born: 1815, topics: ['math'] };
 * db.insertNode({ type: 'Person', properties });
 * ```
 */
export type Properties = { [key: string]: JsonValue };

/**
 * A node of the graph: its id, type, JSON properties and times (ms since the epoch).
 *
 * @example
 * ```ts
 * const node: Node = db.insertNode({ type: 'Message', properties: { content: 'hi' } });
 * console.log(node.id, node.type, node.properties.content, node.createdAt === node.updatedAt);
 * ```
 */
export interface Node {
  id: string;
  type: string;
  properties: Properties;
  /** Milliseconds since the Unix epoch. */
  createdAt: number;
  updatedAt: number;
}

/**
 * A directed, typed edge between two nodes, with JSON properties, a numeric weight and its creation time.
 *
 * @example
 * ```ts
 * const edge: Edge = db.insertEdge({ type: 'MENTIONS', from: messageId, to: entityId, weight: 1 });
 * console.log(edge.from, edge.to, edge.weight);
 * ```
 */
export interface Edge {
  id: string;
  type: string;
  from: string;
  to: string;
  properties: Properties;
  weight: number;
  createdAt: number;
}

/**
 * What `insertNode` takes: a type, optional properties, and an id (generated, time-sortable, when absent).
 *
 * @example
 * ```ts
 * const input: NodeInput = { id: 'ada', type: 'Person', properties: { name: 'Ada' } }; // id optional: generated when absent
 * db.insertNode(input);
 * ```
 */
export interface NodeInput {
  /** Generated (time-sortable UUIDv7) when absent. */
  id?: string;
  type: string;
  properties?: Properties;
}

/**
 * What `insertEdge` takes: a type, both endpoints (existing node ids), optional properties and weight (default 1), and an optional id.
 *
 * @example
 * ```ts
 * const input: EdgeInput = { type: 'KNOWS', from: 'ada', to: 'charles', properties: { since: 1833 }, weight: 2 };
 * db.insertEdge(input);
 * ```
 */
export interface EdgeInput {
  id?: string;
  type: string;
  from: string;
  to: string;
  properties?: Properties;
  /** Defaults to 1. */
  weight?: number;
}

/**
 * The distance of a space: `cosine` (1 − cosine similarity), `l2` (Euclidean distance) or `dot` (1 − a·b).
 *
 * @example
 * ```ts
 * const metric: Metric = 'cosine'; // or 'l2', 'dot'
 * EmbeddedDB.open('./m.loomdb', { spaces: { default: { dimensions: 384, metric } } });
 * ```
 */
export type Metric = 'cosine' | 'l2' | 'dot';

/**
 * An embedding space: every vector in it has `dimensions` numbers.
 *
 * Optional fields left out take their defaults when the space is created and
 * match whatever an existing space has; fields given must equal the stored
 * ones, else `INVALID_ARGUMENT`.
  *
  * @example
  * ```ts
  * const spec: SpaceSpec = { dimensions: 384, metric: 'cosine', index: 'hnsw', embedder: 'hashing' };
  * const db = EmbeddedDB.open('./memory.loomdb', { spaces: { default: spec } });
  * ```
  */
export interface SpaceSpec {
  dimensions: number;
  /** cosine: 1 − cos θ; l2: Euclidean distance; dot: 1 − a·b. */
  metric: Metric;
  /** `'hnsw'` (default): approximate search on an HNSW graph; `'flat'`: every search scans exactly. */
  index?: 'hnsw' | 'flat' | (string & {});
  /** HNSW links per node (2–256, default 16): more is better recall, more memory, slower inserts. */
  M?: number;
  /** HNSW breadth while inserting (default 128). */
  efConstruction?: number;
  /** HNSW breadth while searching (default 64), unless a query sets `ef`. */
  ef?: number;
  /** Name of the registered embedder that turns text into this space's vectors. */
  embedder?: string;
}

/**
 * A vector: a `Float32Array` or an array of numbers (stored as 32-bit floats).
 *
 * @example
 * ```ts
 * const v: Vector = [0.1, 0.9, 0.2]; // or a Float32Array
 * db.insertEmbedding(nodeId, v);
 * ```
 */
export type Vector = Float32Array | readonly number[];

/**
 * Names the embedding space a call works on (default `'default'`).
 *
 * @example
 * ```ts
 * db.insertEmbedding(nodeId, vector, { space: 'titles' } satisfies SpaceOption);
 * db.getEmbedding(nodeId, { space: 'titles' });
 * ```
 */
export interface SpaceOption {
  /** Embedding space; `'default'` when absent. */
  space?: string;
}

/**
 * Which nodes a search may return; every part given must hold.
 *
 * @example
 * ```ts
 * const filter: SearchFilter = { type: 'Message', where: { role: 'user' } };
 * db.searchVectors(vector, { k: 5, filter });
 * ```
 */
export interface SearchFilter {
  /** Only nodes of this type (or any of these types). */
  type?: string | string[];
  /** Only these node ids. */
  ids?: string[];
  /** Only nodes whose properties satisfy every condition. */
  where?: Where;
}

/**
 * Options of `searchVectors`: how many hits (`k`), which space, a filter, exact search, and the HNSW breadth `ef`.
 *
 * @example
 * ```ts
 * const options: SearchOptions = { k: 10, space: 'default', filter: { type: 'Message' }, ef: 64 };
 * const hits = db.searchVectors(vector, options);
 * ```
 */
export interface SearchOptions extends SpaceOption {
  /** How many neighbours; default 10. `k` come back whenever `k` nodes with a vector pass the filter. */
  k?: number;
  filter?: SearchFilter;
  /** Scan every vector instead of using the space's HNSW graph. */
  exact?: boolean;
  /** HNSW search breadth for this query (default: the space's `ef`); higher is better recall, slower. */
  ef?: number;
}

/**
 * One nearest-neighbour hit: the node id and its distance (smaller is nearer).
 *
 * @example
 * ```ts
 * const [best]: SearchHit[] = db.searchVectors(vector, { k: 1 });
 * if (best) console.log(best.id, best.distance);
 * ```
 */
export interface SearchHit {
  id: string;
  distance: number;
}

/**
 * What this process has done with a space's HNSW graph.
 *
 * @example
 * ```ts
 * const [graph]: GraphStats[] = db.metrics().vectorIndexes;
 * console.log(graph?.space, graph?.size);
 * ```
 */
export interface GraphStats {
  /**
   * Whether the graph is ready in memory. A background worker loads or builds
   * it after the first search or vector write; searches scan exactly until then.
   */
  loaded: boolean;
  /** Vectors in the graph. */
  vectors: number;
  /** Change-log sequence the graph covers. */
  seq: number;
  /**
   * Change-log entries committed after `seq`: how far the graph is behind.
   * Searches score the vectors those entries changed exactly while the
   * worker catches up ({@link EmbeddedDB.catchUpIndexes} does it at once).
   */
  behind: number;
  /** Times the saved graph (`<space>.hnsw`) was loaded, caught up with newer writes, or rebuilt from the stored vectors. */
  loads: number;
  catchUps: number;
  rebuilds: number;
  /** Searches that found the graph ready. */
  hits: number;
  /** Bytes the graph takes in memory. */
  bytes: number;
  /** Vectors removed or replaced whose slots the graph still holds: searches walk through them, never return them; the graph is rebuilt once they pass a quarter of its vectors, and `compact()` drops them. */
  deleted: number;
  /** When this process last rebuilt the graph (ms since epoch), if it did. */
  lastRebuildAt?: number;
}

/**
 * A space as stored (defaults filled in) and how many vectors it holds.
 *
 * @example
 * ```ts
 * for (const s of db.stats().spaces) console.log(s.name, s.dimensions, s.metric, s.vectors);
 * ```
 */
export interface SpaceStats extends SpaceSpec {
  name: string;
  index: string;
  embeddings: number;
  /** `hnsw` spaces on backends with a graph of their own (native). */
  graph?: GraphStats;
}

/**
 * A full-text index: the strings in `fields` of nodes of `types`, tokenized
 * (Unicode words, case and diacritics folded, stop words dropped, Snowball
 * stemming) and ranked by BM25. Kept current by every write, in the same commit.
  *
  * @example
  * ```ts
  * const spec: TextIndexSpec = { types: ['Message'], fields: ['content'], language: 'en' };
  * db.createTextIndex('default', spec);
  * ```
  */
export interface TextIndexSpec {
  types: string[];
  /** Properties holding the text: strings, or arrays of strings. */
  fields: string[];
  /** ISO 639-1 code of the stemmer and stop words (`'en'`, default; `'de'`, `'fr'`, `'es'`, …), or `'none'` to only fold. */
  language?: string;
  /** Drop the language's stop words (default true). */
  stopWords?: boolean;
  /** BM25 term-frequency saturation (default 1.2). */
  k1?: number;
  /** BM25 length normalisation, 0 to 1 (default 0.75). */
  b?: number;
}

/**
 * A text index as stored (defaults filled in) and how many nodes it holds.
 *
 * @example
 * ```ts
 * for (const t of db.stats().textIndexes) console.log(t.name, t.fields, t.documents);
 * ```
 */
export interface TextIndexStats extends Required<TextIndexSpec> {
  name: string;
  /** Nodes with at least one indexed term. */
  documents: number;
}

/**
 * Options of `searchText`: how many hits (`k`) and which text index.
 *
 * @example
 * ```ts
 * const options: TextSearchOptions = { k: 5, index: 'default' };
 * db.searchText('ferry booking', options);
 * ```
 */
export interface TextSearchOptions {
  /** How many results; default 10. */
  k?: number;
  /** The text index; default `'default'`. */
  index?: string;
  filter?: SearchFilter;
}

/**
 * A text search result: higher `score` is a better match (BM25).
 *
 * @example
 * ```ts
 * const hits: TextHit[] = db.searchText('ferry booking', { k: 5 }); // best first
 * for (const { id, score } of hits) console.log(id, score);
 * ```
 */
export interface TextHit {
  id: string;
  score: number;
}

/**
 * A property index: nodes of `type` by the value of `property`.
 *
 * @example
 * ```ts
 * const index: IndexSpec = { type: 'Message', property: 'conversationId' };
 * db.createIndex(index); // false when it already existed
 * ```
 */
export interface IndexSpec {
  type: string;
  property: string;
}

/**
 * One index in `stats().indexes`: a node-type index or a declared property index, with its entry count.
 *
 * @example
 * ```ts
 * for (const i of db.stats().indexes) console.log(i.name, i.kind);
 * ```
 */
export interface IndexStats {
  /** `nodeType`, or `<type>.<property>` for a property index. */
  name: string;
  kind: 'type' | 'property';
  /** The indexed node type and property (property indexes). */
  type?: string;
  property?: string;
  /** Nodes in the index (a property index holds those whose value is a string, number, boolean or null). */
  entries: number;
}

/**
 * Committed data only: identical before and after a failed call.
 *
 * @example
 * ```ts
 * const { nodes, edges, spaces } = db.stats(); // committed data only
 * console.log(nodes, edges, spaces.map((s) => s.name));
 * ```
 */
export interface Stats {
  nodes: number;
  edges: number;
  spaces: SpaceStats[];
  indexes: IndexStats[];
  /** Full-text indexes (backends with `capabilities.textSearch`). */
  textIndexes?: TextIndexStats[];
  formatVersion: number;
  /** Data file usage, including bytes a compaction would reclaim (native backend). */
  storage?: StorageUsage;
}

/**
 * Which edges a hop follows, seen from the node asked about: `out` (leaving it), `in` (arriving) or `both`.
 *
 * @example
 * ```ts
 * const direction: Direction = 'out'; // seen from the node asked about
 * db.neighbors('ada', { direction });
 * ```
 */
export type Direction = 'out' | 'in' | 'both';

/**
 * A property condition: a plain value means `eq`.
 *
 * @example
 * ```ts
 * const adults: Condition = { gte: 18 };
 * db.listNodes({ type: 'Person', where: { age: adults, country: 'PT' }, limit: 100 }); // a plain value means eq
 * ```
 */
export type Condition =
  | JsonValue
  | { eq?: JsonValue; ne?: JsonValue; in?: JsonValue[]; gt?: JsonValue; gte?: JsonValue; lt?: JsonValue; lte?: JsonValue };

/**
 * Every listed property must satisfy its condition.
 *
 * @example
 * ```ts
 * const where: Where = { role: 'user', timestamp: { gte: Date.parse('2026-01-01') } };
 * db.deleteNodes({ type: 'Message', where });
 * ```
 */
export type Where = Record<string, Condition>;

/**
 * Which edges one hop follows: a direction and optionally only some edge types.
 *
 * @example
 * ```ts
 * const hop: HopOptions = { direction: 'in', edgeTypes: ['MENTIONS'] };
 * db.degree(entityId, hop); // how many messages mention the entity
 * ```
 */
export interface HopOptions {
  /** Seen from the node asked about: `'out'` follows edges leaving it. */
  direction: Direction;
  /** Only edges of these types. */
  edgeTypes?: string[];
}

/**
 * Options of `neighbors`: a hop, and at most `limit` neighbours.
 *
 * @example
 * ```ts
 * const options: NeighborOptions = { direction: 'out', edgeTypes: ['MENTIONS'], limit: 20 };
 * for (const { node, edge } of db.neighbors(messageId, options)) console.log(edge.type, node.properties.name);
 * ```
 */
export interface NeighborOptions extends HopOptions {
  limit?: number;
}

/**
 * A neighbour of a node: the edge followed and the node at its other end.
 *
 * @example
 * ```ts
 * const [first]: Neighbor[] = db.neighbors('ada', { direction: 'out' });
 * console.log(first?.edge.type, first?.node.id);
 * ```
 */
export interface Neighbor {
  edge: Edge;
  node: Node;
}

/**
 * Options of `traverse`: a hop, how deep to go, which node types to enter, and at most `limit` nodes.
 *
 * @example
 * ```ts
 * const options: TraverseOptions = { direction: 'both', maxDepth: 2, nodeTypes: ['Entity'], limit: 100 };
 * db.traverse(entityId, options);
 * ```
 */
export interface TraverseOptions extends HopOptions {
  maxDepth: number;
  /** Only enter nodes of these types (the walk does not pass through others). */
  nodeTypes?: string[];
  limit?: number;
}

/**
 * A node reached by `traverse`, with its depth and the edge that first reached it.
 *
 * @example
 * ```ts
 * for (const r of db.traverse('ada', { direction: 'out', maxDepth: 3 }) as Reached[]) console.log(r.node.id, r.depth, r.via);
 * ```
 */
export interface Reached {
  node: Node;
  /** Hops from the start (1 for a neighbour). */
  depth: number;
  /** Id of the edge that first reached the node. */
  via: string;
}

/**
 * Options of `shortestPath`: a hop and the longest path to look for.
 *
 * @example
 * ```ts
 * const options: ShortestPathOptions = { direction: 'both', maxDepth: 6 };
 * const path = db.shortestPath('ada', 'grace', options);
 * ```
 */
export interface ShortestPathOptions extends HopOptions {
  maxDepth: number;
}

/**
 * A path found by `shortestPath`: its nodes, start first, and the edges between them.
 *
 * @example
 * ```ts
 * const path: Path | null = db.shortestPath('ada', 'grace', { direction: 'both', maxDepth: 6 });
 * if (path) console.log(path.nodes.map((n) => n.id).join(' → '), path.edges.length);
 * ```
 */
export interface Path {
  /** Start first, end last. */
  nodes: Node[];
  edges: Edge[];
}

/**
 * One vector of `insertEmbeddingsBatch`: the node, the vector and the space.
 *
 * @example
 * ```ts
 * const items: EmbeddingInput[] = [{ nodeId: 'm1', vector: [0.1, 0.2, 0.3] }, { nodeId: 'm2', vector: [0.3, 0.2, 0.1], space: 'default' }];
 * db.insertEmbeddingsBatch(items);
 * ```
 */
export interface EmbeddingInput {
  nodeId: string;
  vector: Vector;
  /** Default `'default'`. */
  space?: string;
}

/**
 * Nodes to delete: ids, or every node of a type and/or matching `where`.
 *
 * @example
 * ```ts
 * db.deleteNodes(['m1', 'm2']);
 * db.deleteNodes({ type: 'Message', where: { conversationId: 'c1' } } satisfies NodeSelector);
 * ```
 */
export type NodeSelector = string[] | { type?: string | string[]; where?: Where };

/**
 * Edges to delete: ids, or every edge of a type, optionally only from and/or to a node.
 *
 * @example
 * ```ts
 * db.deleteEdges({ type: 'MENTIONS', from: 'm1' } satisfies EdgeSelector); // returns how many went
 * ```
 */
export type EdgeSelector = string[] | { type: string; from?: string; to?: string };

/**
 * Options of `iterateNodes`: which nodes, in which order, after which cursor.
 *
 * @example
 * ```ts
 * const options: NodeWalkOptions = { type: 'Message', where: { role: 'user' }, orderBy: 'createdAt', direction: 'desc' };
 * for (const node of db.iterateNodes(options)) console.log(node.id);
 * ```
 */
export interface NodeWalkOptions {
  type?: string | string[];
  where?: Where;
  /** Default `'createdAt'` (insertion order). */
  orderBy?: 'createdAt' | 'id';
  /** Default `'asc'`. */
  direction?: 'asc' | 'desc';
  /** Continue after this cursor (from `listNodes`). */
  after?: string;
}

/**
 * Options of `listNodes`: the same as `iterateNodes`, in pages of `limit` with a `cursor`.
 *
 * @example
 * ```ts
 * let page = db.listNodes({ type: 'Message', limit: 100 } satisfies NodeListOptions);
 * while (page.nextCursor) page = db.listNodes({ type: 'Message', limit: 100, cursor: page.nextCursor });
 * ```
 */
export interface NodeListOptions extends Omit<NodeWalkOptions, 'after'> {
  /** Page size, 1 to 10,000. */
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/**
 * Options of `iterateEdges`: which edge type, in which order, after which cursor.
 *
 * @example
 * ```ts
 * for (const edge of db.iterateEdges({ type: 'MENTIONS', direction: 'asc' } satisfies EdgeWalkOptions)) console.log(edge.from, edge.to);
 * ```
 */
export interface EdgeWalkOptions {
  type?: string;
  direction?: 'asc' | 'desc';
  after?: string;
}

/**
 * Options of `listEdges`: pages of `limit` edges, continued with `cursor`.
 *
 * @example
 * ```ts
 * const { items, nextCursor } = db.listEdges({ type: 'NEXT', limit: 50 } satisfies EdgeListOptions);
 * ```
 */
export interface EdgeListOptions extends Omit<EdgeWalkOptions, 'after'> {
  limit: number;
  cursor?: string;
}

/**
 * A page of `listNodes` or `listEdges`, with the cursor of the next page.
 *
 * @example
 * ```ts
 * const page: ListPage<Node> = db.listNodes({ limit: 10 });
 * console.log(page.items.length, page.nextCursor ?? 'last page');
 * ```
 */
export interface ListPage<T> {
  items: T[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

/**
 * Progress of a long operation (backup, restore, compaction), in bytes.
 *
 * @example
 * ```ts
 * db.backup('./memory-backup', { onProgress: ({ done, total }: ByteProgress) => console.log(`${Math.round((100 * done) / total)} %`) });
 * ```
 */
export interface ByteProgress {
  done: number;
  total: number;
}

/**
 * Options of backup, restore and compaction.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const options: MaintenanceOptions = { signal: controller.signal, onProgress: ({ done, total }) => console.log(done, total) };
 * db.compact(options);
 * ```
 */
export interface MaintenanceOptions {
  /** Called as bytes are copied. */
  onProgress?: (progress: ByteProgress) => void;
  /** Stops the work; nothing is left half-written and the call rejects (or throws) with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Options of `EmbeddedDB.restore`: progress, a signal, and whether to replace a non-empty target.
 *
 * @example
 * ```ts
 * EmbeddedDB.restore('./memory-backup', './memory.loomdb', { overwrite: true } satisfies RestoreOptions);
 * ```
 */
export interface RestoreOptions extends MaintenanceOptions {
  /** Replace a non-empty target (which no process may have open). Default false: such a target is refused with `ALREADY_EXISTS`. */
  overwrite?: boolean;
}

/**
 * What `backup` wrote: the directory, the data file size and its format version.
 *
 * @example
 * ```ts
 * const { path, bytes, formatVersion }: BackupResult = db.backup('./memory-backup');
 * ```
 */
export interface BackupResult {
  /** The backup directory. */
  path: string;
  /** Size of the copied data file. */
  bytes: number;
  formatVersion: number;
}

/**
 * What `restore` put in place: where, how big, how many nodes and edges, and whether it replaced a database.
 *
 * @example
 * ```ts
 * const r: RestoreResult = EmbeddedDB.restore('./memory-backup', './restored.loomdb');
 * console.log(r.nodes, r.edges, r.replaced);
 * ```
 */
export interface RestoreResult {
  path: string;
  bytes: number;
  nodes: number;
  edges: number;
  /** Whether a non-empty target was replaced. */
  replaced: boolean;
}

/**
 * One problem `verify` found: the check that failed and what it saw.
 *
 * @example
 * ```ts
 * for (const p of db.verify().errors as VerifyProblem[]) console.error(p.check, p.message);
 * ```
 */
export interface VerifyProblem {
  /** Which check failed: `pages`, `checksums`, `nodes`, `edges`, `adjacency`, `types`, `indexes`, `embeddings`, `changes`, `meta`. */
  check: string;
  message: string;
}

/**
 * The result of `verify`: whether all is well, the problems, and what was checked.
 *
 * @example
 * ```ts
 * const result: VerifyResult = db.verify();
 * if (!result.ok) console.error(result.errors);
 * console.log(result.checked.records);
 * ```
 */
export interface VerifyResult {
  ok: boolean;
  errors: VerifyProblem[];
  /** What was looked at. */
  checked: { pages: number; records: number; nodes: number; edges: number; embeddings: number; indexEntries: number; changes: number };
}

/**
 * What `compact` did: file size before and after, change-log entries pruned, sidecars removed.
 *
 * @example
 * ```ts
 * const { bytesBefore, bytesAfter, prunedChanges }: CompactResult = db.compact();
 * ```
 */
export interface CompactResult {
  bytesBefore: number;
  bytesAfter: number;
  /** Change-log entries removed. */
  prunedChanges: number;
  /** Vector index sidecars removed, to be rebuilt without deleted entries. */
  removedSidecars: string[];
}

/**
 * Space used by the data file.
 *
 * @example
 * ```ts
 * const usage: StorageUsage | null = db.metrics().usage;
 * if (usage && usage.reclaimableBytes > usage.fileBytes / 2) db.compact();
 * ```
 */
export interface StorageUsage {
  fileBytes: number;
  mapBytes: number;
  pageSize: number;
  /** Bytes of pages that hold data (tables and meta pages). */
  usedBytes: number;
  /** Bytes a compaction would give back (free pages). */
  reclaimableBytes: number;
  tables: Array<{ name: string; entries: number; bytes: number }>;
}

/**
 * One operation's figures since the database was opened in this process.
 *
 * @example
 * ```ts
 * for (const op of db.metrics().operations as OperationMetrics[]) console.log(op.op, op.count, op.p99Us);
 * ```
 */
export interface OperationMetrics {
  op: 'get' | 'insert' | 'update' | 'delete' | 'search' | 'traverse' | 'query' | 'commit';
  count: number;
  totalMs: number;
  p50Us: number;
  p95Us: number;
  p99Us: number;
  maxUs: number;
}

/**
 * `db.metrics()`.
 *
 * @example
 * ```ts
 * const m: Metrics = db.metrics();
 * console.log(m.storage, m.operations.length, m.sources);
 * const text = db.metrics({ format: 'prometheus' });
 * ```
 */
export interface Metrics {
  /** The storage backend's name. */
  storage: string;
  uptimeS: number;
  /** Empty for a backend that does not time its operations (the memory backend). */
  operations: OperationMetrics[];
  /**
   * What is cached, with hits, misses and bytes held (native backend):
   * `os-page-cache` — the OS page cache under the memory-mapped data file
   * (hits and misses are this process's minor and major page faults,
   * `bytes` the resident part of the data file); `vector-index:<space>` —
   * a space's HNSW graph in this process (hits: searches that found it in
   * memory; misses: loads and rebuilds; `bytes` its memory).
   */
  caches: Array<{ name: string; hits: number; misses: number; bytes: number }>;
  /** Null for a backend without a data file. */
  usage: StorageUsage | null;
  /** LMDB reader slots in use across all processes (native backend; 0 otherwise). */
  readers: number;
  sidecars: Array<{ name: string; bytes: number }>;
  /** Health of each space's HNSW graph in this process: size, retired entries (removed or replaced vectors) awaiting a rebuild, rebuilds and the last one (native backend). */
  vectorIndexes: Array<GraphStats & { space: string }>;
  /** What each `registerMetricsSource` source returned (or `{ error }` when it threw). */
  sources: Record<string, unknown>;
}

/**
 * A record as exported (`loomdb export`), for `importRecords`.
 *
 * @example
 * ```ts
 * const records: ExportedRecord[] = [{ node: db.getNode('ada')! }];
 * other.importRecords(records); // keeps ids and times
 * ```
 */
export type ExportedRecord = { node: Node } | { edge: Edge };
