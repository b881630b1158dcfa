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

/** An embedding space: every vector in it has `dimensions` numbers. */
export interface SpaceSpec {
  dimensions: number;
  /** cosine: 1 − cos θ; l2: Euclidean distance; dot: 1 − a·b. */
  metric: Metric;
  /** `'flat'` (exact scan) in this release. */
  index?: string;
}

export type Vector = Float32Array | readonly number[];

export interface SpaceOption {
  /** Embedding space; `'default'` when absent. */
  space?: string;
}

export interface SearchFilter {
  /** Only nodes of this type (or any of these types). */
  type?: string | string[];
  /** Only these node ids. */
  ids?: string[];
}

export interface SearchOptions extends SpaceOption {
  /** How many neighbours; default 10. */
  k?: number;
  filter?: SearchFilter;
  /** Exact scan. Every search is exact in this release. */
  exact?: boolean;
}

export interface SearchHit {
  id: string;
  distance: number;
}

export interface SpaceStats {
  name: string;
  dimensions: number;
  metric: Metric;
  index: string;
  embeddings: number;
}

export interface IndexStats {
  name: string;
  kind: string;
  entries: number;
}

/** Committed data only: identical before and after a failed call. */
export interface Stats {
  nodes: number;
  edges: number;
  spaces: SpaceStats[];
  indexes: IndexStats[];
  formatVersion: number;
}
