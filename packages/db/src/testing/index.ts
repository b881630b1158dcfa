/**
 * The storage conformance suite. A backend author runs it with vitest:
 *
 * ```ts
 * import { describeStorageConformance } from '@loomdb/db/testing';
 * describeStorageConformance('my backend', { storage: () => new MyBackend() });
 * ```
 *
 * Every case opens a fresh database through `EmbeddedDB.open` with the
 * backend, so it checks what users see, including errors and atomicity.
 *
 * @packageDocumentation
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AsyncEmbeddedDB } from '../async-db.js';
import { EmbeddedDB } from '../embedded-db.js';
import { LoomError, type LoomErrorCode } from '../errors.js';
import { distance } from '../exact-search.js';
import type { OpenOptions } from '../open.js';
import type { StorageBackend, StorageOpenOptions } from '../storage.js';
import type { Metric } from '../types.js';

/**
 * What the conformance suite runs against.
 *
 * @example
 * ```ts
 * const target: ConformanceTarget = { storage: (options) => new MyBackend(options) };
 * describeStorageConformance('my backend', target);
 * ```
 */
export interface ConformanceTarget {
  /** A backend name registered by `plugins`, or a factory for a fresh backend. */
  storage: string | ((options: StorageOpenOptions) => StorageBackend);
  plugins?: OpenOptions['plugins'];
}

/**
 * Expects `fn` to throw a LoomError with `code`; returns it.
 *
 * @example
 * ```ts
 * const error = expectLoomError(() => db.getNode(42 as never), 'INVALID_ARGUMENT');
 * expect(error.message).toMatch(/id/);
 * ```
 */
export function expectLoomError(fn: () => unknown, code: LoomErrorCode): LoomError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(LoomError.is(caught), `expected a LoomError ${code}, got ${String(caught)}`).toBe(true);
  expect((caught as LoomError).code).toBe(code);
  return caught as LoomError;
}

import { seededRandom } from './data.js';

export { seededRandom };

/**
 * `target` (a backend, and the transactions it begins) without the optional
 * write batches, as a plugin author's backend may be: for testing the
 * generic path LoomDB takes then.
 *
 * @example
 * ```ts
 * describeStorageConformance('mine, generic path', { storage: (options) => withoutWriteBatches(new MyBackend(options)) });
 * ```
 */
export function withoutWriteBatches<T extends object>(target: T): T {
  return new Proxy(target, {
    get(t, key) {
      if (key === 'writeBatch' || key === 'changeSequence') return undefined;
      if (key === 'capabilities') return { ...(t as unknown as StorageBackend).capabilities, writeBatch: false };
      const value = Reflect.get(t, key, t) as unknown;
      if (key === 'beginTransaction') return (...args: unknown[]) => withoutWriteBatches((value as (...a: unknown[]) => object).apply(t, args));
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

/**
 * The conformance suite.
 *
 * @example
 * ```ts
 * // my-backend.test.ts, run with vitest
 * describeStorageConformance('my backend', { storage: (options) => new MyBackend(options) });
 * ```
 */
export function describeStorageConformance(label: string, target: ConformanceTarget): void {
  describe(`storage conformance: ${label}`, () => {
    const dirs: string[] = [];
    const open: EmbeddedDB[] = [];
    const asyncOpen: AsyncEmbeddedDB[] = [];
    afterEach(() => {
      for (const db of [...open.splice(0), ...asyncOpen.splice(0)]) db.close();
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    });

    function fresh(options: OpenOptions = {}): EmbeddedDB {
      const dir = mkdtempSync(join(tmpdir(), 'loomdb-conformance-'));
      dirs.push(dir);
      const storage =
        typeof target.storage === 'string'
          ? target.storage
          : target.storage({ path: dir, durability: 'immediate', busyTimeoutMs: 5000, readOnly: options.readOnly ?? false });
      const db = EmbeddedDB.open(join(dir, 'db'), { ...options, storage, plugins: target.plugins });
      open.push(db);
      return db;
    }

    const withSpace = (dimensions = 3, metric: Metric = 'cosine') => fresh({ spaces: { default: { dimensions, metric } } });

    /** An async handle on a fresh database of its own. */
    async function freshAsync(): Promise<AsyncEmbeddedDB> {
      const dir = mkdtempSync(join(tmpdir(), 'loomdb-conformance-'));
      dirs.push(dir);
      const storage =
        typeof target.storage === 'string' ? target.storage : target.storage({ path: dir, durability: 'immediate', busyTimeoutMs: 5000, readOnly: false });
      const db = await AsyncEmbeddedDB.open(join(dir, 'db'), { storage, plugins: target.plugins });
      asyncOpen.push(db);
      return db;
    }

    it('stores and returns nodes with generated, time-sortable ids', () => {
      const db = fresh();
      const a = db.insertNode({ type: 'Person', properties: { name: 'Ada', tags: ['x'], nested: { n: 1 } } });
      const b = db.insertNode({ type: 'Person' });
      expect(a.id < b.id).toBe(true);
      expect(a).toMatchObject({ type: 'Person', properties: { name: 'Ada', tags: ['x'], nested: { n: 1 } } });
      expect(a.createdAt).toBe(a.updatedAt);
      expect(db.getNode(a.id)).toEqual(a);
      expect(db.getNode(b.id)?.properties).toEqual({});
      expect(db.getNode('missing')).toBeNull();
    });

    it('returns copies: changing a returned node changes nothing stored', () => {
      const db = fresh();
      const props = { list: [1, 2] };
      const a = db.insertNode({ id: 'a', type: 'T', properties: props });
      props.list.push(3);
      a.properties.list = [];
      expect(db.getNode('a')?.properties).toEqual({ list: [1, 2] });
    });

    it('rejects a duplicate id and writes nothing', () => {
      const db = fresh();
      db.insertNode({ id: 'a', type: 'T' });
      const before = db.stats();
      expectLoomError(() => db.insertNode({ id: 'a', type: 'Other' }), 'ALREADY_EXISTS');
      expect(db.stats()).toEqual(before);
      expect(db.getNode('a')?.type).toBe('T');
    });

    it('inserts batches all-or-nothing', () => {
      const db = fresh();
      db.insertNode({ id: 'taken', type: 'T' });
      const before = db.stats();
      expectLoomError(() => db.insertNodesBatch([{ id: 'n1', type: 'T' }, { id: 'taken', type: 'T' }]), 'ALREADY_EXISTS');
      expectLoomError(() => db.insertNodesBatch([{ id: 'n1', type: 'T' }, { id: 'n1', type: 'T' }]), 'ALREADY_EXISTS');
      expect(db.getNode('n1')).toBeNull();
      expect(db.stats()).toEqual(before);
      expect(db.insertNodesBatch([{ id: 'n1', type: 'T' }, { type: 'T' }])).toHaveLength(2);
      expect(db.stats().nodes).toBe(3);
    });

    it('updates by shallow merge; null deletes a key', () => {
      const db = fresh();
      db.insertNode({ id: 'a', type: 'T', properties: { keep: 1, drop: 2, replace: { x: 1 } } });
      const u = db.updateNode('a', { properties: { drop: null, replace: { y: 2 }, add: 'new' } });
      expect(u.properties).toEqual({ keep: 1, replace: { y: 2 }, add: 'new' });
      expect(u.updatedAt).toBeGreaterThanOrEqual(u.createdAt);
      expect(db.getNode('a')).toEqual(u);
      expectLoomError(() => db.updateNode('missing', { properties: {} }), 'NOT_FOUND');
    });

    it('stores edges between existing nodes only', () => {
      const db = fresh();
      db.insertNode({ id: 'a', type: 'T' });
      db.insertNode({ id: 'b', type: 'T' });
      const e = db.insertEdge({ id: 'e', type: 'KNOWS', from: 'a', to: 'b', properties: { since: 2020 }, weight: 0.5 });
      expect(e).toMatchObject({ id: 'e', type: 'KNOWS', from: 'a', to: 'b', properties: { since: 2020 }, weight: 0.5 });
      expect(db.getEdge('e')).toEqual(e);
      expect(db.insertEdge({ type: 'KNOWS', from: 'b', to: 'a' }).weight).toBe(1);
      const err = expectLoomError(() => db.insertEdge({ type: 'KNOWS', from: 'a', to: 'ghost' }), 'NOT_FOUND');
      expect(err.message).toContain('ghost');
      expectLoomError(() => db.insertEdge({ id: 'e', type: 'KNOWS', from: 'a', to: 'b' }), 'ALREADY_EXISTS');
      expect(db.stats().edges).toBe(2);
      const updated = db.updateEdge('e', { properties: { since: null, note: 'x' }, weight: 3 });
      expect(updated).toMatchObject({ id: 'e', type: 'KNOWS', from: 'a', to: 'b', properties: { note: 'x' }, weight: 3 });
      expect(db.getEdge('e')).toEqual(updated);
      expect(db.updateEdge('e', { weight: 4 }).properties).toEqual({ note: 'x' });
      expectLoomError(() => db.updateEdge('ghost', { weight: 1 }), 'NOT_FOUND');
      expectLoomError(() => db.updateEdge('e', { weight: Number.NaN }), 'INVALID_ARGUMENT');
      expectLoomError(() => db.updateEdge('e', { from: 'b' } as never), 'INVALID_ARGUMENT');
      expectLoomError(() => db.updateEdge('e', {}), 'INVALID_ARGUMENT');
      expect(db.getEdge('e')?.weight).toBe(4);
      expect(db.deleteEdge('e')).toBe(true);
      expect(db.deleteEdge('e')).toBe(false);
      expect(db.getEdge('e')).toBeNull();
    });

    it('deletes a node with its edges and embeddings', () => {
      const db = withSpace(2, 'l2');
      for (const id of ['a', 'b', 'c']) db.insertNode({ id, type: 'T' });
      db.insertEdge({ id: 'ab', type: 'R', from: 'a', to: 'b' });
      db.insertEdge({ id: 'ca', type: 'R', from: 'c', to: 'a' });
      db.insertEdge({ id: 'aa', type: 'R', from: 'a', to: 'a' });
      db.insertEdge({ id: 'bc', type: 'R', from: 'b', to: 'c' });
      db.insertEmbedding('a', [1, 1]);
      db.insertEmbedding('b', [2, 2]);
      expect(db.deleteNode('a')).toBe(true);
      expect(db.deleteNode('a')).toBe(false);
      for (const id of ['ab', 'ca', 'aa']) expect(db.getEdge(id)).toBeNull();
      expect(db.getEdge('bc')).not.toBeNull();
      expect(db.getEmbedding('a')).toBeNull();
      expect(db.searchVectors([1, 1], { k: 5 }).map((h) => h.id)).toEqual(['b']);
      expect(db.stats()).toMatchObject({ nodes: 2, edges: 1, spaces: [{ name: 'default', embeddings: 1 }] });
    });

    it('stores, replaces and returns embeddings per space', () => {
      const db = fresh({ spaces: { default: { dimensions: 3, metric: 'cosine' }, small: { dimensions: 2, metric: 'l2' } } });
      db.insertNode({ id: 'a', type: 'T' });
      db.insertEmbedding('a', new Float32Array([1, 2, 3]));
      db.insertEmbedding('a', [0.5, 0.25], { space: 'small' });
      expect(Array.from(db.getEmbedding('a') ?? [])).toEqual([1, 2, 3]);
      db.insertEmbedding('a', [3, 2, 1]);
      expect(Array.from(db.getEmbedding('a') ?? [])).toEqual([3, 2, 1]);
      expect(Array.from(db.getEmbedding('a', { space: 'small' }) ?? [])).toEqual([0.5, 0.25]);
      const spaces = db.stats().spaces;
      expect(spaces).toHaveLength(2);
      expect(spaces[0]).toMatchObject({ name: 'default', dimensions: 3, metric: 'cosine', index: 'hnsw', M: 16, efConstruction: 128, ef: 64, embeddings: 1 });
      expect(spaces[1]).toMatchObject({ name: 'small', dimensions: 2, metric: 'l2', index: 'hnsw', embeddings: 1 });
      expect(db.getEmbedding('missing')).toBeNull();
      const before = db.stats();
      expectLoomError(() => db.insertEmbedding('a', [1, 2]), 'DIMENSION_MISMATCH');
      expectLoomError(() => db.insertEmbedding('missing', [1, 2, 3]), 'NOT_FOUND');
      expectLoomError(() => db.insertEmbedding('a', [1, 2, 3], { space: 'nope' }), 'NOT_FOUND');
      expectLoomError(() => db.getEmbedding('a', { space: 'nope' }), 'NOT_FOUND');
      expect(db.stats()).toEqual(before);
    });

    for (const metric of ['cosine', 'l2', 'dot'] as const) {
      it(`finds the true nearest neighbours (${metric})`, () => {
        const dims = 16;
        const db = withSpace(dims, metric);
        const random = seededRandom(7);
        const vectors = new Map<string, Float32Array>();
        const nodes = Array.from({ length: 300 }, (_, i) => ({ id: `n${i}`, type: i % 3 === 0 ? 'Fizz' : 'Other' }));
        db.insertNodesBatch(nodes);
        for (const { id } of nodes) {
          const v = Float32Array.from({ length: dims }, () => random() * 2 - 1);
          vectors.set(id, v);
          db.insertEmbedding(id, v);
        }
        for (let q = 0; q < 5; q++) {
          const query = Float32Array.from({ length: dims }, () => random() * 2 - 1);
          const truth = [...vectors].map(([id, v]) => ({ id, d: distance(metric, query, v) })).sort((x, y) => x.d - y.d);
          const hits = db.searchVectors(query, { k: 10 });
          expect(hits).toHaveLength(10);
          hits.forEach((hit, i) => expect(hit.distance).toBeCloseTo((truth[i] as { d: number }).d, 4));
          expect(new Set(hits.map((h) => h.id))).toEqual(new Set(truth.slice(0, 10).map((t) => t.id)));
          const fizz = db.searchVectors(query, { k: 10, filter: { type: 'Fizz' } });
          expect(fizz).toHaveLength(10);
          const fizzTruth = truth.filter((t) => Number(t.id.slice(1)) % 3 === 0).slice(0, 10);
          expect(new Set(fizz.map((h) => h.id))).toEqual(new Set(fizzTruth.map((t) => t.id)));
        }
      });
    }

    it('refuses vectors whose distances would overflow float32, and zero or subnormal vectors in a cosine space, naming the vector', async () => {
      for (const metric of ['cosine', 'l2', 'dot'] as const) {
        const db = withSpace(2, metric);
        db.insertNodesBatch([{ id: 'a', type: 'T' }, { id: 'b', type: 'T' }, { id: 'c', type: 'T' }]);
        db.insertEmbedding('a', [1, 0]);
        const before = db.stats();
        const huge = [3e38, 3e38];
        const cases: Array<[() => unknown, string]> = [
          [() => db.insertEmbedding('b', huge), 'vector'],
          [() => db.insertEmbeddingsBatch([{ nodeId: 'b', vector: [1, 1] }, { nodeId: 'c', vector: huge }]), 'embeddings[1]'],
          [() => db.searchVectors(huge), 'vector'],
          [() => db.writeBatch({ insertEmbeddings: [{ nodeId: 'b', vector: [-2e19, 0] }] }), 'insertEmbeddings'],
        ];
        if (metric === 'cosine') {
          for (const v of [[0, 0], [1e-40, -1e-40]]) {
            cases.push(
              [() => db.insertEmbedding('b', v), 'vector'],
              [() => db.insertEmbeddingsBatch([{ nodeId: 'b', vector: [1, 1] }, { nodeId: 'c', vector: v }]), 'embeddings[1]'],
              [() => db.searchVectors(v), 'vector'],
              [() => db.writeBatch({ insertEmbeddings: [{ nodeId: 'b', vector: v }] }), 'insertEmbeddings'],
            );
          }
        } else {
          db.insertEmbedding('c', [1e-40, -1e-40]);
        }
        for (const [fn, what] of cases) {
          const err = expectLoomError(fn, 'INVALID_ARGUMENT');
          expect(err.message, `${metric}: ${err.message}`).toContain(what);
          expect(err.message).toContain('norm');
        }
        if (metric === 'cosine') expect(db.stats()).toEqual(before);
        expect(db.getEmbedding('b')).toBeNull();
        // The largest vectors allowed: finite distances, ranked as float64 ranks them.
        db.insertEmbedding('b', [3.2e18, 3.2e18]);
        db.insertEmbedding('c', [-3.2e18, -3.2e18]);
        for (const exact of [true, false]) {
          const hits = db.searchVectors([3e18, 3.1e18], { k: 3, exact });
          for (const h of hits) expect(Number.isFinite(h.distance), `${metric}: ${JSON.stringify(hits)}`).toBe(true);
          expect(hits.map((h) => h.id), metric).toEqual(['b', 'a', 'c']);
        }
      }
      const adb = await freshAsync();
      await adb.ensureSpace('default', { dimensions: 2, metric: 'cosine' });
      await adb.insertNode({ id: 'a', type: 'T' });
      await expect(adb.insertEmbedding('a', [3e38, 3e38])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(adb.insertEmbedding('a', [0, 0])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    it('returns k results whenever k nodes match a filter, and fewer only when fewer match', () => {
      const db = withSpace(2, 'l2');
      for (let i = 0; i < 50; i++) {
        db.insertNode({ id: `n${i}`, type: i < 3 ? 'Rare' : 'Common' });
        db.insertEmbedding(`n${i}`, [i, 0]);
      }
      expect(db.searchVectors([49, 0], { k: 3, filter: { type: 'Rare' } }).map((h) => h.id)).toEqual(['n2', 'n1', 'n0']);
      expect(db.searchVectors([0, 0], { k: 10, filter: { type: 'Rare' } })).toHaveLength(3);
      expect(db.searchVectors([0, 0], { k: 10, filter: { ids: ['n5', 'n7', 'missing'] } }).map((h) => h.id)).toEqual(['n5', 'n7']);
      expect(db.searchVectors([0, 0], { k: 10, filter: { ids: ['n5', 'n40'], type: 'Rare' } })).toEqual([]);
      expect(db.searchVectors([0, 0], { k: 100 })).toHaveLength(50);
    });

    it('declares spaces: defaults filled in, given fields must match, bad specs refused', () => {
      const db = fresh({ spaces: { text: { dimensions: 4, metric: 'cosine', embedder: 'hashing' }, exact: { dimensions: 2, metric: 'dot', index: 'flat' } } });
      db.createSpace('tuned', { dimensions: 3, metric: 'l2', M: 8, efConstruction: 40, ef: 20 });
      const byName = Object.fromEntries(db.stats().spaces.map((s) => [s.name, s]));
      expect(byName.text).toMatchObject({ dimensions: 4, metric: 'cosine', index: 'hnsw', M: 16, efConstruction: 128, ef: 64, embedder: 'hashing', embeddings: 0 });
      expect(byName.exact).toMatchObject({ index: 'flat' });
      expect(byName.exact?.M).toBeUndefined();
      expect(byName.tuned).toMatchObject({ M: 8, efConstruction: 40, ef: 20 });
      // Left out means "as stored"; given means "must be equal".
      db.createSpace('text', { dimensions: 4, metric: 'cosine' });
      db.createSpace('text', { dimensions: 4, metric: 'cosine', index: 'hnsw', M: 16, embedder: 'hashing' });
      const before = db.stats();
      for (const spec of [
        { dimensions: 5, metric: 'cosine' },
        { dimensions: 4, metric: 'l2' },
        { dimensions: 4, metric: 'cosine', index: 'flat' },
        { dimensions: 4, metric: 'cosine', M: 32 },
        { dimensions: 4, metric: 'cosine', ef: 10 },
        { dimensions: 4, metric: 'cosine', embedder: 'other' },
      ] as const) {
        expect(expectLoomError(() => db.createSpace('text', spec), 'INVALID_ARGUMENT').message).toContain('"text"');
      }
      for (const spec of [
        { dimensions: 0, metric: 'cosine' },
        { dimensions: 3, metric: 'hamming' },
        { dimensions: 3, metric: 'l2', M: 1 },
        { dimensions: 3, metric: 'l2', ef: 0 },
        { dimensions: 3, metric: 'l2', efConstruction: 1.5 },
        { dimensions: 3, metric: 'l2', index: 'flat', M: 16 },
        { dimensions: 3, metric: 'l2', embedder: '' },
        { dimensions: 3, metric: 'l2', extra: true },
      ]) {
        expectLoomError(() => db.createSpace('bad', spec as never), 'INVALID_ARGUMENT');
      }
      expectLoomError(() => db.createSpace('bad name', { dimensions: 3, metric: 'l2' }), 'INVALID_ARGUMENT');
      expectLoomError(() => db.createSpace('ivf', { dimensions: 3, metric: 'l2', index: 'ivf' }), 'UNSUPPORTED');
      expect(db.stats()).toEqual(before);
    });

    it('filters searches by type, ids and property conditions together', () => {
      const db = withSpace(2, 'l2');
      db.insertNodesBatch(Array.from({ length: 60 }, (_, i) => ({ id: `n${i}`, type: i % 2 ? 'Odd' : 'Even', properties: { i, tag: i % 3 === 0 ? 'fizz' : 'plain' } })));
      db.insertEmbeddingsBatch(Array.from({ length: 60 }, (_, i) => ({ nodeId: `n${i}`, vector: [i, 0] })));
      const ids = (filter: object, k = 5) => db.searchVectors([20, 0], { k, filter }).map((h) => h.id);
      expect(ids({ where: { tag: 'fizz' } })).toEqual(['n21', 'n18', 'n24', 'n15', 'n27']);
      expect(ids({ type: 'Odd', where: { tag: 'fizz', i: { lt: 20 } } })).toEqual(['n15', 'n9', 'n3']);
      expect(ids({ where: { i: { gte: 50 } }, ids: ['n1', 'n55', 'n59'] })).toEqual(['n55', 'n59']);
      expect(ids({ where: { missing: { ne: 1 } } }, 3)).toEqual(['n20', 'n19', 'n21']);
      expect(ids({ type: ['Odd', 'Even'], where: { i: { in: [1, 2, 40] } } })).toEqual(['n2', 'n1', 'n40']);
      expect(db.searchVectors([20, 0], { k: 3, exact: true, ef: 10 }).map((h) => h.id)).toEqual(['n20', 'n19', 'n21']);
      expectLoomError(() => db.searchVectors([1, 0], { filter: { where: { i: { near: 3 } } } as never }), 'INVALID_ARGUMENT');
      expectLoomError(() => db.searchVectors([1, 0], { filter: { type: [] } }), 'INVALID_ARGUMENT');
      expectLoomError(() => db.searchVectors([1, 0], { ef: 0 }), 'INVALID_ARGUMENT');
      expectLoomError(() => db.searchVectors([1, 0], { ef: 1.5 }), 'INVALID_ARGUMENT');
      expectLoomError(() => db.searchVectors([1, 0], { exact: 'yes' } as never), 'INVALID_ARGUMENT');
    });

    it('keeps stats identical across failed calls', () => {
      const db = withSpace(2, 'l2');
      db.insertNode({ id: 'a', type: 'T' });
      const before = db.stats();
      const failures: Array<() => unknown> = [
        () => db.insertEdge({ type: 'R', from: 'a', to: 'zzz' }),
        () => db.insertEmbedding('a', [1, 2, 3]),
        () => db.updateNode('zzz', { properties: { a: 1 } }),
        () => db.insertNode({ id: 'a', type: 'T' }),
      ];
      for (const f of failures) expect(f).toThrow(LoomError);
      expect(db.stats()).toEqual(before);
    });

    /** a → b → c → d, a → c, d -LIKES-> a, e alone. */
    function smallGraph(db: EmbeddedDB) {
      db.insertNodesBatch(['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, type: id === 'd' ? 'End' : 'Step', properties: { rank: id.charCodeAt(0) - 96 } })));
      db.insertEdgesBatch([
        { id: 'ab', type: 'NEXT', from: 'a', to: 'b' },
        { id: 'bc', type: 'NEXT', from: 'b', to: 'c' },
        { id: 'cd', type: 'NEXT', from: 'c', to: 'd' },
        { id: 'ac', type: 'NEXT', from: 'a', to: 'c' },
        { id: 'da', type: 'LIKES', from: 'd', to: 'a' },
      ]);
    }

    const sorted = (xs: string[]) => [...xs].sort();

    it('reads neighbours and degrees by direction and edge type', () => {
      const db = fresh();
      smallGraph(db);
      const pairs = (id: string, o: Parameters<EmbeddedDB['neighbors']>[1]) => sorted(db.neighbors(id, o).map((n) => `${n.edge.id}:${n.node.id}`));
      expect(pairs('a', { direction: 'out' })).toEqual(['ab:b', 'ac:c']);
      expect(pairs('a', { direction: 'in' })).toEqual(['da:d']);
      expect(pairs('a', { direction: 'both', edgeTypes: ['LIKES'] })).toEqual(['da:d']);
      expect(db.neighbors('a', { direction: 'both', limit: 2 })).toHaveLength(2);
      expect(db.degree('c', { direction: 'both' })).toBe(3);
      expect(db.degree('e', { direction: 'both' })).toBe(0);
      expectLoomError(() => db.neighbors('ghost', { direction: 'out' }), 'NOT_FOUND');
    });

    it('traverses breadth-first, each node once, at its shortest depth', () => {
      const db = fresh();
      smallGraph(db);
      const walk = db.traverse('a', { direction: 'out', maxDepth: 5, edgeTypes: ['NEXT'] });
      expect(walk.map((r) => [r.node.id, r.depth])).toEqual(expect.arrayContaining([['b', 1], ['c', 1], ['d', 2]]));
      expect(walk).toHaveLength(3);
      expect(walk.find((r) => r.node.id === 'd')?.via).toBe('cd');
      expect(walk.map((r) => r.depth)).toEqual([...walk.map((r) => r.depth)].sort());
      expect(sorted(db.traverse('a', { direction: 'out', maxDepth: 5, nodeTypes: ['Step'] }).map((r) => r.node.id))).toEqual(['b', 'c']);
      expect(db.traverse('a', { direction: 'both', maxDepth: 1 }).map((r) => r.node.id).sort()).toEqual(['b', 'c', 'd']);
      expect(db.traverse('e', { direction: 'both', maxDepth: 3 })).toEqual([]);
    });

    it('finds shortest paths, start first, or null', () => {
      const db = fresh();
      smallGraph(db);
      const p = db.shortestPath('a', 'd', { direction: 'out', maxDepth: 5 });
      expect(p?.nodes.map((n) => n.id)).toEqual(['a', 'c', 'd']);
      expect(p?.edges.map((e) => e.id)).toEqual(['ac', 'cd']);
      expect(db.shortestPath('a', 'd', { direction: 'out', maxDepth: 1 })).toBeNull();
      expect(db.shortestPath('a', 'e', { direction: 'both', maxDepth: 9 })).toBeNull();
      expect(db.shortestPath('d', 'b', { direction: 'in', maxDepth: 5 })?.nodes.map((n) => n.id)).toEqual(['d', 'c', 'b']);
      expect(db.shortestPath('b', 'b', { direction: 'out', maxDepth: 0 })).toMatchObject({ nodes: [{ id: 'b' }], edges: [] });
      expectLoomError(() => db.shortestPath('a', 'ghost', { direction: 'out', maxDepth: 3 }), 'NOT_FOUND');
    });

    it('inserts edge and embedding batches all-or-nothing', () => {
      const db = withSpace(2, 'l2');
      db.insertNodesBatch([{ id: 'a', type: 'T' }, { id: 'b', type: 'T' }]);
      const before = db.stats();
      expectLoomError(() => db.insertEdgesBatch([{ id: 'x', type: 'R', from: 'a', to: 'b' }, { type: 'R', from: 'a', to: 'ghost' }]), 'NOT_FOUND');
      expectLoomError(() => db.insertEmbeddingsBatch([{ nodeId: 'a', vector: [1, 1] }, { nodeId: 'b', vector: [1, 1, 1] }]), 'DIMENSION_MISMATCH');
      expect(db.stats()).toEqual(before);
      expect(db.getEdge('x')).toBeNull();
      expect(db.insertEdgesBatch([{ id: 'x', type: 'R', from: 'a', to: 'b' }, { type: 'R', from: 'b', to: 'a' }])).toHaveLength(2);
      db.insertEmbeddingsBatch([{ nodeId: 'a', vector: [0, 0] }, { nodeId: 'b', vector: [3, 4], space: 'default' }]);
      expect(db.searchVectors([3, 3], { k: 2 }).map((h) => h.id)).toEqual(['b', 'a']);
    });

    it('accumulates counter edge weights, creating and deleting edges, all or nothing', async () => {
      const db = fresh();
      db.insertNodesBatch([{ id: 'a', type: 'T' }, { id: 'b', type: 'T' }]);
      const w = (weight: number, from = 'a', to = 'b') => ({ id: 'ab', type: 'CO', from, to, weight });
      db.addEdgeWeights([w(1), w(2)]);
      expect(db.getEdge('ab')).toMatchObject({ type: 'CO', from: 'a', to: 'b', weight: 3 });
      db.addEdgeWeights([w(-3)]);
      expect(db.getEdge('ab')).toBeNull();
      db.addEdgeWeights([w(-1)]);
      expect(db.getEdge('ab')).toBeNull();
      db.addEdgeWeights([w(2)]);
      const before = db.stats();
      expect(expectLoomError(() => db.addEdgeWeights([w(1), w(1, 'b', 'a')]), 'INVALID_ARGUMENT').message).toContain('edges[1]');
      expectLoomError(() => db.addEdgeWeights([w(1), { ...w(1), id: 'new', to: 'ghost' }]), 'NOT_FOUND');
      expectLoomError(() => db.addEdgeWeights([{ type: 'CO', from: 'a', to: 'b' } as never]), 'INVALID_ARGUMENT');
      expect(db.getEdge('ab')?.weight).toBe(2);
      expect(db.stats()).toEqual(before);
      const adb = await freshAsync();
      await adb.insertNodesBatch([{ id: 'a', type: 'T' }, { id: 'b', type: 'T' }]);
      await adb.addEdgeWeights([w(1), w(1)]);
      expect((await adb.getEdge('ab'))?.weight).toBe(2);
    });

    it('refuses a counter addition past Number.MAX_VALUE, naming the edge, writing nothing', () => {
      const db = fresh();
      db.insertNodesBatch([{ id: 'a', type: 'T' }, { id: 'b', type: 'T' }]);
      db.insertEdge({ id: 'plain', type: 'CO', from: 'a', to: 'b', weight: Number.MAX_VALUE });
      db.addEdgeWeights([{ id: 'ctr', type: 'CO', from: 'b', to: 'a', weight: Number.MAX_VALUE }]);
      for (const [id, from, to] of [['plain', 'a', 'b'], ['ctr', 'b', 'a']] as const) {
        const before = db.stats();
        const err = expectLoomError(
          () => db.addEdgeWeights([{ id: 'other', type: 'CO', from: 'a', to: 'a', weight: 1 }, { id, type: 'CO', from, to, weight: Number.MAX_VALUE }]),
          'INVALID_ARGUMENT',
        );
        expect(err.message).toContain(`edge "${id}"`);
        expect(db.getEdge(id)?.weight).toBe(Number.MAX_VALUE);
        expect(db.getEdge('other')).toBeNull();
        expect(db.stats()).toEqual(before);
      }
    });

    it('deletes nodes and edges in bulk by ids, type and where', () => {
      const db = withSpace(1, 'l2');
      smallGraph(db);
      db.insertEmbedding('b', [1]);
      expect(db.deleteNodes({ type: 'Step', where: { rank: { gte: 2, lt: 4 } } })).toBe(2); // b, c
      expect(db.getNode('b')).toBeNull();
      expect(db.getEmbedding('b')).toBeNull();
      expect(sorted([...db.iterateEdges()].map((e) => e.id))).toEqual(['da']);
      expect(db.deleteNodes(['a', 'ghost'])).toBe(1);
      expect(db.stats()).toMatchObject({ nodes: 2, edges: 0 });
      smallGraphEdges(db);
      expect(db.deleteEdges({ type: 'R', from: 'd' })).toBe(1);
      expect(db.deleteEdges({ type: 'R', to: 'd' })).toBe(1);
      expect(db.deleteEdges(['other', 'nope'])).toBe(1);
      expect(db.stats().edges).toBe(0);
      expectLoomError(() => db.deleteNodes({}), 'INVALID_ARGUMENT');
    });

    function smallGraphEdges(db: EmbeddedDB) {
      db.insertEdgesBatch([
        { id: 'de', type: 'R', from: 'd', to: 'e' },
        { id: 'ed', type: 'R', from: 'e', to: 'd' },
        { id: 'other', type: 'S', from: 'e', to: 'd' },
      ]);
    }

    it('pages nodes in insertion or id order with cursors that survive writes', () => {
      const db = fresh();
      const ids = ['n5', 'n3', 'n9', 'n1', 'n7', 'n2', 'n8', 'n4', 'n6', 'n0'];
      db.insertNodesBatch(ids.map((id, i) => ({ id, type: i % 2 ? 'Odd' : 'Even', properties: { i } })));
      const walk = (options: Omit<Parameters<EmbeddedDB['listNodes']>[0], 'cursor'>) => {
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = db.listNodes({ ...options, cursor });
          expect(page.items.length).toBeLessThanOrEqual(options.limit);
          seen.push(...page.items.map((n) => n.id));
          cursor = page.nextCursor;
        } while (cursor);
        return seen;
      };
      expect(walk({ limit: 3 })).toEqual(ids);
      expect(walk({ limit: 4, direction: 'desc' })).toEqual([...ids].reverse());
      expect(walk({ limit: 3, orderBy: 'id' })).toEqual([...ids].sort());
      expect(walk({ limit: 2, type: 'Odd', where: { i: { gt: 2 } } })).toEqual(['n1', 'n2', 'n4', 'n0']);
      expect([...db.iterateNodes({ type: 'Even', orderBy: 'id', direction: 'desc' })].map((n) => n.id)).toEqual(['n9', 'n8', 'n7', 'n6', 'n5']);

      const first = db.listNodes({ limit: 3 });
      db.deleteNode('n5');
      db.insertNode({ id: 'late', type: 'Even' });
      const rest = db.listNodes({ limit: 100, cursor: first.nextCursor });
      expect([...first.items, ...rest.items].map((n) => n.id)).toEqual([...ids, 'late']);
      expectLoomError(() => db.listNodes({ limit: 3, orderBy: 'id', cursor: first.nextCursor }), 'INVALID_ARGUMENT');
      expectLoomError(() => db.listNodes({ limit: 3, cursor: 'garbage' }), 'INVALID_ARGUMENT');
      expectLoomError(() => db.listNodes({ limit: 0 }), 'INVALID_ARGUMENT');
    });

    it('pages and iterates edges in insertion order', () => {
      const db = fresh();
      smallGraph(db);
      expect([...db.iterateEdges()].map((e) => e.id)).toEqual(['ab', 'bc', 'cd', 'ac', 'da']);
      expect([...db.iterateEdges({ type: 'NEXT', direction: 'desc' })].map((e) => e.id)).toEqual(['ac', 'cd', 'bc', 'ab']);
      const page = db.listEdges({ limit: 2 });
      expect(page.items.map((e) => e.id)).toEqual(['ab', 'bc']);
      expect(db.listEdges({ limit: 10, cursor: page.nextCursor }).items.map((e) => e.id)).toEqual(['cd', 'ac', 'da']);
    });

    it('keeps property indexes current through every write and lists them in stats', () => {
      const db = fresh();
      db.insertNodesBatch([
        { id: 'a', type: 'Message', properties: { role: 'user', n: 1 } },
        { id: 'b', type: 'Message', properties: { role: 'assistant', n: 2 } },
        { id: 'c', type: 'Message', properties: { role: ['odd'], n: 3 } },
        { id: 'd', type: 'Other', properties: { role: 'user' } },
      ]);
      expect(db.createIndex({ type: 'Message', property: 'role' })).toBe(true);
      expect(db.createIndex({ type: 'Message', property: 'role' })).toBe(false);
      const users = () => [...db.iterateNodes({ type: 'Message', where: { role: 'user' } })].map((n) => n.id);
      expect(users()).toEqual(['a']);
      db.insertNode({ id: 'e', type: 'Message', properties: { role: 'user' } });
      db.updateNode('a', { properties: { role: 'assistant' } });
      db.updateNode('b', { properties: { role: 'user' } });
      db.deleteNode('e');
      expect(users()).toEqual(['b']);
      expect(db.listNodes({ type: 'Message', where: { role: { in: ['user', 'assistant'] } }, orderBy: 'id', limit: 10 }).items.map((n) => n.id)).toEqual(['a', 'b']);
      expect(db.listNodes({ type: ['Message', 'Other'], where: { role: 'user' }, limit: 10 }).items.map((n) => n.id)).toEqual(['b', 'd']);
      if (db.capabilities.transactions) {
        expect(() =>
          db.transaction((tx) => {
            tx.updateNode('b', { properties: { role: 'gone' } });
            expect([...tx.iterateNodes({ type: 'Message', where: { role: 'user' } })]).toEqual([]);
            throw new Error('undo');
          }),
        ).toThrow('undo');
        expect(users()).toEqual(['b']);
      }
      expect(db.deleteNodes({ type: 'Message', where: { role: 'assistant' } })).toBe(1);
      expect(db.stats().indexes).toEqual([
        { name: 'nodeType', kind: 'type', entries: 3 },
        { name: 'Message.role', kind: 'property', type: 'Message', property: 'role', entries: 1 },
      ]);
      expect(db.dropIndex({ type: 'Message', property: 'role' })).toBe(true);
      expect(db.dropIndex({ type: 'Message', property: 'role' })).toBe(false);
      expect(users()).toEqual(['b']);
      expect(db.stats().indexes).toHaveLength(1);
    });

    describe('transactions', () => {
      const transactional = () => {
        const db = fresh();
        if (!db.capabilities.transactions) {
          expectLoomError(() => db.transaction(() => undefined), 'UNSUPPORTED');
          return null;
        }
        return db;
      };

      it('commit together, see their own writes, and stay invisible to others until commit', () => {
        const db = transactional();
        if (!db) return;
        db.insertNode({ id: 'before', type: 'T' });
        const result = db.transaction((tx) => {
          tx.insertNode({ id: 'a', type: 'T', properties: { n: 1 } });
          tx.insertNode({ id: 'b', type: 'T' });
          tx.insertEdge({ id: 'ab', type: 'R', from: 'a', to: 'b' });
          tx.updateNode('a', { properties: { n: 2 } });
          expect(tx.getNode('a')?.properties).toEqual({ n: 2 });
          expect(tx.neighbors('a', { direction: 'out' }).map((n) => n.node.id)).toEqual(['b']);
          expect([...tx.iterateNodes()].map((n) => n.id)).toEqual(['before', 'a', 'b']);
          expect(tx.stats().nodes).toBe(3);
          expect(db.getNode('a')).toBeNull();
          expect(db.stats().nodes).toBe(1);
          return 'done';
        });
        expect(result).toBe('done');
        expect(db.getNode('a')?.properties).toEqual({ n: 2 });
        expect(db.getEdge('ab')).not.toBeNull();
      });

      it('take their own durability, and reject bad transaction options', async () => {
        const db = transactional();
        if (!db) return;
        db.transaction((tx) => tx.insertNode({ id: 'relaxed', type: 'T' }), { durability: 'relaxed' });
        db.transaction((tx) => tx.insertNode({ id: 'immediate', type: 'T' }), { durability: 'immediate' });
        expect(db.stats().nodes).toBe(2);
        expectLoomError(() => db.transaction(() => undefined, { durability: 'eventually' as never }), 'INVALID_ARGUMENT');
        expectLoomError(() => db.transaction(() => undefined, { signal: 1 } as never), 'INVALID_ARGUMENT');
        const adb = await freshAsync();
        await adb.transaction(async (tx) => tx.insertNode({ id: 'a', type: 'T' }), { durability: 'relaxed' });
        expect(await adb.getNode('a')).not.toBeNull();
        await expect(adb.transaction(async () => undefined, { durability: 'x' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      });

      it('roll back everything on a throw and rethrow the very same error', () => {
        const db = transactional();
        if (!db) return;
        db.insertNode({ id: 'keep', type: 'T' });
        const before = db.stats();
        const mine = new Error('changed my mind');
        let caught: unknown;
        try {
          db.transaction((tx) => {
            tx.insertNode({ id: 'x', type: 'T' });
            tx.deleteNode('keep');
            throw mine;
          });
        } catch (e) {
          caught = e;
        }
        expect(caught).toBe(mine);
        expect(db.stats()).toEqual(before);
        expect(db.getNode('keep')).not.toBeNull();
        expect(db.getNode('x')).toBeNull();
      });

      it('undo a failed call inside, and go on', () => {
        const db = transactional();
        if (!db) return;
        db.insertNode({ id: 'taken', type: 'T' });
        db.transaction((tx) => {
          expectLoomError(() => tx.insertNodesBatch([{ id: 'fresh', type: 'T' }, { id: 'taken', type: 'T' }]), 'ALREADY_EXISTS');
          expect(tx.getNode('fresh')).toBeNull();
          expectLoomError(() => tx.insertEdge({ type: 'R', from: 'taken', to: 'ghost' }), 'NOT_FOUND');
          tx.insertNode({ id: 'later', type: 'T' });
        });
        expect(db.stats().nodes).toBe(2);
        expect(db.stats().edges).toBe(0);
      });

      it('nest as savepoints: an inner throw undoes only the inner writes', () => {
        const db = transactional();
        if (!db) return;
        db.transaction((tx) => {
          tx.insertNode({ id: 'outer', type: 'T' });
          expect(() =>
            tx.transaction((inner) => {
              inner.insertNode({ id: 'inner', type: 'T' });
              throw new Error('inner failed');
            }),
          ).toThrow('inner failed');
          expect(tx.transaction((inner) => inner.insertNode({ id: 'kept', type: 'T' }).id)).toBe('kept');
        });
        expect(['outer', 'inner', 'kept'].map((id) => db.getNode(id) !== null)).toEqual([true, false, true]);
      });

      it('make writes on the database itself LOCKED while open, and refuse a used-up tx', () => {
        const db = transactional();
        if (!db) return;
        let leaked: Parameters<Parameters<EmbeddedDB['transaction']>[0]>[0] | undefined;
        db.transaction((tx) => {
          leaked = tx;
          expectLoomError(() => db.insertNode({ type: 'T' }), 'LOCKED');
          expectLoomError(() => db.transaction(() => undefined), 'LOCKED');
        });
        expectLoomError(() => leaked?.insertNode({ type: 'T' }), 'INVALID_ARGUMENT');
        expectLoomError(() => leaked?.getNode('x'), 'INVALID_ARGUMENT');
        db.insertNode({ id: 'after', type: 'T' });
        expect(db.stats().nodes).toBe(1);
      });

      it('refuse an async function in a sync transaction and write nothing', () => {
        const db = transactional();
        if (!db) return;
        expectLoomError(
          () =>
            db.transaction(async (tx) => {
              tx.insertNode({ id: 'x', type: 'T' });
            }),
          'INVALID_ARGUMENT',
        );
        expect(db.getNode('x')).toBeNull();
      });

      it('run async: commit on resolve, roll back on reject or abort, and queue outside writes', async () => {
        const adb = await freshAsync();
        if (!adb.capabilities.transactions) return;
        const order: string[] = [];
        const outside = (async () => {
          await new Promise((r) => setTimeout(r, 1));
          await adb.insertNode({ id: 'outside', type: 'T' });
          order.push('outside');
        })();
        const id = await adb.transaction(async (tx) => {
          const a = await tx.insertNode({ id: 'a', type: 'T' });
          await new Promise((r) => setTimeout(r, 20));
          expect(await adb.getNode('a')).toBeNull();
          expect((await tx.getNode('a'))?.id).toBe('a');
          await tx.transaction(async (inner) => {
            await inner.insertNode({ id: 'b', type: 'T' });
          });
          const seen = [];
          for await (const n of tx.streamNodes()) seen.push(n.id);
          expect(seen).toEqual(['a', 'b']);
          order.push('tx');
          return a.id;
        });
        await outside;
        expect(id).toBe('a');
        expect(order).toEqual(['tx', 'outside']);
        const mine = new Error('no');
        await expect(adb.transaction(async (tx) => {
          await tx.insertNode({ id: 'rejected', type: 'T' });
          throw mine;
        })).rejects.toBe(mine);
        const controller = new AbortController();
        const stop = new Error('stop');
        await expect(
          adb.transaction(
            async (tx) => {
              await tx.insertNode({ id: 'aborted', type: 'T' });
              controller.abort(stop);
              await tx.insertNode({ id: 'after-abort', type: 'T' });
            },
            { signal: controller.signal },
          ),
        ).rejects.toMatchObject({ code: 'ABORTED', message: 'the operation was aborted: stop', cause: stop });
        expect((await adb.stats()).nodes).toBe(3);
        expect(await adb.getNode('rejected')).toBeNull();
        expect(await adb.getNode('aborted')).toBeNull();
      });

      it('run async batches in chunks with progress, and write nothing when aborted midway', async () => {
        const adb = await freshAsync();
        if (!adb.capabilities.transactions) return;
        const nodes = Array.from({ length: 5000 }, (_, i) => ({ id: `n${i}`, type: 'T' }));
        const progress: number[] = [];
        const ids = await adb.insertNodesBatch(nodes, { onProgress: (p) => progress.push(p.done) });
        expect(ids).toEqual(nodes.map((n) => n.id));
        expect(progress.at(-1)).toBe(5000);
        expect(progress.length).toBeGreaterThan(1);
        const controller = new AbortController();
        const edges = Array.from({ length: 5000 }, (_, i) => ({ type: 'R', from: `n${i}`, to: `n${(i + 1) % 5000}` }));
        const aborting = adb.insertEdgesBatch(edges, {
          signal: controller.signal,
          onProgress: ({ done }) => {
            if (done >= 2000) controller.abort(new Error('enough'));
          },
        });
        const err = await aborting.catch((e: unknown) => e);
        expect(LoomError.is(err) && err.code, String(err)).toBe('ABORTED');
        expect((err as Error).message).toContain('enough');
        expect((await adb.stats()).edges).toBe(0);
        await expect(adb.insertNodesBatch(nodes.slice(0, 1), { onProgress: 'no' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      });
    });

    describe('durable queues', () => {
      const queued = () => {
        const db = fresh();
        if (!db.capabilities.durableQueue) {
          expectLoomError(() => db.queue('q').stats(), 'UNSUPPORTED');
          return null;
        }
        return db;
      };
      const items = (...ids: string[]) => ids.map((id) => ({ id, payload: `payload of ${id}` }));
      const lease = (db: EmbeddedDB, holder: string, max = 100, leaseMs = 60_000) => db.queue('q').lease({ holder, max, leaseMs });

      it('store each id once, ever, and hand items out oldest first', () => {
        const db = queued();
        if (!db) return;
        const q = db.queue('q');
        expect(q.push(items('a', 'b', 'a'))).toEqual([true, true, false]);
        const taken = lease(db, 'w1');
        expect(taken.map((i) => [i.id, i.payload, i.attempts])).toEqual([['a', 'payload of a', 1], ['b', 'payload of b', 1]]);
        expect(taken[0]!.seq).toBeLessThan(taken[1]!.seq);
        q.ack('w1', taken.map((i) => i.seq));
        expect(q.push(items('a', 'c'))).toEqual([false, true]);
        expect(q.stats()).toEqual({ pending: 1, done: 2, dead: 0 });
        expect(db.queue('other').stats()).toEqual({ pending: 0, done: 0, dead: 0 });
      });

      it('lease to one holder at a time; only the holder acks, all or nothing', () => {
        const db = queued();
        if (!db) return;
        const q = db.queue('q');
        q.push(items('a', 'b', 'c'));
        const w1 = lease(db, 'w1', 2);
        const w2 = lease(db, 'w2');
        expect(w2.map((i) => i.id)).toEqual(['c']);
        expect(lease(db, 'w3')).toEqual([]);
        const conflict = expectLoomError(() => q.ack('w1', [w1[0]!.seq, w2[0]!.seq]), 'CONFLICT');
        expect(conflict.message).toContain('w1');
        expect(q.stats().pending).toBe(3);
        expectLoomError(() => q.ack('w1', [w1[0]!.seq, w1[0]!.seq]), 'INVALID_ARGUMENT');
        q.ack('w1', w1.map((i) => i.seq));
        expect(expectLoomError(() => q.ack('w1', [w1[0]!.seq]), 'CONFLICT').message).toContain(`item #${w1[0]!.seq} is no longer pending (it was acknowledged`);
        // An item the queue never had is NOT_FOUND, not a conflict with some other consumer.
        expect(expectLoomError(() => q.ack('w1', [7]), 'NOT_FOUND').message).toBe('queue "q" has no item #7; seqs come from the items a lease returns');
        expect(q.stats()).toEqual({ pending: 1, done: 2, dead: 0 });
        q.push(items('d'));
        const unleased = w2[0]!.seq + 1;
        expect(expectLoomError(() => q.ack('w1', [unleased]), 'CONFLICT').message).toContain('pending but not leased');
      });

      it('let another holder take over an expired lease, after which the old holder cannot ack', async () => {
        const db = queued();
        if (!db) return;
        const q = db.queue('q');
        q.push(items('a'));
        const [first] = lease(db, 'dead-worker', 1, 300);
        expect(lease(db, 'w2')).toEqual([]);
        await new Promise((r) => setTimeout(r, 350));
        const [again] = lease(db, 'w2');
        expect(again).toMatchObject({ seq: first!.seq, id: 'a', attempts: 2 });
        expectLoomError(() => q.ack('dead-worker', [first!.seq]), 'CONFLICT');
        q.ack('w2', [again!.seq]);
      });

      it('release items for a later attempt and dead-letter them with their error', async () => {
        const db = queued();
        if (!db) return;
        const q = db.queue('q');
        q.push(items('a', 'b'));
        const [a, b] = lease(db, 'w1');
        q.release('w1', [a!.seq], { delayMs: 300 });
        q.release('w2', [b!.seq]);
        expect(lease(db, 'w1')).toEqual([]);
        await new Promise((r) => setTimeout(r, 350));
        expect(lease(db, 'w1').map((i) => [i.id, i.attempts])).toEqual([['a', 2]]);
        expectLoomError(() => q.deadLetter('w2', b!.seq, 'x'), 'CONFLICT');
        q.deadLetter('w1', b!.seq, 'content: bad input');
        expect(q.deadLetters()).toEqual([expect.objectContaining({ seq: b!.seq, id: 'b', payload: 'payload of b', attempts: 1, error: 'content: bad input' })]);
        expect(q.stats()).toEqual({ pending: 1, done: 0, dead: 1 });
        expect(q.push(items('b'))).toEqual([false]);
      });

      it('ack inside a transaction together with its writes, or not at all', () => {
        const db = queued();
        if (!db?.capabilities.transactions) return;
        db.queue('q').push(items('a', 'b'));
        const [a, b] = lease(db, 'w1');
        expect(() =>
          db.transaction((tx) => {
            tx.insertNode({ id: 'from-a', type: 'T' });
            tx.queue('q').ack('w1', [a!.seq]);
            expect(tx.queue('q').stats().pending).toBe(1);
            throw new Error('crash before commit');
          }),
        ).toThrow('crash before commit');
        expect(db.getNode('from-a')).toBeNull();
        expect(db.queue('q').stats().pending).toBe(2);
        db.transaction((tx) => {
          tx.insertNode({ id: 'from-b', type: 'T' });
          tx.queue('q').ack('w1', [b!.seq]);
        });
        expect(db.getNode('from-b')).not.toBeNull();
        expect(db.queue('q').stats()).toEqual({ pending: 1, done: 1, dead: 0 });
      });

      it('work on an async handle, acknowledging inside an async transaction', async () => {
        const adb = await freshAsync();
        if (!adb.capabilities.durableQueue || !adb.capabilities.transactions) return;
        await adb.createSpace('small', { dimensions: 2, metric: 'l2', index: 'flat' });
        expect((await adb.stats()).spaces.map((s) => s.name)).toEqual(['small']);
        expect(adb.queue('q').push(items('a'))).toEqual([true]);
        const [a] = adb.queue('q').lease({ holder: 'w1', max: 5, leaseMs: 60_000 });
        await adb.transaction(async (tx) => {
          await tx.insertNode({ id: 'from-a', type: 'T' });
          expectLoomError(() => adb.queue('q').ack('w1', [a!.seq]), 'LOCKED');
          (await tx.queue('q')).ack('w1', [a!.seq]);
        });
        expect(adb.queue('q').stats()).toEqual({ pending: 0, done: 1, dead: 0 });
        expect(await adb.getNode('from-a')).not.toBeNull();
      });

      it('reject bad input with INVALID_ARGUMENT and store nothing', () => {
        const db = queued();
        if (!db) return;
        const q = db.queue('q');
        expectLoomError(() => db.queue(''), 'INVALID_ARGUMENT');
        expectLoomError(() => db.queue('a\0b'), 'INVALID_ARGUMENT');
        expectLoomError(() => db.queue('x'.repeat(65)), 'INVALID_ARGUMENT');
        expect(expectLoomError(() => q.push([{ id: 'ok', payload: '' }, { id: '', payload: '' }]), 'INVALID_ARGUMENT').message).toContain('items[1].id');
        expectLoomError(() => q.push([{ id: 'a', payload: 7 as never }]), 'INVALID_ARGUMENT');
        expectLoomError(() => q.push('nope' as never), 'INVALID_ARGUMENT');
        expect(q.stats().pending).toBe(0);
        expectLoomError(() => q.lease({ holder: '', max: 1, leaseMs: 1 }), 'INVALID_ARGUMENT');
        expectLoomError(() => q.lease({ holder: 'w', max: 0, leaseMs: 1 }), 'INVALID_ARGUMENT');
        expectLoomError(() => q.lease({ holder: 'w', max: 1, leaseMs: Number.NaN }), 'INVALID_ARGUMENT');
        expectLoomError(() => q.ack('w', [1.5]), 'INVALID_ARGUMENT');
        expectLoomError(() => q.ack('w', 'x' as never), 'INVALID_ARGUMENT');
        expectLoomError(() => q.release('w', [1], { delayMs: -1 }), 'INVALID_ARGUMENT');
        expectLoomError(() => q.deadLetter('w', 1, 5 as never), 'INVALID_ARGUMENT');
      });
    });

    describe('write batches', () => {
      const batching = () => fresh({ spaces: { default: { dimensions: 2, metric: 'cosine', index: 'flat' } } });
      /** A backend without `capabilities.writeBatch` applies batches through its record calls, with no conditions. */
      const conditional = (db: EmbeddedDB) => {
        if (db.capabilities.writeBatch) return true;
        expectLoomError(() => db.changeSequence(), 'UNSUPPORTED');
        expectLoomError(() => db.writeBatch({}, { ifChangeSequence: 0 }), 'UNSUPPORTED');
        expectLoomError(() => db.writeBatch({}, { tag: 't' }), 'UNSUPPORTED');
        return false;
      };

      it('write every part and the queue steps in one commit', () => {
        const db = batching();
        db.insertNodesBatch([{ id: 'old', type: 'T' }, { id: 'x', type: 'T' }]);
        db.insertEdge({ id: 'gone', type: 'L', from: 'old', to: 'x' });
        db.queue('q').push([{ id: 'e1', payload: 'one' }]);
        const [e1] = db.queue('q').lease({ holder: 'w', max: 1, leaseMs: 60_000 });
        const result = db.writeBatch({
          deleteEdges: [{ type: 'L', from: 'old' }],
          insertNodes: [{ id: 'a', type: 'T', properties: { n: 1 } }, { type: 'T' }],
          updateNodes: [{ id: 'a', properties: { n: 2, extra: true } }],
          insertEdges: [{ type: 'L', from: 'a', to: 'x' }],
          addEdgeWeights: [{ id: 'c', type: 'C', from: 'x', to: 'a', weight: 3 }],
          insertEmbeddings: [{ nodeId: 'a', vector: [1, 0] }],
          queue: { name: 'q', push: [{ id: 'e2', payload: 'two' }, { id: 'e1', payload: 'again' }], ack: { holder: 'w', seqs: [e1!.seq] }, lease: { holder: 'w', max: 5, leaseMs: 60_000 } },
        });
        expect(result.nodeIds[0]).toBe('a');
        expect(result.nodeIds).toHaveLength(2);
        expect(db.getNode(result.nodeIds[1]!)).not.toBeNull();
        expect(db.getEdge(result.edgeIds[0]!)).toMatchObject({ from: 'a', to: 'x' });
        expect(result.pushed).toEqual([true, false]);
        expect(result.leased.map((i) => i.id)).toEqual(['e2']);
        if (conditional(db)) expect(result.changeSequence).toBe(db.changeSequence());
        expect(db.getNode('a')!.properties).toEqual({ n: 2, extra: true });
        expect(db.getEdge('gone')).toBeNull();
        expect(db.getEdge('c')!.weight).toBe(3);
        expect(Array.from(db.getEmbedding('a')!)).toEqual([1, 0]);
        expect(db.queue('q').stats()).toEqual({ pending: 1, done: 1, dead: 0 });
      });

      it('refuse with CONFLICT, writing nothing, when the graph changed since the sequence given', () => {
        const db = batching();
        if (!conditional(db)) return;
        const seen = db.changeSequence();
        db.queue('q').push([{ id: 'e1', payload: '' }]);
        expect(db.changeSequence()).toBe(seen);
        const batch = { insertNodes: [{ id: 'planned', type: 'T' }], queue: { name: 'q', push: [{ id: 'e2', payload: '' }] } };
        expect(db.writeBatch(batch, { ifChangeSequence: seen }).changeSequence).toBeGreaterThan(seen);
        expect(expectLoomError(() => db.writeBatch({ insertNodes: [{ id: 'late', type: 'T' }] }, { ifChangeSequence: seen }), 'CONFLICT').message).toContain(String(seen));
        expect(db.getNode('late')).toBeNull();
        db.updateNode('planned', { properties: { touched: 1 } });
        expectLoomError(() => db.writeBatch({ queue: { name: 'q', push: [{ id: 'e3', payload: '' }] } }, { ifChangeSequence: seen + 1 }), 'CONFLICT');
        expect(db.queue('q').stats().pending).toBe(2);
        // A sequence the graph never reached: the message blames the number, not a change.
        const now = db.changeSequence();
        const ahead = expectLoomError(() => db.writeBatch({ insertNodes: [{ id: 'early', type: 'T' }] }, { ifChangeSequence: now + 5 }), 'CONFLICT').message;
        expect(ahead).toContain(`change sequence ${now + 5} is ahead of the graph, which is at ${now}`);
        expect(ahead).not.toContain('changed');
        expect(db.getNode('early')).toBeNull();
      });

      it('follow a tagged batch only while the last change to the graph is that batch', () => {
        const db = batching();
        if (!conditional(db)) return;
        db.writeBatch({ insertNodes: [{ id: 'a', type: 'T' }] }, { tag: 'w/1' });
        db.queue('q').push([{ id: 'e1', payload: '' }]);
        db.writeBatch({ insertNodes: [{ id: 'b', type: 'T' }] }, { ifAfter: 'w/1', tag: 'w/2' });
        expectLoomError(() => db.writeBatch({ insertNodes: [{ id: 'c', type: 'T' }] }, { ifAfter: 'w/1' }), 'CONFLICT');
        db.updateNode('b', { properties: { x: 1 } });
        expect(expectLoomError(() => db.writeBatch({ insertNodes: [{ id: 'c', type: 'T' }] }, { ifAfter: 'w/2' }), 'CONFLICT').message).toContain('w/2');
        expectLoomError(() => db.writeBatch({ insertNodes: [{ id: 'c', type: 'T' }] }, { ifAfter: 'never' }), 'CONFLICT');
        expect(db.getNode('c')).toBeNull();
        expectLoomError(() => db.writeBatch({}, { tag: '' }), 'INVALID_ARGUMENT');
      });

      it('write nothing when a part fails, naming the part', () => {
        const db = batching();
        db.queue('q').push([{ id: 'e1', payload: '' }]);
        const [e1] = db.queue('q').lease({ holder: 'w', max: 1, leaseMs: 60_000 });
        const failing = { insertNodes: [{ id: 'a', type: 'T' }], insertEdges: [{ type: 'L', from: 'a', to: 'missing' }], queue: { name: 'q', ack: { holder: 'w', seqs: [e1!.seq] } } };
        expect(expectLoomError(() => db.writeBatch(failing), 'NOT_FOUND').message).toContain('insertEdges');
        expect(db.getNode('a')).toBeNull();
        expect(db.queue('q').stats().pending).toBe(1);
        expect(expectLoomError(() => db.writeBatch({ insertNodes: [{ id: '', type: 'T' }] }), 'INVALID_ARGUMENT').message).toContain('batch.insertNodes[0].id');
        expect(expectLoomError(() => db.writeBatch({ deleteEdges: [{ type: '' }] }), 'INVALID_ARGUMENT').message).toContain('batch.deleteEdges[0]');
        expect(expectLoomError(() => db.writeBatch({ addEdgeWeights: [{ type: 'C', from: 'a', to: 'b' } as never] }), 'INVALID_ARGUMENT').message).toContain('batch.addEdgeWeights[0].id');
        expect(expectLoomError(() => db.writeBatch({ nodes: [] } as never), 'INVALID_ARGUMENT').message).toContain('batch.nodes');
        expectLoomError(() => db.writeBatch({}, { ifChangeSequence: -1 }), 'INVALID_ARGUMENT');
        expectLoomError(() => db.writeBatch({}, { durability: 'eventually' as never }), 'INVALID_ARGUMENT');
        expect(db.stats().nodes).toBe(0);
      });

      it('move the change sequence with graph writes only, not with failed ones or writes of nothing', () => {
        const db = batching();
        if (!conditional(db)) return;
        db.insertNode({ id: 'a', type: 'T' });
        const seen = db.changeSequence();
        expectLoomError(() => db.insertNode({ id: 'a', type: 'T' }), 'ALREADY_EXISTS');
        expectLoomError(() => db.updateNode('missing', { properties: { x: 1 } }), 'NOT_FOUND');
        expect(db.deleteNode('missing')).toBe(false);
        expect(db.deleteEdge('missing')).toBe(false);
        expect(db.deleteEdges({ type: 'NONE' })).toBe(0);
        db.queue('q').push([{ id: 'e', payload: '' }]);
        expect(db.changeSequence()).toBe(seen);
        db.updateNode('a', { properties: { x: 1 } });
        expect(db.changeSequence()).toBeGreaterThan(seen);
      });

      it('join an open transaction as one savepoint', () => {
        const db = batching();
        if (!db.capabilities.transactions) return;
        db.transaction((tx) => {
          tx.insertNode({ id: 'a', type: 'T' });
          expectLoomError(() => tx.writeBatch({ insertNodes: [{ id: 'b', type: 'T' }], insertEdges: [{ type: 'L', from: 'b', to: 'missing' }] }), 'NOT_FOUND');
          tx.writeBatch({ insertNodes: [{ id: 'c', type: 'T' }], insertEdges: [{ type: 'L', from: 'a', to: 'c' }] });
        });
        expect(db.getNode('b')).toBeNull();
        expect(db.neighbors('a', { direction: 'out' }).map((n) => n.node.id)).toEqual(['c']);
      });

      it('commit off the JavaScript thread with writeBatchAsync', async () => {
        const db = batching();
        if (!conditional(db)) {
          expect((await db.writeBatchAsync({ insertNodes: [{ id: 'a', type: 'T' }] })).nodeIds).toEqual(['a']);
          return;
        }
        const seen = db.changeSequence();
        const pending = db.writeBatchAsync({ insertNodes: Array.from({ length: 500 }, (_, i) => ({ id: `n${i}`, type: 'T' })) }, { ifChangeSequence: seen, durability: 'relaxed' });
        const result = await pending;
        expect(result.nodeIds).toHaveLength(500);
        expect(db.stats().nodes).toBe(500);
        await expect(db.writeBatchAsync({ insertNodes: [{ id: 'late', type: 'T' }] }, { ifChangeSequence: seen })).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(db.writeBatchAsync({ insertNodes: [{ id: 'n1', type: 'T' }] })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
        const adb = await freshAsync();
        if (!adb.capabilities.writeBatch) return;
        const first = await adb.writeBatch({ insertNodes: [{ id: 'a', type: 'T' }] });
        expect(first.changeSequence).toBe(await adb.changeSequence());
      });
    });

    describe('reembed', () => {
      /** 2-d vectors `[2i, 1]` for texts `t<i>`: another embedder than the space's `[i, 0, 0]`. */
      const doubling = (id = 'test:doubling') => ({
        id,
        dimensions: 2,
        calls: 0,
        async embed(texts: readonly string[]) {
          this.calls++;
          return texts.map((t) => new Float32Array([2 * Number(t.slice(1)), 1]));
        },
      });
      const ids = (hits: Array<{ id: string }>) => hits.map((h) => h.id);

      /** `n0`… with content `t<i>` and the old vector `[i, 0, 0]`. */
      function filled(count: number): EmbeddedDB {
        const db = fresh({ spaces: { default: { dimensions: 3, metric: 'l2', embedder: 'old' } } });
        db.insertNodesBatch(Array.from({ length: count }, (_, i) => ({ id: `n${i}`, type: 'Message', properties: { content: `t${i}` } })));
        db.insertEmbeddingsBatch(Array.from({ length: count }, (_, i) => ({ nodeId: `n${i}`, vector: [i, 0, 0] })));
        return db;
      }

      it('builds the new vectors beside the old, which searches use until one switch; resumes where it stopped; then does nothing', async () => {
        const db = filled(30);
        const embedder = doubling();
        const stop = new AbortController();
        const seen: Array<{ done: number; total: number }> = [];
        await expect(
          db.reembed('default', {
            embedder,
            batchSize: 5,
            signal: stop.signal,
            onProgress: (p) => {
              seen.push(p);
              // Mid-way: searches still answer from the old vectors, and the space says so.
              expect(ids(db.searchVectors([7, 0, 0], { k: 1 }))).toEqual(['n7']);
              expect(db.stats().spaces.find((s) => s.name === 'default')).toMatchObject({ dimensions: 3, embedder: 'old', embeddings: 30 });
              if (p.done >= 10) stop.abort(new Error('stop'));
            },
          }),
        ).rejects.toMatchObject({ code: 'ABORTED' });
        expect(seen).toEqual([{ done: 0, total: 30 }, { done: 5, total: 30 }, { done: 10, total: 30 }]);
        expect(db.stats().spaces.map((s) => [s.name, s.embeddings])).toEqual([['default', 30], ['default__reembed', 10]]);
        // Written to the live space behind the first pass: re-embedded too.
        db.insertNode({ id: 'n30', type: 'Message', properties: { content: 't30' } });
        db.insertEmbedding('n30', [30, 0, 0]);
        db.insertEmbedding('n1', [1, 0, 0]);

        const result = await db.reembed('default', { embedder, batchSize: 5 });
        expect(result).toEqual({ space: 'default', embedder: 'test:doubling', dimensions: 2, embedded: 21, vectors: 31 });
        expect(db.stats().spaces).toEqual([expect.objectContaining({ name: 'default', dimensions: 2, metric: 'l2', embedder: 'test:doubling', embeddings: 31 })]);
        for (let i = 0; i <= 30; i++) expect([...(db.getEmbedding(`n${i}`) ?? [])]).toEqual([2 * i, 1]);
        expect(ids(db.searchVectors([14, 1], { k: 2 }))).toEqual(['n7', expect.stringMatching(/^n[68]$/)]);
        expectLoomError(() => db.searchVectors([7, 0, 0]), 'DIMENSION_MISMATCH');

        const calls = embedder.calls;
        expect(await db.reembed('default', { embedder })).toMatchObject({ embedded: 0, vectors: 31 });
        expect(embedder.calls).toBe(calls);
      });

      it('starts over when the vectors built so far are of another embedder', async () => {
        const db = filled(6);
        const stop = new AbortController();
        await expect(db.reembed('default', { embedder: doubling('test:first'), batchSize: 2, signal: stop.signal, onProgress: (p) => p.done > 0 && stop.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
        const result = await db.reembed('default', { embedder: doubling('test:second'), batchSize: 2 });
        expect(result).toMatchObject({ embedder: 'test:second', embedded: 6, vectors: 6 });
        expect(db.stats().spaces.map((s) => s.name)).toEqual(['default']);
      });

      it('takes the text from options.text, and refuses bad input naming it with the live space unchanged', async () => {
        const db = filled(4);
        db.insertNode({ id: 'bare', type: 'Message', properties: {} });
        db.insertEmbedding('bare', [9, 0, 0]);
        // The space as data: its graph's health moves with background catch-ups.
        const live = () => {
          const { graph: _graph, ...space } = db.stats().spaces.find((s) => s.name === 'default') ?? {};
          return space;
        };
        const before = live();
        await expect(db.reembed('default', { embedder: doubling() })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('"bare"') });
        await expect(db.reembed('nope', { embedder: doubling() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
        await expect(db.reembed('default', {} as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(db.reembed('default', { embedder: doubling(), batchSize: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(db.reembed('default', { embedder: { dimensions: 2, embed: async () => [] } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('id') });
        await expect(db.reembed('default', { embedder: 'no-such-embedder' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
        const short = { id: 'test:short', dimensions: 2, embed: async (texts: readonly string[]) => texts.map(() => new Float32Array(1)) };
        await expect(db.reembed('default', { embedder: short, text: () => 't0' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('test:short') });
        expect(live()).toEqual(before);
        const result = await db.reembed('default', { embedder: doubling(), text: (n) => (n.id === 'bare' ? 't9' : String(n.properties.content)) });
        expect(result).toMatchObject({ embedded: 5, vectors: 5 });
        expect([...(db.getEmbedding('bare') ?? [])]).toEqual([18, 1]);
      });

      it('runs on the async handle too', async () => {
        const adb = await freshAsync();
        await adb.ensureSpace('notes', { dimensions: 3, metric: 'l2' });
        await adb.insertNodesBatch([0, 1, 2].map((i) => ({ id: `n${i}`, type: 'Note', properties: { content: `t${i}` } })));
        await adb.insertEmbeddingsBatch([0, 1, 2].map((i) => ({ nodeId: `n${i}`, vector: [i, 0, 0], space: 'notes' })));
        expect(await adb.reembed('notes', { embedder: doubling() })).toMatchObject({ embedded: 3, vectors: 3 });
        expect(ids(await adb.searchVectors([4, 1], { k: 1, space: 'notes' }))).toEqual(['n2']);
      });
    });

    it('throws CLOSED after close, and close is idempotent', () => {
      const db = fresh();
      db.insertNode({ id: 'a', type: 'T' });
      db.close();
      db.close();
      expectLoomError(() => db.getNode('a'), 'CLOSED');
      expectLoomError(() => db.insertNode({ type: 'T' }), 'CLOSED');
      expectLoomError(() => db.stats(), 'CLOSED');
      expectLoomError(() => db.searchVectors([1]), 'CLOSED');
    });
  });
}
