import { loomError } from '../errors.js';
import { exactSearch } from '../exact-search.js';
import type { LoomPlugin } from '../plugins.js';
import type { StorageBackend, StorageSearchFilter } from '../storage.js';
import type { Edge, Node, Properties, SearchHit, SpaceSpec, Stats } from '../types.js';
import type { PreparedEdge, PreparedNode } from '../validate.js';

interface Space {
  spec: Required<SpaceSpec>;
  vectors: Map<string, Float32Array>;
}

const copy = <T>(value: T): T => structuredClone(value);

/**
 * The reference backend: plain maps in this process, nothing on disk. For
 * tests and JavaScript-only hosts; it implements the storage contract as
 * plainly as possible so other backends can be checked against it.
 */
export class MemoryStorage implements StorageBackend {
  readonly specificationVersion = 'v1';
  readonly name = 'memory';
  readonly capabilities = { nativeQuery: false, transactions: false, durableQueue: false, multiProcess: false };
  readonly #nodes = new Map<string, Node>();
  readonly #edges = new Map<string, Edge>();
  readonly #spaces = new Map<string, Space>();
  readonly #readOnly: boolean;

  constructor(options: { readOnly?: boolean } = {}) {
    this.#readOnly = options.readOnly ?? false;
  }

  #writable(): void {
    if (this.#readOnly) throw loomError('READ_ONLY', 'this in-memory database was opened with readOnly: true');
  }

  #space(name: string): Space {
    const space = this.#spaces.get(name);
    if (!space) throw loomError('NOT_FOUND', `space "${name}" does not exist; declare it with open(path, { spaces: { ${name}: { dimensions, metric } } })`);
    return space;
  }

  #checkDimensions(name: string, space: Space, vector: Float32Array): void {
    if (vector.length !== space.spec.dimensions) {
      throw loomError('DIMENSION_MISMATCH', `space "${name}" has ${space.spec.dimensions} dimensions, the vector has ${vector.length}`);
    }
  }

  ensureSpace(name: string, spec: Required<SpaceSpec>): void {
    const existing = this.#spaces.get(name);
    if (existing) {
      const same = existing.spec.dimensions === spec.dimensions && existing.spec.metric === spec.metric && existing.spec.index === spec.index;
      if (!same) {
        throw loomError('INVALID_ARGUMENT', `space "${name}" already exists as ${JSON.stringify(existing.spec)}; it was declared again as ${JSON.stringify(spec)}`);
      }
      return;
    }
    this.#writable();
    if (spec.index !== 'flat') throw loomError('UNSUPPORTED', `space "${name}": index "${spec.index}" is not available (available: "flat")`);
    this.#spaces.set(name, { spec: { ...spec }, vectors: new Map() });
  }

  insertNodes(nodes: PreparedNode[]): Node[] {
    this.#writable();
    const seen = new Set<string>();
    nodes.forEach((n, i) => {
      if (this.#nodes.has(n.id) || seen.has(n.id)) throw loomError('ALREADY_EXISTS', `nodes[${i}]: node "${n.id}" already exists`);
      seen.add(n.id);
    });
    const now = Date.now();
    return nodes.map((n) => {
      const node: Node = { id: n.id, type: n.type, properties: copy(n.properties), createdAt: now, updatedAt: now };
      this.#nodes.set(n.id, node);
      return copy(node);
    });
  }

  getNode(id: string): Node | null {
    const node = this.#nodes.get(id);
    return node ? copy(node) : null;
  }

  updateNode(id: string, patch: Properties): Node {
    this.#writable();
    const node = this.#nodes.get(id);
    if (!node) throw loomError('NOT_FOUND', `node "${id}" does not exist`);
    const properties = { ...node.properties };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete properties[key];
      else properties[key] = copy(value);
    }
    const updated = { ...node, properties, updatedAt: Math.max(Date.now(), node.createdAt) };
    this.#nodes.set(id, updated);
    return copy(updated);
  }

  deleteNode(id: string): boolean {
    this.#writable();
    if (!this.#nodes.delete(id)) return false;
    for (const edge of [...this.#edges.values()]) {
      if (edge.from === id || edge.to === id) this.#edges.delete(edge.id);
    }
    for (const space of this.#spaces.values()) space.vectors.delete(id);
    return true;
  }

  insertEdge(e: PreparedEdge): Edge {
    this.#writable();
    if (this.#edges.has(e.id)) throw loomError('ALREADY_EXISTS', `edge "${e.id}" already exists`);
    if (!this.#nodes.has(e.from)) throw loomError('NOT_FOUND', `edge from node "${e.from}" does not exist`);
    if (!this.#nodes.has(e.to)) throw loomError('NOT_FOUND', `edge to node "${e.to}" does not exist`);
    const edge: Edge = { id: e.id, type: e.type, from: e.from, to: e.to, properties: copy(e.properties), weight: e.weight, createdAt: Date.now() };
    this.#edges.set(e.id, edge);
    return copy(edge);
  }

  getEdge(id: string): Edge | null {
    const edge = this.#edges.get(id);
    return edge ? copy(edge) : null;
  }

  deleteEdge(id: string): boolean {
    this.#writable();
    return this.#edges.delete(id);
  }

  insertEmbedding(nodeId: string, spaceName: string, vector: Float32Array): void {
    this.#writable();
    const space = this.#space(spaceName);
    this.#checkDimensions(spaceName, space, vector);
    if (!this.#nodes.has(nodeId)) throw loomError('NOT_FOUND', `node "${nodeId}" does not exist`);
    space.vectors.set(nodeId, Float32Array.from(vector));
  }

  getEmbedding(nodeId: string, spaceName: string): Float32Array | null {
    const vector = this.#space(spaceName).vectors.get(nodeId);
    return vector ? Float32Array.from(vector) : null;
  }

  searchVectors(spaceName: string, vector: Float32Array, k: number, filter: StorageSearchFilter): SearchHit[] {
    const space = this.#space(spaceName);
    this.#checkDimensions(spaceName, space, vector);
    const ids = filter.ids && new Set(filter.ids);
    const types = filter.types && new Set(filter.types);
    const passes = ([id]: [string, Float32Array]) =>
      (!ids || ids.has(id)) && (!types || types.has((this.#nodes.get(id) as Node).type));
    return exactSearch([...space.vectors].filter(passes), vector, space.spec.metric, k);
  }

  stats(): Stats {
    return {
      nodes: this.#nodes.size,
      edges: this.#edges.size,
      spaces: [...this.#spaces].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, s]) => ({ name, ...s.spec, embeddings: s.vectors.size })),
      indexes: [{ name: 'nodeType', kind: 'type', entries: this.#nodes.size }],
      formatVersion: 1,
    };
  }

  close(): void {
    this.#nodes.clear();
    this.#edges.clear();
    this.#spaces.clear();
  }
}

/** Registers the in-memory backend as `memory`. */
export const memoryStoragePlugin: LoomPlugin = {
  name: 'memory',
  register: (r) => r.registerStorage('memory', (options) => new MemoryStorage({ readOnly: options.readOnly })),
};
