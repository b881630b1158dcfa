import { loomError } from '../errors.js';
import { exactSearch } from '../exact-search.js';
import { byteOrder, valueSatisfies } from '../json-order.js';
import type { LoomPlugin } from '../plugins.js';
import type {
  DeadLetter,
  LeasedQueueItem,
  PreparedWriteBatch,
  QueueItemInput,
  QueueStats,
  StorageBackend,
  StorageBatchOptions,
  StorageBatchResult,
  StorageOperations,
  StorageSearchFilter,
  StorageSpaces,
  StorageTransaction,
} from '../storage.js';
import type { Edge, IndexSpec, JsonValue, Neighbor, Node, Path, Properties, Reached, SearchHit, SpaceSpec, Stats } from '../types.js';
import { checkVectorForMetric, resolveSpaceSpec, spaceSpecAdmits } from '../validate.js';
import type { PreparedEdge, PreparedNode } from '../prepared.js';
import { applyWriteBatch } from '../write-batch.js';
import type { PreparedCondition, PreparedEdgePage, PreparedEdgeSelector, PreparedHop, PreparedNodeFilter, PreparedNodePage, Position } from '../prepared.js';

function holds(value: JsonValue | undefined, [, condition]: PreparedCondition): boolean {
  const [op, operand] = Object.entries(condition)[0] as [string, JsonValue];
  return valueSatisfies(value, op, operand);
}

const isScalar = (v: JsonValue | undefined) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

interface Space {
  spec: SpaceSpec & { index: string };
  vectors: Map<string, Float32Array>;
}

const copy = <T>(value: T): T => structuredClone(value);

/** One durable queue; records are replaced, never changed in place. */
interface Queue {
  nextSeq: number;
  items: Map<number, { id: string; payload: string; enqueuedAt: number }>;
  /** A lease with an empty holder is a released item waiting out its back-off. */
  leases: Map<number, { holder: string; expires: number; attempts: number }>;
  /** Every id ever pushed. */
  ids: Set<string>;
  dead: Map<number, DeadLetter>;
  done: number;
}

const forkQueue = (q: Queue): Queue => ({ ...q, items: new Map(q.items), leases: new Map(q.leases), ids: new Set(q.ids), dead: new Map(q.dead) });

/** Everything an in-memory database holds. */
interface MemoryState {
  nodes: Map<string, Node>;
  edges: Map<string, Edge>;
  /** Insertion sequence of each node and edge: the `createdAt` order and cursor key. */
  keys: WeakMap<Node | Edge, number>;
  sequence: number;
  spaces: Map<string, Space>;
  /** Declared property indexes as `type\0property`; this backend scans, so they only show in stats. */
  indexes: Set<string>;
  queues: Map<string, Queue>;
  /** Moves with every node, edge and embedding write (`changeSequence`). */
  changes: number;
  /** The last tagged write batch and the change sequence it left. */
  lastBatch: { tag: string; changes: number } | null;
}

const emptyState = (): MemoryState => ({ nodes: new Map(), edges: new Map(), keys: new WeakMap(), sequence: 0, spaces: new Map(), indexes: new Set(), queues: new Map(), changes: 0, lastBatch: null });

/**
 * A copy to write on. Records are replaced, never changed in place, so the
 * maps are copied and the records shared; `keys` only ever gains entries.
 */
const fork = (s: MemoryState): MemoryState => ({
  nodes: new Map(s.nodes),
  edges: new Map(s.edges),
  keys: s.keys,
  sequence: s.sequence,
  indexes: new Set(s.indexes),
  spaces: new Map([...s.spaces].map(([name, space]) => [name, { spec: space.spec, vectors: new Map(space.vectors) }])),
  queues: new Map([...s.queues].map(([name, q]) => [name, forkQueue(q)])),
  changes: s.changes,
  lastBatch: s.lastBatch,
});

/** The data operations over one state: the database's or a transaction's. */
abstract class MemoryOperations implements StorageOperations {
  protected state: MemoryState;

  constructor(state: MemoryState) {
    this.state = state;
  }

  /** Throws unless this view may write now. */
  protected abstract writable(): void;

  /** Moves the change sequence: a node, edge or embedding was written. */
  protected changed(): void {
    this.state.changes++;
  }

  protected space(name: string): Space {
    const space = this.state.spaces.get(name);
    if (!space) throw loomError('NOT_FOUND', `space "${name}" does not exist; declare it with open(path, { spaces: { ${name}: { dimensions, metric } } })`);
    return space;
  }

  #checkDimensions(name: string, space: Space, vector: Float32Array): void {
    if (vector.length !== space.spec.dimensions) {
      throw loomError('DIMENSION_MISMATCH', `space "${name}" has ${space.spec.dimensions} dimensions, the vector has ${vector.length}`);
    }
    checkVectorForMetric(name, space.spec.metric, vector);
  }

  /** Both index kinds are accepted; this backend always searches exactly. */
  ensureSpace(name: string, spec: SpaceSpec): void {
    const existing = this.state.spaces.get(name);
    if (existing) {
      if (!spaceSpecAdmits(existing.spec, spec)) {
        throw loomError('INVALID_ARGUMENT', `space "${name}" already exists as ${JSON.stringify(existing.spec)}; it was declared again as ${JSON.stringify(spec)}`);
      }
      return;
    }
    this.writable();
    const resolved = resolveSpaceSpec(spec);
    if (resolved.index !== 'hnsw' && resolved.index !== 'flat') {
      throw loomError('UNSUPPORTED', `space "${name}": index "${resolved.index}" is not available (available: "hnsw", "flat")`);
    }
    this.state.spaces.set(name, { spec: resolved, vectors: new Map() });
  }

  createIndex(spec: IndexSpec): boolean {
    const key = `${spec.type}\0${spec.property}`;
    if (this.state.indexes.has(key)) return false;
    this.writable();
    this.state.indexes.add(key);
    return true;
  }

  dropIndex(spec: IndexSpec): boolean {
    const key = `${spec.type}\0${spec.property}`;
    if (!this.state.indexes.has(key)) return false;
    this.writable();
    return this.state.indexes.delete(key);
  }

  insertNode(n: PreparedNode): Node {
    return this.#addNodes([n])[0] as Node;
  }

  insertNodes(nodes: PreparedNode[]): void {
    this.#addNodes(nodes);
  }

  #addNodes(nodes: PreparedNode[]): Node[] {
    this.writable();
    const seen = new Set<string>();
    nodes.forEach((n, i) => {
      if (this.state.nodes.has(n.id) || seen.has(n.id)) throw loomError('ALREADY_EXISTS', `nodes[${i}]: node "${n.id}" already exists`);
      seen.add(n.id);
    });
    const now = Date.now();
    return nodes.map((n) => {
      const node: Node = { id: n.id, type: n.type, properties: copy(n.properties), createdAt: now, updatedAt: now };
      this.state.nodes.set(n.id, node);
      this.state.keys.set(node, ++this.state.sequence);
      this.changed();
      return copy(node);
    });
  }

  getNode(id: string): Node | null {
    const node = this.state.nodes.get(id);
    return node ? copy(node) : null;
  }

  updateNode(id: string, patch: Properties): Node {
    this.writable();
    const node = this.state.nodes.get(id);
    if (!node) throw loomError('NOT_FOUND', `node "${id}" does not exist`);
    const properties = { ...node.properties };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete properties[key];
      else properties[key] = copy(value);
    }
    const updated = { ...node, properties, updatedAt: Math.max(Date.now(), node.createdAt) };
    this.state.nodes.set(id, updated);
    this.state.keys.set(updated, this.state.keys.get(node) as number);
    this.changed();
    return copy(updated);
  }

  deleteNode(id: string): boolean {
    this.writable();
    if (!this.state.nodes.delete(id)) return false;
    this.changed();
    for (const edge of [...this.state.edges.values()]) {
      if (edge.from === id || edge.to === id) this.state.edges.delete(edge.id);
    }
    for (const space of this.state.spaces.values()) space.vectors.delete(id);
    return true;
  }

  insertEdge(e: PreparedEdge): Edge {
    return this.#addEdges([e])[0] as Edge;
  }

  insertEdges(edges: PreparedEdge[]): void {
    this.#addEdges(edges);
  }

  #addEdges(edges: PreparedEdge[]): Edge[] {
    this.writable();
    const seen = new Set<string>();
    edges.forEach((e, i) => {
      if (this.state.edges.has(e.id) || seen.has(e.id)) throw loomError('ALREADY_EXISTS', `edges[${i}]: edge "${e.id}" already exists`);
      seen.add(e.id);
      if (!this.state.nodes.has(e.from)) throw loomError('NOT_FOUND', `edges[${i}]: edge from node "${e.from}" does not exist`);
      if (!this.state.nodes.has(e.to)) throw loomError('NOT_FOUND', `edges[${i}]: edge to node "${e.to}" does not exist`);
    });
    const now = Date.now();
    return edges.map((e) => {
      const edge: Edge = { id: e.id, type: e.type, from: e.from, to: e.to, properties: copy(e.properties), weight: e.weight, createdAt: now };
      this.state.edges.set(e.id, edge);
      this.state.keys.set(edge, ++this.state.sequence);
      this.changed();
      return copy(edge);
    });
  }

  addEdgeWeights(edges: PreparedEdge[]): void {
    this.writable();
    const before = fork(this.state);
    try {
      edges.forEach((e, i) => {
        const existing = this.state.edges.get(e.id);
        if (!existing) {
          if (e.weight > 0) {
            if (!this.state.nodes.has(e.from)) throw loomError('NOT_FOUND', `edges[${i}]: edge from node "${e.from}" does not exist`);
            if (!this.state.nodes.has(e.to)) throw loomError('NOT_FOUND', `edges[${i}]: edge to node "${e.to}" does not exist`);
            this.insertEdges([e]);
          }
          return;
        }
        if (existing.type !== e.type || existing.from !== e.from || existing.to !== e.to) {
          throw loomError('INVALID_ARGUMENT', `edges[${i}]: edge "${e.id}" exists as ${existing.type} ${existing.from} → ${existing.to}`);
        }
        const weight = existing.weight + e.weight;
        if (!Number.isFinite(weight)) {
          throw loomError('INVALID_ARGUMENT', `edges[${i}]: edge "${e.id}": adding ${e.weight} to its weight ${existing.weight} overflows (weights are finite numbers)`);
        }
        if (weight > 0) this.updateEdge(e.id, {}, weight);
        else if (this.state.edges.delete(e.id)) this.changed();
      });
    } catch (err) {
      this.state = before;
      throw err;
    }
  }

  insertEmbeddings(items: Array<{ nodeId: string; space: string; vector: Float32Array }>): void {
    this.writable();
    items.forEach(({ nodeId, space: name, vector }, i) => {
      try {
        const space = this.space(name);
        this.#checkDimensions(name, space, vector);
        if (!this.state.nodes.has(nodeId)) throw loomError('NOT_FOUND', `node "${nodeId}" does not exist`);
      } catch (e) {
        const err = e as { code: Parameters<typeof loomError>[0]; message: string };
        throw loomError(err.code, `embeddings[${i}]: ${err.message}`);
      }
    });
    for (const { nodeId, space, vector } of items) this.insertEmbedding(nodeId, space, vector);
  }

  #matches(node: Node, filter: PreparedNodeFilter): boolean {
    return (
      (!filter.types || filter.types.includes(node.type)) &&
      (!filter.ids || filter.ids.includes(node.id)) &&
      filter.where.every((c) => holds(node.properties[c[0]], c))
    );
  }

  deleteNodes(filter: PreparedNodeFilter): number {
    this.writable();
    const doomed = [...this.state.nodes.values()].filter((n) => this.#matches(n, filter));
    for (const n of doomed) this.deleteNode(n.id);
    return doomed.length;
  }

  deleteEdges(selector: PreparedEdgeSelector): number {
    this.writable();
    const doomed = [...this.state.edges.values()].filter((e) =>
      selector.ids ? selector.ids.includes(e.id) : e.type === selector.type && (!selector.from || e.from === selector.from) && (!selector.to || e.to === selector.to),
    );
    for (const e of doomed) {
      this.state.edges.delete(e.id);
      this.changed();
    }
    return doomed.length;
  }

  #require(id: string): void {
    if (!this.state.nodes.has(id)) throw loomError('NOT_FOUND', `node "${id}" does not exist`);
  }

  /** `[edge, neighbour id]` of every edge of `id` that `hop` follows; a self-loop once. */
  #adjacent(id: string, hop: PreparedHop): Array<[Edge, string]> {
    const out: Array<[Edge, string]> = [];
    for (const e of this.state.edges.values()) {
      if (hop.edgeTypes && !hop.edgeTypes.includes(e.type)) continue;
      if (hop.direction !== 'in' && e.from === id) out.push([e, e.to]);
      else if (hop.direction !== 'out' && e.to === id) out.push([e, e.from]);
    }
    return out;
  }

  neighbors(id: string, hop: PreparedHop, limit?: number): Neighbor[] {
    this.#require(id);
    return this.#adjacent(id, hop)
      .slice(0, limit)
      .map(([edge, other]) => ({ edge: copy(edge), node: copy(this.state.nodes.get(other) as Node) }));
  }

  degree(id: string, hop: PreparedHop): number {
    this.#require(id);
    return this.#adjacent(id, hop).length;
  }

  traverse(id: string, hop: PreparedHop, options: { maxDepth: number; nodeTypes?: string[]; limit?: number }): Reached[] {
    this.#require(id);
    const seen = new Set([id]);
    const out: Reached[] = [];
    let frontier = [id];
    for (let depth = 1; depth <= options.maxDepth && frontier.length > 0; depth++) {
      const next: string[] = [];
      for (const at of frontier) {
        for (const [edge, other] of this.#adjacent(at, hop)) {
          if (seen.has(other)) continue;
          seen.add(other);
          const node = this.state.nodes.get(other) as Node;
          if (options.nodeTypes && !options.nodeTypes.includes(node.type)) continue;
          out.push({ node: copy(node), depth, via: edge.id });
          if (out.length === options.limit) return out;
          next.push(other);
        }
      }
      frontier = next;
    }
    return out;
  }

  shortestPath(from: string, to: string, hop: PreparedHop, maxDepth: number): Path | null {
    this.#require(from);
    this.#require(to);
    const parent = new Map<string, [string, Edge]>();
    let frontier = [from];
    for (let depth = 0; depth < maxDepth && from !== to && !parent.has(to) && frontier.length > 0; depth++) {
      const next: string[] = [];
      for (const at of frontier) {
        for (const [edge, other] of this.#adjacent(at, hop)) {
          if (other === from || parent.has(other)) continue;
          parent.set(other, [at, edge]);
          next.push(other);
        }
      }
      frontier = next;
    }
    if (from !== to && !parent.has(to)) return null;
    const nodes = [copy(this.state.nodes.get(to) as Node)];
    const edges: Edge[] = [];
    for (let at = to; at !== from; ) {
      const [prev, edge] = parent.get(at) as [string, Edge];
      edges.unshift(copy(edge));
      nodes.unshift(copy(this.state.nodes.get(prev) as Node));
      at = prev;
    }
    return { nodes, edges };
  }

  #page<T extends Node | Edge>(all: T[], order: 'createdAt' | 'id', descending: boolean, after: Position | null, limit: number): { items: T[]; next: Position | null } {
    const position = (x: T): Position => (order === 'id' ? { id: x.id } : { key: this.state.keys.get(x) as number });
    const rank = (a: T, b: T) => (order === 'id' ? byteOrder(a.id, b.id) : (this.state.keys.get(a) as number) - (this.state.keys.get(b) as number));
    const sorted = all.sort((a, b) => (descending ? rank(b, a) : rank(a, b)));
    if (after && ('id' in after) !== (order === 'id')) throw loomError('INVALID_ARGUMENT', 'this cursor belongs to a walk in another order');
    const beyond = (x: T) => {
      if (!after) return true;
      const c = 'id' in after ? byteOrder(x.id, after.id) : (this.state.keys.get(x) as number) - after.key;
      return descending ? c < 0 : c > 0;
    };
    const items = sorted.filter(beyond).slice(0, limit);
    const last = items[items.length - 1];
    return { items: items.map(copy), next: items.length === limit && last ? position(last) : null };
  }

  listNodes(query: PreparedNodePage): { items: Node[]; next: Position | null } {
    const all = [...this.state.nodes.values()].filter((n) => this.#matches(n, query.filter));
    return this.#page(all, query.order, query.descending, query.after, query.limit);
  }

  listEdges(query: PreparedEdgePage): { items: Edge[]; next: Position | null } {
    const all = [...this.state.edges.values()].filter((e) => !query.type || e.type === query.type);
    return this.#page(all, 'createdAt', query.descending, query.after, query.limit);
  }

  getEdge(id: string): Edge | null {
    const edge = this.state.edges.get(id);
    return edge ? copy(edge) : null;
  }

  updateEdge(id: string, patch: Properties, weight?: number): Edge {
    this.writable();
    const edge = this.state.edges.get(id);
    if (!edge) throw loomError('NOT_FOUND', `edge "${id}" does not exist`);
    const properties = { ...edge.properties };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete properties[key];
      else properties[key] = copy(value);
    }
    const updated = { ...edge, properties, weight: weight ?? edge.weight };
    this.state.edges.set(id, updated);
    this.state.keys.set(updated, this.state.keys.get(edge) as number);
    this.changed();
    return copy(updated);
  }

  deleteEdge(id: string): boolean {
    this.writable();
    if (!this.state.edges.delete(id)) return false;
    this.changed();
    return true;
  }

  insertEmbedding(nodeId: string, spaceName: string, vector: Float32Array): void {
    this.writable();
    const space = this.space(spaceName);
    this.#checkDimensions(spaceName, space, vector);
    if (!this.state.nodes.has(nodeId)) throw loomError('NOT_FOUND', `node "${nodeId}" does not exist`);
    space.vectors.set(nodeId, Float32Array.from(vector));
    this.changed();
  }

  getEmbedding(nodeId: string, spaceName: string): Float32Array | null {
    const vector = this.space(spaceName).vectors.get(nodeId);
    return vector ? Float32Array.from(vector) : null;
  }

  /** Always exact: the reference answer an index approximates. */
  searchVectors(spaceName: string, vector: Float32Array, k: number, filter: StorageSearchFilter): SearchHit[] {
    const space = this.space(spaceName);
    this.#checkDimensions(spaceName, space, vector);
    const ids = filter.ids && new Set(filter.ids);
    const nodeFilter: PreparedNodeFilter = { types: filter.types, where: filter.where ?? [] };
    const passes = ([id]: [string, Float32Array]) => (!ids || ids.has(id)) && this.#matches(this.state.nodes.get(id) as Node, nodeFilter);
    return exactSearch([...space.vectors].filter(passes), vector, space.spec.metric, k);
  }

  #queue(name: string): Queue {
    let q = this.state.queues.get(name);
    if (!q) {
      q = { nextSeq: 1, items: new Map(), leases: new Map(), ids: new Set(), dead: new Map(), done: 0 };
      this.state.queues.set(name, q);
    }
    return q;
  }

  /** The holder's lease on `seq`; otherwise `NOT_FOUND` for an item the queue never had, or `CONFLICT` saying what became of it. */
  #held(q: Queue, name: string, holder: string, seq: number) {
    const lease = q.leases.get(seq);
    if (!q.items.has(seq)) {
      if (seq < 1 || seq >= q.nextSeq) throw loomError('NOT_FOUND', `queue "${name}" has no item #${seq}; seqs come from the items a lease returns`);
      throw loomError('CONFLICT', `queue "${name}" item #${seq} is no longer pending (it was acknowledged or dead-lettered)`);
    }
    if (!lease) throw loomError('CONFLICT', `queue "${name}" item #${seq} is pending but not leased; lease it before acknowledging or releasing it`);
    if (lease.holder !== holder) throw loomError('CONFLICT', `queue "${name}" item #${seq} is leased by "${lease.holder}", not "${holder}" (a lease that expired was taken over)`);
    return lease;
  }

  #unique(seqs: number[]): number[] {
    const repeated = seqs.find((s, i) => seqs.indexOf(s) !== i);
    if (repeated !== undefined) throw loomError('INVALID_ARGUMENT', `seqs lists item #${repeated} twice`);
    return seqs;
  }

  writeBatch(batch: PreparedWriteBatch, options: StorageBatchOptions): StorageBatchResult {
    this.writable();
    if (options.ifChangeSequence !== undefined && options.ifChangeSequence < this.state.changes) {
      throw loomError('CONFLICT', `the graph changed after change sequence ${options.ifChangeSequence} (it is at ${this.state.changes}); nothing was written`);
    }
    if (options.ifChangeSequence !== undefined && options.ifChangeSequence > this.state.changes) {
      throw loomError(
        'CONFLICT',
        `change sequence ${options.ifChangeSequence} is ahead of the graph, which is at ${this.state.changes}: it did not come from this database's changeSequence(), or the database was restored from an older backup since; nothing was written`,
      );
    }
    const last = this.state.lastBatch;
    if (options.ifAfter !== undefined && (last?.tag !== options.ifAfter || last.changes !== this.state.changes)) {
      throw loomError('CONFLICT', `the last change to the graph is not batch "${options.ifAfter}"; nothing was written`);
    }
    const before = this.state;
    this.state = fork(before);
    try {
      const result = { ...applyWriteBatch(this, batch), changeSequence: this.state.changes };
      if (options.tag !== undefined) this.state.lastBatch = { tag: options.tag, changes: this.state.changes };
      return result;
    } catch (e) {
      this.state = before;
      throw e;
    }
  }

  changeSequence(): number {
    return this.state.changes;
  }

  queuePush(name: string, items: QueueItemInput[]): boolean[] {
    this.writable();
    const q = this.#queue(name);
    const now = Date.now();
    return items.map(({ id, payload }) => {
      if (q.ids.has(id)) return false;
      q.ids.add(id);
      q.items.set(q.nextSeq++, { id, payload, enqueuedAt: now });
      return true;
    });
  }

  queueLease(name: string, holder: string, max: number, leaseMs: number): LeasedQueueItem[] {
    this.writable();
    const q = this.#queue(name);
    const now = Date.now();
    const taken: LeasedQueueItem[] = [];
    for (const [seq, item] of q.items) {
      if (taken.length >= max) break;
      const lease = q.leases.get(seq);
      if (lease && lease.expires > now) continue;
      taken.push({ seq, ...item, attempts: (lease?.attempts ?? 0) + 1 });
    }
    for (const t of taken) q.leases.set(t.seq, { holder, expires: now + leaseMs, attempts: t.attempts });
    return taken;
  }

  queueAck(name: string, holder: string, seqs: number[]): void {
    this.writable();
    const q = this.#queue(name);
    for (const seq of this.#unique(seqs)) this.#held(q, name, holder, seq);
    for (const seq of seqs) {
      q.items.delete(seq);
      q.leases.delete(seq);
      q.done++;
    }
  }

  queueRelease(name: string, holder: string, seqs: number[], delayMs: number): void {
    this.writable();
    const q = this.#queue(name);
    for (const seq of this.#unique(seqs)) {
      const lease = q.leases.get(seq);
      if (q.items.has(seq) && lease?.holder === holder) q.leases.set(seq, { holder: '', expires: Date.now() + delayMs, attempts: lease.attempts });
    }
  }

  queueDeadLetter(name: string, holder: string, seq: number, error: string): void {
    this.writable();
    const q = this.#queue(name);
    const lease = this.#held(q, name, holder, seq);
    const item = q.items.get(seq) as { id: string; payload: string };
    q.dead.set(seq, { seq, id: item.id, payload: item.payload, attempts: lease.attempts, error, failedAt: Date.now() });
    q.items.delete(seq);
    q.leases.delete(seq);
  }

  queueStats(name: string): QueueStats {
    const q = this.state.queues.get(name);
    return q ? { pending: q.items.size, done: q.done, dead: q.dead.size } : { pending: 0, done: 0, dead: 0 };
  }

  queueDeadLetters(name: string, limit: number): DeadLetter[] {
    return [...(this.state.queues.get(name)?.dead.values() ?? [])].slice(0, limit).map(copy);
  }

  stats(): Stats {
    return {
      nodes: this.state.nodes.size,
      edges: this.state.edges.size,
      spaces: [...this.state.spaces].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, s]) => ({ name, ...s.spec, embeddings: s.vectors.size })),
      indexes: [
        { name: 'nodeType', kind: 'type' as const, entries: this.state.nodes.size },
        ...[...this.state.indexes].sort(byteOrder).map((key) => {
          const [type, property] = key.split('\0') as [string, string];
          // Entries: nodes of the type whose value is a scalar, as the native index counts them.
          const entries = [...this.state.nodes.values()].filter((n) => n.type === type && isScalar(n.properties[property])).length;
          return { name: `${type}.${property}`, kind: 'property' as const, type, property, entries };
        }),
      ],
      formatVersion: 1,
    };
  }
}

/**
 * The reference backend: plain maps in this process, nothing on disk. For
 * tests and JavaScript-only hosts; it implements the storage contract as
 * plainly as possible so other backends can be checked against it. A
 * transaction works on a copy of the maps (O(records) to begin) and
 * replaces them on commit.
 *
 * @example
 * ```ts
 * const db = EmbeddedDB.open('./unused', { storage: new MemoryStorage() });
 * db.insertNode({ type: 'Note' }); // gone when the process exits
 * ```
 */
export class MemoryStorage extends MemoryOperations implements StorageBackend {
  readonly specificationVersion = 'v1';
  readonly name = 'memory';
  readonly capabilities = { nativeQuery: false, transactions: true, durableQueue: true, multiProcess: false, writeBatch: true };
  readonly #readOnly: boolean;
  #transaction: MemoryTransaction | null = null;

  constructor(options: { readOnly?: boolean } = {}) {
    super(emptyState());
    this.#readOnly = options.readOnly ?? false;
  }

  protected writable(): void {
    if (this.#readOnly) throw loomError('READ_ONLY', 'this in-memory database was opened with readOnly: true');
    if (this.#transaction) throw loomError('LOCKED', 'this in-memory database has a transaction open; write through the transaction, or after it ends');
  }

  beginTransaction(): StorageTransaction {
    this.writable();
    const tx = new MemoryTransaction(fork(this.state), (state) => {
      if (state) this.state = state;
      this.#transaction = null;
    });
    this.#transaction = tx;
    return tx;
  }

  readonly spaces: StorageSpaces = {
    drop: (name) => {
      if (!this.state.spaces.has(name)) return false;
      this.writable();
      this.state.spaces.delete(name);
      this.changed();
      return true;
    },
    missing: (from, to, after, limit) => {
      if (after !== null && !('key' in after)) throw loomError('INVALID_ARGUMENT', 'a missing-embeddings cursor is a key position');
      const target = this.space(to).vectors;
      const keyed = [...this.space(from).vectors.keys()]
        .map((id) => [this.state.keys.get(this.state.nodes.get(id) as Node) as number, id] as const)
        .filter(([key, id]) => key > (after?.key ?? -1) && !target.has(id))
        .sort(([a], [b]) => a - b);
      const page = keyed.slice(0, limit);
      const next = keyed.length > limit ? { key: page[page.length - 1]![0] } : null;
      return { items: page.map(([, id]) => copy(this.state.nodes.get(id) as Node)), next };
    },
    replace: (name, by, spec) => {
      const [old, staged] = [this.space(name), this.space(by)];
      if (name === by) throw loomError('INVALID_ARGUMENT', `space "${name}" cannot replace itself`);
      if (spec.dimensions !== staged.spec.dimensions) {
        throw loomError('DIMENSION_MISMATCH', `space "${by}" holds ${staged.spec.dimensions}-d vectors; the spec for "${name}" says ${spec.dimensions}`);
      }
      const lacking = [...old.vectors.keys()].find((id) => !staged.vectors.has(id));
      if (lacking !== undefined) throw loomError('CONFLICT', `node "${lacking}" has a vector in space "${name}" and none in "${by}"`);
      this.writable();
      this.state.spaces.delete(by);
      this.state.spaces.set(name, { spec: resolveSpaceSpec(spec), vectors: staged.vectors });
      this.changed();
    },
    async: {
      missing: async (from, to, after, limit) => this.spaces.missing(from, to, after, limit),
      replace: async (name, by, spec) => this.spaces.replace(name, by, spec),
    },
  };

  close(): void {
    this.state = emptyState();
  }
}

/** Writes on a forked state; savepoints are forks of forks. */
class MemoryTransaction extends MemoryOperations implements StorageTransaction {
  readonly #saved: MemoryState[] = [];
  #end: ((state: MemoryState | null) => void) | null;

  constructor(state: MemoryState, end: (state: MemoryState | null) => void) {
    super(state);
    this.#end = end;
  }

  protected writable(): void {
    if (!this.#end) throw loomError('INVALID_ARGUMENT', 'the transaction has already ended');
  }

  #finish(state: MemoryState | null): void {
    this.writable();
    const end = this.#end as (state: MemoryState | null) => void;
    this.#end = null;
    end(state);
  }

  commit(): void {
    this.#finish(this.state);
  }

  rollback(): void {
    this.#finish(null);
  }

  savepoint(): void {
    this.writable();
    this.#saved.push(this.state);
    this.state = fork(this.state);
  }

  endSavepoint(keep: boolean): void {
    this.writable();
    const before = this.#saved.pop();
    if (!before) throw loomError('INVALID_ARGUMENT', 'there is no open savepoint');
    if (!keep) this.state = before;
  }
}

/**
 * Registers the in-memory backend as `memory`.
 *
 * @example
 * ```ts
 * const db = EmbeddedDB.open('./unused', { storage: 'memory' }); // registered by memoryStoragePlugin, built in
 * ```
 */
export const memoryStoragePlugin: LoomPlugin = {
  name: 'memory',
  register: (r) => r.registerStorage('memory', (options) => new MemoryStorage({ readOnly: options.readOnly })),
};
