import { native, type NativeAddon, type NativeHandle } from '@loomdb/core-native';
import { toLoomError } from '../errors.js';
import type { LoomPlugin } from '../plugins.js';
import type { AsyncStorageOperations, StorageBackend, StorageOpenOptions, StorageSearchFilter } from '../storage.js';
import type { Edge, Node, Properties, SearchHit, SpaceSpec, Stats } from '../types.js';
import type { PreparedEdge, PreparedNode } from '../validate.js';

/** Engine errors carry their code; give them the LoomError class on the way out. */
function sync<T>(call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw toLoomError(e);
  }
}

async function later<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw toLoomError(e);
  }
}

const parse = <T>(json: string): T => JSON.parse(json) as T;
const parseOrNull = <T>(json: string | null): T | null => (json === null ? null : parse<T>(json));

/**
 * The default backend: the Rust engine on LMDB. Several processes may open
 * one database; writes are durable per `durability`.
 */
export class NativeStorage implements StorageBackend {
  readonly specificationVersion = 'v1';
  readonly name = 'native';
  readonly capabilities = { nativeQuery: false, transactions: false, durableQueue: false, multiProcess: true };
  readonly async: AsyncStorageOperations;
  readonly #addon: NativeAddon;
  readonly #handle: NativeHandle;

  constructor(options: StorageOpenOptions) {
    const a = native();
    const { durability, busyTimeoutMs, readOnly, mapSize } = options;
    const h = sync(() => a.open(options.path, JSON.stringify({ durability, busyTimeoutMs, readOnly, mapSize })));
    this.#addon = a;
    this.#handle = h;
    this.async = {
      insertNodes: (nodes) => later(async () => parse<Node[]>(await a.insertNodes(h, JSON.stringify(nodes), true))),
      getNode: (id) => later(async () => parseOrNull<Node>(await a.getNode(h, id, true))),
      updateNode: (id, patch) => later(async () => parse<Node>(await a.updateNode(h, id, JSON.stringify(patch), true))),
      deleteNode: (id) => later(() => a.deleteNode(h, id, true)),
      insertEdge: (e) => later(async () => parse<Edge>(await a.insertEdge(h, e.id, e.type, e.from, e.to, JSON.stringify(e.properties), e.weight, true))),
      getEdge: (id) => later(async () => parseOrNull<Edge>(await a.getEdge(h, id, true))),
      deleteEdge: (id) => later(() => a.deleteEdge(h, id, true)),
      insertEmbedding: (nodeId, space, vector) => later(() => a.insertEmbedding(h, nodeId, space, vector, true)),
      getEmbedding: (nodeId, space) => later(() => a.getEmbedding(h, nodeId, space, true)),
      searchVectors: (space, vector, k, filter) => later(async () => parse<SearchHit[]>(await a.search(h, space, vector, k, JSON.stringify(filter), true))),
      stats: () => later(async () => parse<Stats>(await a.stats(h, true))),
    };
  }

  ensureSpace(name: string, spec: Required<SpaceSpec>): void {
    sync(() => this.#addon.ensureSpace(this.#handle, name, JSON.stringify(spec)));
  }

  insertNodes(nodes: PreparedNode[]): Node[] {
    const [only] = nodes;
    if (nodes.length === 1 && only) {
      return [sync(() => parse<Node>(this.#addon.insertNode(this.#handle, only.id, only.type, JSON.stringify(only.properties), false)))];
    }
    return sync(() => parse<Node[]>(this.#addon.insertNodes(this.#handle, JSON.stringify(nodes), false)));
  }

  getNode(id: string): Node | null {
    return sync(() => parseOrNull<Node>(this.#addon.getNode(this.#handle, id, false)));
  }

  updateNode(id: string, patch: Properties): Node {
    return sync(() => parse<Node>(this.#addon.updateNode(this.#handle, id, JSON.stringify(patch), false)));
  }

  deleteNode(id: string): boolean {
    return sync(() => this.#addon.deleteNode(this.#handle, id, false));
  }

  insertEdge(e: PreparedEdge): Edge {
    return sync(() => parse<Edge>(this.#addon.insertEdge(this.#handle, e.id, e.type, e.from, e.to, JSON.stringify(e.properties), e.weight, false)));
  }

  getEdge(id: string): Edge | null {
    return sync(() => parseOrNull<Edge>(this.#addon.getEdge(this.#handle, id, false)));
  }

  deleteEdge(id: string): boolean {
    return sync(() => this.#addon.deleteEdge(this.#handle, id, false));
  }

  insertEmbedding(nodeId: string, space: string, vector: Float32Array): void {
    sync(() => this.#addon.insertEmbedding(this.#handle, nodeId, space, vector, false));
  }

  getEmbedding(nodeId: string, space: string): Float32Array | null {
    return sync(() => this.#addon.getEmbedding(this.#handle, nodeId, space, false));
  }

  searchVectors(space: string, vector: Float32Array, k: number, filter: StorageSearchFilter): SearchHit[] {
    return sync(() => parse<SearchHit[]>(this.#addon.search(this.#handle, space, vector, k, JSON.stringify(filter), false)));
  }

  stats(): Stats {
    return sync(() => parse<Stats>(this.#addon.stats(this.#handle, false)));
  }

  close(): void {
    this.#addon.close(this.#handle);
  }
}

/** Registers the native backend as `native`, the same way a third-party plugin would. */
export const nativeStoragePlugin: LoomPlugin = {
  name: 'native',
  register: (r) => r.registerStorage('native', (options) => new NativeStorage(options)),
};
