/** A JSON value as stored in properties. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Node and edge properties: a JSON object. */
export type Properties = { [key: string]: JsonValue };

export interface Node {
  id: string;
  type: string;
  properties: Properties;
  /** Milliseconds since the Unix epoch. */
  createdAt: number;
  updatedAt: number;
}

export interface Edge {
  id: string;
  type: string;
  from: string;
  to: string;
  properties: Properties;
  weight: number;
  createdAt: number;
}

export interface NodeInput {
  /** Generated (time-sortable UUIDv7) when absent. */
  id?: string;
  type: string;
  properties?: Properties;
}

export interface EdgeInput {
  id?: string;
  type: string;
  from: string;
  to: string;
  properties?: Properties;
  /** Defaults to 1. */
  weight?: number;
}

export type Metric = 'cosine' | 'l2' | 'dot';

/**
 * An embedding space: every vector in it has `dimensions` numbers.
 *
 * Optional fields left out take their defaults when the space is created and
 * match whatever an existing space has; fields given must equal the stored
 * ones, else `INVALID_ARGUMENT`.
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

export type Vector = Float32Array | readonly number[];

export interface SpaceOption {
  /** Embedding space; `'default'` when absent. */
  space?: string;
}

/** Which nodes a search may return; every part given must hold. */
export interface SearchFilter {
  /** Only nodes of this type (or any of these types). */
  type?: string | string[];
  /** Only these node ids. */
  ids?: string[];
  /** Only nodes whose properties satisfy every condition. */
  where?: Where;
}

export interface SearchOptions extends SpaceOption {
  /** How many neighbours; default 10. `k` come back whenever `k` nodes with a vector pass the filter. */
  k?: number;
  filter?: SearchFilter;
  /** Scan every vector instead of using the space's HNSW graph. */
  exact?: boolean;
  /** HNSW search breadth for this query (default: the space's `ef`); higher is better recall, slower. */
  ef?: number;
}

export interface SearchHit {
  id: string;
  distance: number;
}

/** What this process has done with a space's HNSW graph. */
export interface GraphStats {
  /** Whether the graph is in memory (it is loaded on the first search). */
  loaded: boolean;
  /** Vectors in the graph. */
  vectors: number;
  /** Change-log sequence the graph covers. */
  seq: number;
  /** Times the saved graph (`<space>.hnsw`) was loaded, caught up with newer writes, or rebuilt from the stored vectors. */
  loads: number;
  catchUps: number;
  rebuilds: number;
  /** Searches that found the graph in memory. */
  hits: number;
  /** Bytes the graph takes in memory. */
  bytes: number;
  /** Vectors deleted from the graph since it was loaded or built (their slots wait for reuse; `compact()` drops them). */
  deleted: number;
  /** When this process last rebuilt the graph (ms since epoch), if it did. */
  lastRebuildAt?: number;
}

/** A space as stored (defaults filled in) and how many vectors it holds. */
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

/** A text index as stored (defaults filled in) and how many nodes it holds. */
export interface TextIndexStats extends Required<TextIndexSpec> {
  name: string;
  /** Nodes with at least one indexed term. */
  documents: number;
}

export interface TextSearchOptions {
  /** How many results; default 10. */
  k?: number;
  /** The text index; default `'default'`. */
  index?: string;
  filter?: SearchFilter;
}

/** A text search result: higher `score` is a better match (BM25). */
export interface TextHit {
  id: string;
  score: number;
}

/** A property index: nodes of `type` by the value of `property`. */
export interface IndexSpec {
  type: string;
  property: string;
}

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

/** Committed data only: identical before and after a failed call. */
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

export type Direction = 'out' | 'in' | 'both';

/** A property condition: a plain value means `eq`. */
export type Condition =
  | JsonValue
  | { eq?: JsonValue; ne?: JsonValue; in?: JsonValue[]; gt?: JsonValue; gte?: JsonValue; lt?: JsonValue; lte?: JsonValue };

/** Every listed property must satisfy its condition. */
export type Where = Record<string, Condition>;

export interface HopOptions {
  /** Seen from the node asked about: `'out'` follows edges leaving it. */
  direction: Direction;
  /** Only edges of these types. */
  edgeTypes?: string[];
}

export interface NeighborOptions extends HopOptions {
  limit?: number;
}

export interface Neighbor {
  edge: Edge;
  node: Node;
}

export interface TraverseOptions extends HopOptions {
  maxDepth: number;
  /** Only enter nodes of these types (the walk does not pass through others). */
  nodeTypes?: string[];
  limit?: number;
}

export interface Reached {
  node: Node;
  /** Hops from the start (1 for a neighbour). */
  depth: number;
  /** Id of the edge that first reached the node. */
  via: string;
}

export interface ShortestPathOptions extends HopOptions {
  maxDepth: number;
}

export interface Path {
  /** Start first, end last. */
  nodes: Node[];
  edges: Edge[];
}

export interface EmbeddingInput {
  nodeId: string;
  vector: Vector;
  /** Default `'default'`. */
  space?: string;
}

/** Nodes to delete: ids, or every node of a type and/or matching `where`. */
export type NodeSelector = string[] | { type?: string | string[]; where?: Where };

/** Edges to delete: ids, or every edge of a type, optionally only from and/or to a node. */
export type EdgeSelector = string[] | { type: string; from?: string; to?: string };

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

export interface NodeListOptions extends Omit<NodeWalkOptions, 'after'> {
  /** Page size, 1 to 10,000. */
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface EdgeWalkOptions {
  type?: string;
  direction?: 'asc' | 'desc';
  after?: string;
}

export interface EdgeListOptions extends Omit<EdgeWalkOptions, 'after'> {
  limit: number;
  cursor?: string;
}

export interface ListPage<T> {
  items: T[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

/** Progress of a long operation (backup, restore, compaction), in bytes. */
export interface ByteProgress {
  done: number;
  total: number;
}

/** Options of backup, restore and compaction. */
export interface MaintenanceOptions {
  /** Called as bytes are copied. */
  onProgress?: (progress: ByteProgress) => void;
  /** Stops the work; nothing is left half-written and the call rejects (or throws) with the signal's reason. */
  signal?: AbortSignal;
}

export interface RestoreOptions extends MaintenanceOptions {
  /** Replace a non-empty target (which no process may have open). Default false: such a target is refused with `ALREADY_EXISTS`. */
  overwrite?: boolean;
}

export interface BackupResult {
  /** The backup directory. */
  path: string;
  /** Size of the copied data file. */
  bytes: number;
  formatVersion: number;
}

export interface RestoreResult {
  path: string;
  bytes: number;
  nodes: number;
  edges: number;
  /** Whether a non-empty target was replaced. */
  replaced: boolean;
}

export interface VerifyProblem {
  /** Which check failed: `pages`, `checksums`, `nodes`, `edges`, `adjacency`, `types`, `indexes`, `embeddings`, `changes`, `meta`. */
  check: string;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  errors: VerifyProblem[];
  /** What was looked at. */
  checked: { pages: number; records: number; nodes: number; edges: number; embeddings: number; indexEntries: number; changes: number };
}

export interface CompactResult {
  bytesBefore: number;
  bytesAfter: number;
  /** Change-log entries removed. */
  prunedChanges: number;
  /** Vector index sidecars removed, to be rebuilt without deleted entries. */
  removedSidecars: string[];
}

/** Space used by the data file. */
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

/** One operation's figures since the database was opened in this process. */
export interface OperationMetrics {
  op: 'get' | 'insert' | 'update' | 'delete' | 'search' | 'traverse' | 'query' | 'commit';
  count: number;
  totalMs: number;
  p50Us: number;
  p95Us: number;
  p99Us: number;
  maxUs: number;
}

/** `db.metrics()`. */
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
  /** Health of each space's HNSW graph in this process: size, deleted entries awaiting reuse, rebuilds and the last one (native backend). */
  vectorIndexes: Array<GraphStats & { space: string }>;
  /** What each `registerMetricsSource` source returned (or `{ error }` when it threw). */
  sources: Record<string, unknown>;
}

/** A record as exported (`loomdb export`), for `importRecords`. */
export type ExportedRecord = { node: Node } | { edge: Edge };
