import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  AsyncEmbeddedDB,
  ClosedError,
  EmbeddedDB,
  LOOM_ERROR_CODES,
  LoomError,
  NotFoundError,
  type LoomErrorCode,
} from '@loomdb/db';
import { expectLoomError } from '@loomdb/db/testing';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'loomdb-errors-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;

/** Property values that are not JSON: each must be INVALID_ARGUMENT. */
const NOT_JSON: Array<[string, unknown]> = [
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['undefined', undefined],
  ['a bigint', 10n],
  ['a function', () => 1],
  ['a symbol', Symbol('s')],
  ['a Date', new Date(0)],
  ['a Map', new Map()],
  ['a cycle', cyclic],
  ['a nested NaN', { deep: [1, { x: Number.NaN }] }],
];

const NOT_A_VECTOR: Array<[string, unknown]> = [
  ['empty', []],
  ['NaN', [1, Number.NaN, 3]],
  ['Infinity', [1, Infinity, 3]],
  ['a string element', [1, '2', 3]],
  ['a string', 'vector'],
  ['an object', { 0: 1, length: 1 }],
  ['null', null],
  ['beyond float32', [1, 1e39, 3]],
];

for (const storage of ['native', 'memory'] as const) {
  describe(`bad input on every entry point (${storage})`, () => {
    const open = () => {
      const db = EmbeddedDB.open(join(tempDir(), 'db'), { storage, spaces: { default: { dimensions: 3, metric: 'cosine' } } });
      db.insertNode({ id: 'a', type: 'T', properties: { keep: true } });
      db.insertNode({ id: 'b', type: 'T' });
      db.insertEdge({ id: 'ab', type: 'R', from: 'a', to: 'b' });
      db.insertEmbedding('a', [1, 2, 3]);
      return db;
    };

    /** Runs `fn`, expects `code`, and checks the database is unchanged. */
    function rejects(db: EmbeddedDB, fn: () => unknown, code: LoomErrorCode) {
      const before = db.stats();
      const a = db.getNode('a');
      const err = expectLoomError(fn, code);
      expect(db.stats()).toEqual(before);
      expect(db.getNode('a')).toEqual(a);
      return err;
    }

    it('reads of missing ids give null or false, not errors', () => {
      const db = open();
      expect(db.getNode('nope')).toBeNull();
      expect(db.getEdge('nope')).toBeNull();
      expect(db.getEmbedding('nope')).toBeNull();
      expect(db.getEmbedding('b')).toBeNull();
      expect(db.deleteNode('nope')).toBe(false);
      expect(db.deleteEdge('nope')).toBe(false);
      db.close();
    });

    it('insertNode', () => {
      const db = open();
      for (const bad of [null, 42, 'node', [], { type: '' }, { type: 7 }, { type: 'T', id: '' }, { type: 'T', id: 5 }, { type: 'x\0y' }]) {
        rejects(db, () => db.insertNode(bad as never), 'INVALID_ARGUMENT');
      }
      rejects(db, () => db.insertNode({ type: 'T', id: 'x'.repeat(257) }), 'INVALID_ARGUMENT');
      rejects(db, () => db.insertNode({ type: 'T', properties: [] as never }), 'INVALID_ARGUMENT');
      rejects(db, () => db.insertNode({ type: 'T', properties: 'str' as never }), 'INVALID_ARGUMENT');
      for (const [what, value] of NOT_JSON) {
        const err = rejects(db, () => db.insertNode({ type: 'T', properties: { field: value } as never }), 'INVALID_ARGUMENT');
        expect(err.message, what).toContain('properties.field');
      }
      const dup = rejects(db, () => db.insertNode({ id: 'a', type: 'T' }), 'ALREADY_EXISTS');
      expect(dup).toBeInstanceOf(AlreadyExistsError);
      expect(dup.message).toContain('"a"');
      db.close();
    });

    it('insertNodesBatch writes nothing when one item is bad', () => {
      const db = open();
      rejects(db, () => db.insertNodesBatch('x' as never), 'INVALID_ARGUMENT');
      const err = rejects(db, () => db.insertNodesBatch([{ id: 'c', type: 'T' }, { type: 'T', properties: { x: Number.NaN } }]), 'INVALID_ARGUMENT');
      expect(err.message).toContain('nodes[1]');
      expect(db.getNode('c')).toBeNull();
      db.close();
    });

    it('updateNode', () => {
      const db = open();
      rejects(db, () => db.updateNode('a', null as never), 'INVALID_ARGUMENT');
      rejects(db, () => db.updateNode('a', {} as never), 'INVALID_ARGUMENT');
      rejects(db, () => db.updateNode(1 as never, { properties: {} }), 'INVALID_ARGUMENT');
      for (const [, value] of NOT_JSON) rejects(db, () => db.updateNode('a', { properties: { f: value } as never }), 'INVALID_ARGUMENT');
      const missing = rejects(db, () => db.updateNode('nope', { properties: { x: 1 } }), 'NOT_FOUND');
      expect(missing).toBeInstanceOf(NotFoundError);
      expect(missing.message).toContain('nope');
      db.close();
    });

    it('deleteNode, getNode, getEdge, deleteEdge', () => {
      const db = open();
      for (const bad of [undefined, null, 3, '', {}, 'x'.repeat(300)]) {
        rejects(db, () => db.getNode(bad as never), 'INVALID_ARGUMENT');
        rejects(db, () => db.deleteNode(bad as never), 'INVALID_ARGUMENT');
        rejects(db, () => db.getEdge(bad as never), 'INVALID_ARGUMENT');
        rejects(db, () => db.deleteEdge(bad as never), 'INVALID_ARGUMENT');
      }
      db.close();
    });

    it('insertEdge', () => {
      const db = open();
      for (const bad of [null, { type: 'R', from: 'a' }, { type: 'R', to: 'b' }, { from: 'a', to: 'b' }, { type: 'R', from: 'a', to: 'b', weight: Number.NaN }, { type: 'R', from: 'a', to: 'b', weight: '1' }]) {
        rejects(db, () => db.insertEdge(bad as never), 'INVALID_ARGUMENT');
      }
      for (const [, value] of NOT_JSON) rejects(db, () => db.insertEdge({ type: 'R', from: 'a', to: 'b', properties: { f: value } as never }), 'INVALID_ARGUMENT');
      const err = rejects(db, () => db.insertEdge({ type: 'R', from: 'ghost', to: 'b' }), 'NOT_FOUND');
      expect(err.message).toContain('ghost');
      expect(rejects(db, () => db.insertEdge({ type: 'R', from: 'a', to: 'ghost2' }), 'NOT_FOUND').message).toContain('ghost2');
      rejects(db, () => db.insertEdge({ id: 'ab', type: 'R', from: 'a', to: 'b' }), 'ALREADY_EXISTS');
      db.close();
    });

    it('insertEmbedding, getEmbedding, searchVectors', () => {
      const db = open();
      for (const [what, v] of NOT_A_VECTOR) {
        const err = rejects(db, () => db.insertEmbedding('b', v as never), 'INVALID_ARGUMENT');
        expect(err.message, what).toMatch(/vector/);
        rejects(db, () => db.searchVectors(v as never), 'INVALID_ARGUMENT');
      }
      expect(rejects(db, () => db.insertEmbedding('b', [1, 2]), 'DIMENSION_MISMATCH').message).toContain('3 dimensions');
      rejects(db, () => db.insertEmbedding('b', new Float32Array(4)), 'DIMENSION_MISMATCH');
      rejects(db, () => db.searchVectors([1, 2, 3, 4]), 'DIMENSION_MISMATCH');
      rejects(db, () => db.insertEmbedding('nope', [1, 2, 3]), 'NOT_FOUND');
      expect(rejects(db, () => db.insertEmbedding('b', [1, 2, 3], { space: 'other' }), 'NOT_FOUND').message).toContain('other');
      rejects(db, () => db.getEmbedding('a', { space: 'other' }), 'NOT_FOUND');
      rejects(db, () => db.searchVectors([1, 2, 3], { space: 'other' }), 'NOT_FOUND');
      rejects(db, () => db.insertEmbedding('b', [1, 2, 3], { space: 5 } as never), 'INVALID_ARGUMENT');
      for (const k of [0, -1, 1.5, Number.NaN, Infinity, 1e12, '3']) rejects(db, () => db.searchVectors([1, 2, 3], { k: k as never }), 'INVALID_ARGUMENT');
      rejects(db, () => db.searchVectors([1, 2, 3], { filter: { color: 'red' } as never }), 'INVALID_ARGUMENT');
      rejects(db, () => db.searchVectors([1, 2, 3], { filter: { ids: 'a' } as never }), 'INVALID_ARGUMENT');
      rejects(db, () => db.searchVectors([1, 2, 3], { kk: 3 } as never), 'INVALID_ARGUMENT');
      db.close();
    });

    it('graph reads, batches, bulk deletes and pages', () => {
      const db = open();
      for (const bad of [undefined, {}, { direction: 'up' }, { direction: 'out', edgeTypes: 'R' }, { direction: 'out', edgeTypes: [] }, { direction: 'out', limit: 0 }]) {
        rejects(db, () => db.neighbors('a', bad as never), 'INVALID_ARGUMENT');
      }
      rejects(db, () => db.neighbors(7 as never, { direction: 'out' }), 'INVALID_ARGUMENT');
      rejects(db, () => db.degree('missing', { direction: 'out' }), 'NOT_FOUND');
      for (const maxDepth of [0, -1, 1.5, 65, Number.NaN, '2']) rejects(db, () => db.traverse('a', { direction: 'out', maxDepth: maxDepth as never }), 'INVALID_ARGUMENT');
      rejects(db, () => db.traverse('missing', { direction: 'out', maxDepth: 2 }), 'NOT_FOUND');
      rejects(db, () => db.shortestPath('a', 'b', { direction: 'out', maxDepth: -1 }), 'INVALID_ARGUMENT');
      rejects(db, () => db.insertEdgesBatch({} as never), 'INVALID_ARGUMENT');
      const err = rejects(db, () => db.insertEdgesBatch([{ type: 'R', from: 'a', to: 'b' }, { type: 'R', from: 'a', to: 'b', weight: Number.NaN }]), 'INVALID_ARGUMENT');
      expect(err.message).toContain('edges[1]');
      rejects(db, () => db.insertEdgesBatch([{ type: 'R', from: 'a', to: 'b' }, { type: 'R', from: 'a', to: 'nowhere' }]), 'NOT_FOUND');
      rejects(db, () => db.insertEmbeddingsBatch([{ nodeId: 'b', vector: [1, 2, 3] }, { nodeId: 'a', vector: [1, Number.NaN, 3] }]), 'INVALID_ARGUMENT');
      rejects(db, () => db.insertEmbeddingsBatch([{ nodeId: 'b', vector: [1, 2, 3] }, { nodeId: 'ghost', vector: [1, 2, 3] }]), 'NOT_FOUND');
      for (const bad of [{}, { colour: 'x' }, { where: { n: { near: 1 } } }, { where: { n: { in: 3 } } }, { where: { n: Number.NaN } }, 'a', [1]]) {
        rejects(db, () => db.deleteNodes(bad as never), 'INVALID_ARGUMENT');
      }
      for (const bad of [{}, { from: 'a' }, { type: 'R', colour: 1 }, [null]]) rejects(db, () => db.deleteEdges(bad as never), 'INVALID_ARGUMENT');
      for (const bad of [undefined, {}, { limit: 0 }, { limit: 10_001 }, { limit: 5, orderBy: 'name' }, { limit: 5, direction: 'up' }, { limit: 5, cursor: 'nope' }, { limit: 5, cursor: 42 }]) {
        rejects(db, () => db.listNodes(bad as never), 'INVALID_ARGUMENT');
      }
      const page = db.listNodes({ limit: 1 });
      rejects(db, () => db.listNodes({ limit: 1, type: 'Other', cursor: page.nextCursor }), 'INVALID_ARGUMENT');
      rejects(db, () => db.listEdges({ limit: 1, cursor: page.nextCursor }), 'INVALID_ARGUMENT');
      rejects(db, () => [...db.iterateNodes({ orderBy: 'name' } as never)], 'INVALID_ARGUMENT');
      for (const bad of [undefined, 42, 'fn']) rejects(db, () => db.transaction(bad as never), 'INVALID_ARGUMENT');
      for (const bad of [undefined, 'T', {}, { type: 'T' }, { type: 'T', property: '' }, { type: '', property: 'p' }, { type: 'T', property: 'a\0b' }, { type: 'T', property: 'p', unique: true }, { type: 'T', property: 'x'.repeat(129) }]) {
        rejects(db, () => db.createIndex(bad as never), 'INVALID_ARGUMENT');
        rejects(db, () => db.dropIndex(bad as never), 'INVALID_ARGUMENT');
      }
      rejects(
        db,
        () =>
          db.transaction((tx) => {
            tx.insertNode({ id: 'in-tx', type: 'T' });
            tx.insertNode({ id: 'bad', type: 'T', properties: { x: Number.NaN } });
          }),
        'INVALID_ARGUMENT',
      );
      db.close();
      expectLoomError(() => db.transaction(() => undefined), 'CLOSED');
      expectLoomError(() => db.neighbors('a', { direction: 'out' }), 'CLOSED');
      expectLoomError(() => db.listNodes({ limit: 1 }), 'CLOSED');
      expectLoomError(() => [...db.iterateEdges()], 'CLOSED');
      expectLoomError(() => db.deleteNodes(['a']), 'CLOSED');
    });

    it('unpaired UTF-16 surrogates in ids, types, property keys and values, queue ids are INVALID_ARGUMENT naming the field', () => {
      const db = open();
      const lone = ['x\ud800', '\udc00', 'end\ud83d'];
      for (const s of lone) {
        expect(rejects(db, () => db.insertNode({ id: s, type: 'T' }), 'INVALID_ARGUMENT').message).toContain('node.id');
        expect(rejects(db, () => db.insertNode({ type: s }), 'INVALID_ARGUMENT').message).toContain('node.type');
        expect(rejects(db, () => db.insertNode({ type: 'T', properties: { name: s } }), 'INVALID_ARGUMENT').message).toContain('node.properties.name');
        expect(rejects(db, () => db.insertNode({ type: 'T', properties: { deep: [{ n: [s] }] } }), 'INVALID_ARGUMENT').message).toContain('node.properties.deep[0].n[0]');
        expect(rejects(db, () => db.insertNode({ type: 'T', properties: { [s]: 1 } }), 'INVALID_ARGUMENT').message).toContain('node.properties');
        expect(rejects(db, () => db.insertNode({ type: 'T', properties: { o: { [s]: 1 } } }), 'INVALID_ARGUMENT').message).toContain('node.properties.o');
        expect(rejects(db, () => db.updateNode('a', { properties: { name: s } }), 'INVALID_ARGUMENT').message).toContain('update.properties.name');
        expect(rejects(db, () => db.insertEdge({ type: 'R', from: 'a', to: s }), 'INVALID_ARGUMENT').message).toContain('edge.to');
        expect(rejects(db, () => db.getNode(s), 'INVALID_ARGUMENT').message).toContain('id');
        expect(rejects(db, () => db.queue('q').push([{ id: s, payload: '{}' }]), 'INVALID_ARGUMENT').message).toContain('items[0].id');
        expect(rejects(db, () => db.queue('q').push([{ id: 'ok', payload: s }]), 'INVALID_ARGUMENT').message).toContain('items[0].payload');
        expect(rejects(db, () => db.queue(s), 'INVALID_ARGUMENT').message).toContain('queue name');
        expect(rejects(db, () => db.listNodes({ type: 'T', limit: 10, where: { name: s } }), 'INVALID_ARGUMENT').message).toContain('where.name');
        expect(rejects(db, () => db.listNodes({ type: 'T', limit: 10, where: { name: { in: ['ok', s] } } }), 'INVALID_ARGUMENT').message).toContain('where.name.in[1]');
        expect(rejects(db, () => db.listNodes({ type: 'T', limit: 10, where: { [s]: 1 } }), 'INVALID_ARGUMENT').message).toContain('where property');
      }
      // Two ids that differ only in which lone surrogate they hold would both have become "x\ufffd".
      expect(db.getNode('x\ufffd')).toBeNull();
      // Well-formed pairs are fine.
      expect(db.insertNode({ id: 'emoji 😀', type: 'T😀', properties: { '😀': '😀' } }).properties).toEqual({ '😀': '😀' });
      db.close();
    });

    it('odd inputs are INVALID_ARGUMENT naming the value: bigint and cycles on import, empty endpoints, holes, throwing getters, Proxies, NUL in paths', () => {
      const db = open();
      const throwing = { get x(): unknown { throw new Error('getter boom'); } };
      const revoked = Proxy.revocable({}, {});
      revoked.revoke();
      const cases: Array<[string, () => unknown, string]> = [
        ['a hole', () => db.insertNode({ type: 'T', properties: { list: [1, , 3] } as never }), 'node.properties.list[1]'],
        ['a nested hole', () => db.updateNode('a', { properties: { o: { l: [, 1] } } as never }), 'update.properties.o.l[0]'],
        ['a throwing getter in properties', () => db.insertNode({ type: 'T', properties: { g: throwing } as never }), 'node.properties.g.x'],
        ['a throwing getter on the node', () => db.insertNode({ get type(): string { throw new Error('boom'); } } as never), 'node'],
        ['a throwing getter in a batch', () => db.writeBatch({ get insertNodes(): never { throw new Error('boom'); } } as never), 'batch'],
        ['a throwing getter in a vector', () => db.insertEmbedding('b', Object.defineProperty([1, 2, 3], 1, { get: () => { throw new Error('boom'); } })), 'vector'],
        ['a Proxy as properties', () => db.insertNode({ type: 'T', properties: new Proxy({}, {}) }), 'node.properties'],
        ['a nested Proxy', () => db.insertNode({ type: 'T', properties: { p: new Proxy({ a: 1 }, {}) } }), 'node.properties.p'],
        ['a revoked Proxy', () => db.insertNode({ type: 'T', properties: { p: revoked.proxy } }), 'node.properties.p'],
        ['a revoked Proxy as the node', () => db.insertNode(revoked.proxy as never), 'node'],
        ['a revoked Proxy as an edge update', () => db.updateEdge('ab', revoked.proxy as never), 'update'],
        ['a NUL in open', () => EmbeddedDB.open(join(tempDir(), 'a\0b'), { storage }), 'path'],
        ['a NUL in backup', () => db.backup(join(tempDir(), 'a\0b')), 'destPath'],
      ];
      const boom = { get limit(): never { throw new Error('boom'); }, get direction(): never { throw new Error('boom'); }, get holder(): never { throw new Error('boom'); } };
      for (const bad of [boom, revoked.proxy]) {
        const odd = bad as never;
        cases.push(
          ['odd listNodes options', () => db.listNodes(odd), 'options'],
          ['odd neighbors options', () => db.neighbors('a', odd), 'options'],
          ['odd traverse options', () => db.traverse('a', odd), 'options'],
          ['odd where', () => db.listNodes({ type: 'T', limit: 10, where: odd }), 'where'],
          ['odd where condition', () => db.listNodes({ type: 'T', limit: 10, where: { x: odd } }), 'where'],
          ['odd lease options', () => db.queue('q').lease(odd), 'options'],
          ['odd push items', () => db.queue('q').push(odd), 'items'],
          ['odd search filter', () => db.searchVectors([1, 2, 3], { filter: odd }), 'options'],
          ['odd transaction options', () => db.transaction(() => 1, odd), 'options'],
          ['odd index', () => db.createIndex(odd), 'index'],
          ['odd space', () => db.createSpace('s', odd), 'spaces.s'],
          ['odd open options', () => EmbeddedDB.open(join(tempDir(), 'db'), odd), 'options'],
          ['odd open spaces', () => EmbeddedDB.open(join(tempDir(), 'db'), { storage, spaces: odd }), 'options.spaces'],
          ['odd node batch', () => db.insertNodesBatch(odd), 'nodes'],
          ['odd shortestPath options', () => db.shortestPath('a', 'b', odd), 'options'],
          ['odd import', () => db.importRecords(odd), 'records'],
        );
      }
      if (storage === 'native') {
        const rec = (properties: unknown) => [{ node: { id: 'z', type: 'T', properties, createdAt: 1, updatedAt: 1 } }] as never;
        const edge = (from: string, to: string) => [{ edge: { id: 'e', type: 'R', from, to, properties: {}, weight: 1, createdAt: 1 } }] as never;
        cases.push(
          ['a bigint on import', () => db.importRecords(rec({ n: 10n })), 'records[0].node.properties.n'],
          ['a cycle on import', () => db.importRecords(rec(cyclic)), 'records[0].node.properties.self'],
          ['a hole on import', () => db.importRecords(rec({ l: [, 1] })), 'records[0].node.properties.l[0]'],
          ['an empty from on import', () => db.importRecords(edge('', 'a')), 'edge from'],
          ['an empty to on import', () => db.importRecords(edge('a', '')), 'edge to'],
        );
      }
      for (const [what, fn, field] of cases) {
        const err = rejects(db, fn, 'INVALID_ARGUMENT');
        expect(err.message, what).toContain(field);
      }
      db.close();
    });

    it('open', () => {
      const path = join(tempDir(), 'db');
      for (const bad of [
        { durability: 'sometimes' },
        { busyTimeoutMs: -1 },
        { busyTimeoutMs: Number.NaN },
        { readOnly: 'yes' },
        { spaces: { s: { dimensions: 0, metric: 'cosine' } } },
        { spaces: { s: { dimensions: 3, metric: 'manhattan' } } },
        { spaces: { s: { dimensions: 1.5, metric: 'l2' } } },
        { spaces: { 'bad name': { dimensions: 3, metric: 'l2' } } },
        { storage: 'nonexistent' },
        { storage: 42 },
        { colour: 'blue' },
      ]) {
        expect(() => EmbeddedDB.open(path, { storage, ...bad } as never), JSON.stringify(bad)).toThrow(LoomError);
      }
      expectLoomError(() => EmbeddedDB.open('' as never, { storage }), 'INVALID_ARGUMENT');
      expectLoomError(() => EmbeddedDB.open(path, { storage: 'nonexistent' }), 'NOT_FOUND');
    });

    it('every method after close() is CLOSED', async () => {
      const db = open();
      db.close();
      const calls: Array<() => unknown> = [
        () => db.insertNode({ type: 'T' }),
        () => db.insertNodesBatch([{ type: 'T' }]),
        () => db.getNode('a'),
        () => db.updateNode('a', { properties: {} }),
        () => db.deleteNode('a'),
        () => db.insertEdge({ type: 'R', from: 'a', to: 'b' }),
        () => db.getEdge('ab'),
        () => db.deleteEdge('ab'),
        () => db.insertEmbedding('a', [1, 2, 3]),
        () => db.getEmbedding('a'),
        () => db.searchVectors([1, 2, 3]),
        () => db.stats(),
      ];
      for (const c of calls) expect(expectLoomError(c, 'CLOSED')).toBeInstanceOf(ClosedError);

      const adb = await AsyncEmbeddedDB.open(join(tempDir(), 'db'), { storage });
      adb.close();
      await expect(adb.getNode('a')).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(adb.insertNode({ type: 'T' })).rejects.toMatchObject({ code: 'CLOSED' });
      await expect(adb.stats()).rejects.toBeInstanceOf(ClosedError);
    });

    it('the async API rejects bad input the same way and writes nothing', async () => {
      const path = join(tempDir(), 'db');
      const adb = await AsyncEmbeddedDB.open(path, { storage, spaces: { default: { dimensions: 2, metric: 'l2' } } });
      await adb.insertNode({ id: 'a', type: 'T' });
      const before = await adb.stats();
      await expect(adb.insertNode({ type: 'T', properties: { x: Number.NaN } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(adb.insertNode({ id: 'a', type: 'T' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
      await expect(adb.insertNodesBatch([{ id: 'z', type: 'T' }, { id: 'a', type: 'T' }])).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
      await expect(adb.insertEdge({ type: 'R', from: 'a', to: 'ghost' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(adb.insertEmbedding('a', [1, 2, 3])).rejects.toMatchObject({ code: 'DIMENSION_MISMATCH' });
      await expect(adb.searchVectors([1, Number.NaN])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(adb.updateNode('ghost', { properties: {} })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      const aborted = AbortSignal.abort(new Error('stop'));
      await expect(adb.insertNodesBatch([{ id: 'y', type: 'T' }], { signal: aborted })).rejects.toMatchObject({ code: 'ABORTED', cause: aborted.reason });
      await expect(adb.insertNodesBatch([{ id: 'y', type: 'T' }], { signal: 'now' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(adb.transaction('fn' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(adb.transaction(async (tx) => tx.insertNode({ id: 'y', type: 'T' }), { signal: aborted })).rejects.toMatchObject({ code: 'ABORTED', cause: aborted.reason });
      await expect(adb.transaction(async (tx) => tx.insertNode({ id: 'y', type: 'T', properties: { x: Number.POSITIVE_INFINITY } }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(await adb.stats()).toEqual(before);
      expect(await adb.getNode('z')).toBeNull();
      expect(await adb.getNode('y')).toBeNull();
      adb.close();
    });
  });
}

describe('LoomError', () => {
  it('has a subclass per code, recognised across package copies by its brand', () => {
    expect(LOOM_ERROR_CODES).toHaveLength(14);
    const foreign = Object.assign(new Error('x'), { code: 'NOT_FOUND' });
    Object.defineProperty(foreign, Symbol.for('@loomdb/db/LoomError'), { value: true });
    expect(LoomError.is(foreign)).toBe(true);
    expect(foreign instanceof LoomError).toBe(true);
    expect(foreign instanceof NotFoundError).toBe(true);
    expect(foreign instanceof ClosedError).toBe(false);
    expect(new Error('plain') instanceof LoomError).toBe(false);
  });
});

describe('maxRecordBytes', () => {
  it('refuses a record past the limit (default 16 MiB, configurable) naming its largest property, writing nothing', () => {
    const path = join(tempDir(), 'db');
    const db = EmbeddedDB.open(path);
    const blob = 'x'.repeat(17 * 2 ** 20);
    const err = expectLoomError(() => db.insertNode({ id: 'big', type: 'Note', properties: { title: 't', content: blob } }), 'INVALID_ARGUMENT');
    expect(err.message).toMatch(/node "big" would be a \d+ byte record, over the limit of 16777216 bytes \(open option maxRecordBytes\): its largest property is "content"/);
    expect(db.getNode('big')).toBeNull();
    expect(db.stats().nodes).toBe(0);
    db.close();
    const roomy = EmbeddedDB.open(path, { maxRecordBytes: 32 * 2 ** 20 });
    expect(roomy.insertNode({ id: 'big', type: 'Note', properties: { content: blob } }).id).toBe('big');
    roomy.close();
    const tight = EmbeddedDB.open(path, { maxRecordBytes: 4096 });
    tight.insertNode({ id: 'small', type: 'Note', properties: { content: 'hi' } });
    expectLoomError(() => tight.updateNode('small', { properties: { more: 'y'.repeat(5000) } }), 'INVALID_ARGUMENT');
    expect(tight.getNode('small')?.properties).toEqual({ content: 'hi' });
    expectLoomError(() => tight.insertNodesBatch([{ id: 'a', type: 'Note' }, { id: 'b', type: 'Note', properties: { c: 'z'.repeat(5000) } }]), 'INVALID_ARGUMENT');
    expect(tight.getNode('a')).toBeNull();
    for (const bad of [0, 1023, 1.5, '1 MB', Number.NaN]) expectLoomError(() => EmbeddedDB.open(path, { maxRecordBytes: bad as never }), 'INVALID_ARGUMENT');
    tight.close();
  });
});

describe('error messages', () => {
  it('show undefined and booleans as themselves, never "a undefined"', () => {
    const db = EmbeddedDB.open(undefined, { storage: 'memory' });
    const missing = expectLoomError(() => db.insertNode({ type: undefined as never }), 'INVALID_ARGUMENT');
    expect(missing.message).toBe('node.type must be a non-empty string, got undefined');
    expect(expectLoomError(() => db.insertNode({ type: true as never }), 'INVALID_ARGUMENT').message).toBe('node.type must be a non-empty string, got true');
    db.close();
  });
});

describe('re-entry never hangs', () => {
  it('a write on the async handle from inside its own transaction is LOCKED at once; the transaction goes on', async () => {
    const adb = await AsyncEmbeddedDB.open(join(tempDir(), 'db'));
    const result = await adb.transaction(async (tx) => {
      await tx.insertNode({ id: 'inside', type: 'T' });
      const err = await adb.insertNode({ id: 'outside', type: 'T' }).catch((e: unknown) => e);
      await tx.insertNode({ id: 'after', type: 'T' });
      return err;
    });
    expect(LoomError.is(result) && result.code, String(result)).toBe('LOCKED');
    expect((result as Error).message).toContain('write through tx');
    expect(await adb.getNode('inside')).not.toBeNull();
    expect(await adb.getNode('after')).not.toBeNull();
    expect(await adb.getNode('outside')).toBeNull();
    // A write from outside the transaction still queues behind it and lands.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tx = adb.transaction(async (t) => {
      await t.insertNode({ id: 'held', type: 'T' });
      await gate;
    });
    const queued = adb.insertNode({ id: 'queued', type: 'T' });
    release();
    await tx;
    expect((await queued).id).toBe('queued');
    await adb.close();
  });

  it('compact from a backup onProgress is LOCKED, not a hang', () => {
    const dir = tempDir();
    const db = EmbeddedDB.open(join(dir, 'db'));
    db.insertNodesBatch(Array.from({ length: 500 }, (_, i) => ({ id: `n${i}`, type: 'T', properties: { x: 'y'.repeat(400) } })));
    let inner: unknown;
    const err = expectLoomError(
      () =>
        db.backup(join(dir, 'backup'), {
          onProgress: () => {
            try {
              db.compact();
            } catch (e) {
              inner = e;
              throw e;
            }
          },
        }),
      'LOCKED',
    );
    expect(err).toBe(inner);
    expect(err.message).toContain('onProgress');
    expect(db.compact().bytesAfter).toBeGreaterThan(0);
    db.close();
  });
});
