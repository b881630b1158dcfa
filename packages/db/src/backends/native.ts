import { native, type NativeAddon, type NativeHandle } from '@loomdb/core-native';
import { toLoomError } from '../errors.js';
import type { LoomPlugin } from '../plugins.js';
import type { AsyncStorageOperations, StorageBackend, StorageOpenOptions, StorageSearchFilter } from '../storage.js';
import type { Edge, Node, Properties, SearchHit, SpaceSpec, Stats } from '../types.js';
import type { PreparedEdge, PreparedNode } from '../validate.js';

/** Engine errors carry their code; give them the LoomError class on the way out. */
function rethrow(error: unknown): never {
  throw toLoomError(error);
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
    this.#addon = native();
    const { durability, busyTimeoutMs, readOnly, mapSize } = options;
    try {
      this.#handle = this.#addon.open(options.path, JSON.stringify({ durability, busyTimeoutMs, readOnly, mapSize }));
    } catch (e) {
      rethrow(e);
    }
    const a = this.#addon;
    const h = this.#handle;
    const run = async <T>(p: () => Promise<T>): Promise<T> => {
      try {
        return await p();
      } catch (e) {
        return rethrow(e);
      }
    };
    this.async = {
      insertNodes: (nodes) => run(async () => parse<Node[]>(await a.insertNodes(h, JSON.stringify(nodes), true))),
      getNode: (id) => run(async () => parseOrNull<Node>(await a.getNode(h, id, true))),
      updateNode: (id, patch) => run(async () => parse<Node>(await a.updateNode(h, id, JSON.stringify(patch), true))),
      deleteNode: (id) => run(() => a.deleteNode(h, id, true)),
      insertEdge: (e) =>
        run(async () => parse<Edge>(await a.insertEdge(h, e.id, e.type, e.from, e.to, JSON.stringify(e.properties), e.weight, true))),
      getEdge: (id) => run(async () => parseOrNull<Edge>(await a.getEdge(h, id, true))),
      deleteEdge: (id) => run(() => a.deleteEdge(h, id, true)),
      insertEmbedding: (nodeId, space, vector) => run(() => a.insertEmbedding(h, nodeId, space, vector, true)),
      getEmbedding: (nodeId, space) => run(() => a.getEmbedding(h, nodeId, space, true)),
      searchVectors: (space, vector, k, filter) => run(async () => parse<SearchHit[]>(await a.search(h, space, vector, k, JSON.stringify(filter), true))),
      stats: () => run(async () => parse<Stats>(await a.stats(h, true))),
    };
  }

  ensureSpace(name: string, spec: Required<SpaceSpec>): void {
    try {
      this.#addon.ensureSpace(this.#handle, name, JSON.stringify(spec));
    } catch (e) {
      rethrow(e);
    }
  }

  insertNodes(nodes: PreparedNode[]): Node[] {
    try {
      if (nodes.length === 1) {
        const [n] = nodes as [PreparedNode];
        return [parse<Node>(this.#addon.insertNode(this.#handle, n.id, n.type, JSON.stringify(n.properties), false))];
      }
      return parse<Node[]>(this.#addon.insertNodes(this.#handle, JSON.stringify(nodes), false));
    } catch (e) {
      return rethrow(e);
    }
  }

  getNode(id: string): Node | null {
    try {
      return parseOrNull<Node>(this.#addon.getNode(this.#handle, id, false));
    } catch (e) {
      return rethrow(e);
    }
  }

  updateNode(id: string, patch: Properties): Node {
    try {
      return parse<Node>(this.#addon.updateNode(this.#handle, id, JSON.stringify(patch), false));
    } catch (e) {
      return rethrow(e);
    }
  }

  deleteNode(id: string): boolean {
    try {
      return this.#addon.deleteNode(this.#handle, id, false);
    } catch (e) {
      return rethrow(e);
    }
  }

  insertEdge(e: PreparedEdge): Edge {
    try {
      return parse<Edge>(this.#addon.insertEdge(this.#handle, e.id, e.type, e.from, e.to, JSON.stringify(e.properties), e.weight, false));
    } catch (err) {
      return rethrow(err);
    }
  }

  getEdge(id: string): Edge | null {
    try {
      return parseOrNull<Edge>(this.#addon.getEdge(this.#handle, id, false));
    } catch (e) {
      return rethrow(e);
    }
  }

  deleteEdge(id: string): boolean {
    try {
      return this.#addon.deleteEdge(this.#handle, id, false);
    } catch (e) {
      return rethrow(e);
    }
  }

  insertEmbedding(nodeId: string, space: string, vector: Float32Array): void {
    try {
      this.#addon.insertEmbedding(this.#handle, nodeId, space, vector, false);
    } catch (e) {
      rethrow(e);
    }
  }

  getEmbedding(nodeId: string, space: string): Float32Array | null {
    try {
      return this.#addon.getEmbedding(this.#handle, nodeId, space, false);
    } catch (e) {
      return rethrow(e);
    }
  }

  searchVectors(space: string, vector: Float32Array, k: number, filter: StorageSearchFilter): SearchHit[] {
    try {
      return parse<SearchHit[]>(this.#addon.search(this.#handle, space, vector, k, JSON.stringify(filter), false));
    } catch (e) {
      return rethrow(e);
    }
  }

  stats(): Stats {
    try {
      return parse<Stats>(this.#addon.stats(this.#handle, false));
    } catch (e) {
      return rethrow(e);
    }
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
