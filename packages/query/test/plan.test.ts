import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsyncEmbeddedDB, createHashingEmbedder, EmbeddedDB, MAX_K } from '@loomdb/db';
import { ConvergedQuery, fromPlan, parsePlan, query, type Plan } from '@loomdb/query';
import { failure } from './failure.js';

const dir = mkdtempSync(join(tmpdir(), 'loomdb-query-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let db: EmbeddedDB;
beforeAll(() => {
  db = EmbeddedDB.open(join(dir, 'db'), { spaces: { default: { dimensions: 3, metric: 'cosine' } } });
  const e = db.insertNode({ id: 'e', type: 'Entity', properties: { name: 'Ada' } });
  for (let i = 0; i < 12; i++) {
    db.insertNode({ id: `m${i}`, type: 'Message', properties: { role: i % 2 ? 'user' : 'assistant', n: i, content: `note ${i}` } });
    db.insertEmbedding(`m${i}`, [1, i, 0]);
    if (i % 2) db.insertEdge({ type: 'MENTIONS', from: `m${i}`, to: e.id });
  }
});
afterAll(() => db.close());


describe('plans', () => {
  it('round-trip: fromPlan(toPlan()) is the same query, also through JSON text', async () => {
    const q = query(db)
      .type(['Message'])
      .where('role', 'eq', 'user')
      .where('content', 'startsWith', 'note')
      .createdBetween(new Date(0), Date.now() + 1000)
      .connectedTo('e', { edgeTypes: ['MENTIONS'], direction: 'out', maxHops: 1 })
      .similarTo(new Float32Array([1, 4, 0]), { k: 4, maxDistance: 1 })
      .select('n')
      .limit(3);
    const plan = q.toPlan();
    expect(plan.version).toBe(1);
    const copy = fromPlan(db, JSON.parse(JSON.stringify(plan)));
    expect(copy.toPlan()).toEqual(plan);
    const [a, b] = [await q.execute(), await copy.execute()];
    expect(b.items).toEqual(a.items);
    expect(a.items.map((i) => i.node.id)).toEqual(['m5', 'm3', 'm7']);
    expect(a.items[0]!.node.properties).toEqual({ n: 5 });
    expect(a.items.every((i) => i.hops === 1)).toBe(true);
    expect(a.nextCursor).toBeDefined();
    const next = await q.after(a.nextCursor!).execute();
    expect(next.items.map((i) => i.node.id)).toEqual(['m9']);
    expect(next.nextCursor).toBeUndefined();
  });

  it('is immutable: each call returns a new query and leaves the old one as it was', () => {
    const base = query(db).type('Message');
    const narrowed = base.where('n', 'gt', 3);
    expect(narrowed).not.toBe(base);
    expect(base.toPlan()).toEqual({ version: 1, types: ['Message'] });
    const plan = base.toPlan();
    plan.types!.push('Entity');
    expect(base.toPlan().types).toEqual(['Message']);
  });

  it('limit is honoured exactly, with no hidden cap', async () => {
    for (let i = 0; i < 3; i++) db.insertNodesBatch(Array.from({ length: 1500 }, (_, j) => ({ type: 'Bulk', properties: { j: i * 1500 + j } })));
    const all = await query(db).type('Bulk').execute();
    expect(all.items).toHaveLength(4500);
    expect(all.nextCursor).toBeUndefined();
    const some = await query(db).type('Bulk').orderBy('j', 'desc').limit(4321).execute();
    expect(some.items).toHaveLength(4321);
    expect(some.items[0]!.node.properties.j).toBe(4499);
    let streamed = 0;
    for await (const _ of query(db).type('Bulk').limit(1000).stream()) streamed++;
    expect(streamed).toBe(1000);
    const ids = new Set<string>();
    for await (const item of query(db).type('Bulk').stream()) ids.add(item.node.id);
    expect(ids.size).toBe(4500);
    expect(db.deleteNodes({ type: 'Bulk' })).toBe(4500);
  });

  it('explain names the strategy and sizes and times every stage', async () => {
    const e = await query(db)
      .type('Message')
      .where('role', 'eq', 'user')
      .connectedTo('e', { direction: 'out', maxHops: 2 })
      .similarTo([1, 2, 0], { k: 2 })
      .explain();
    expect(e.executor).toBe('native');
    expect(e.strategy).toMatch(/^graph → exact-knn/);
    expect(e.stages.map((s) => s.stage)).toEqual(['graph', 'candidates', 'distances', 'knn', 'order']);
    expect(e.stages.find((s) => s.stage === 'graph')!.actual).toBe(6);
    expect(e.stages.at(-1)!.actual).toBe(2);
    for (const s of e.stages) expect(s.timeMs).toBeGreaterThanOrEqual(0);
    expect(e.plan.similar!.k).toBe(2);
    db.createIndex({ type: 'Message', property: 'n' });
    const indexed = await query(db).type('Message').where('n', 'eq', 4).explain();
    expect(indexed.strategy).toBe('index → order');
    expect(indexed.stages[0]).toMatchObject({ stage: 'candidates', detail: 'index Message.n', actual: 1 });
  });

  it('runs the same on AsyncEmbeddedDB, off the JavaScript thread', async () => {
    const path = join(dir, 'async');
    const adb = await AsyncEmbeddedDB.open(path, { spaces: { default: { dimensions: 2, metric: 'l2' } } });
    await adb.insertNodesBatch([0, 1, 2, 3].map((i) => ({ id: `a${i}`, type: 'T', properties: { i } })));
    await adb.insertEmbeddingsBatch([0, 1, 2, 3].map((i) => ({ nodeId: `a${i}`, vector: [i, 0] })));
    const r = await query(adb).type('T').similarTo([2.2, 0], { k: 2 }).execute();
    expect(r.stats.executor).toBe('native');
    expect(r.items.map((i) => i.node.id)).toEqual(['a2', 'a3']);
    adb.close();
    expect((await failure(() => query(adb).type('T').execute())).code).toBe('CLOSED');
  });

  it('embeds text with the given embedder; a space without one refuses text naming the space', async () => {
    const hashing = createHashingEmbedder({ dimensions: 3 });
    const r = await query(db, { embedder: hashing }).type('Message').similarTo('note', { k: 1 }).execute();
    expect(r.items).toHaveLength(1);
    const err = await failure(() => query(db).similarTo('note').execute());
    expect(err.code).toBe('UNSUPPORTED');
    expect(err.message).toContain('"default"');
  });

  it("embeds text with the embedder named in the space's spec, on both backends", async () => {
    for (const storage of ['native', 'memory'] as const) {
      const withEmbedder = EmbeddedDB.open(join(dir, `embedder-${storage}`), { storage, spaces: { notes: { dimensions: 384, metric: 'cosine', embedder: 'hashing' } } });
      withEmbedder.insertNodesBatch(['hiking the alps', 'baking bread', 'alpine hiking trails'].map((content, i) => ({ id: `n${i}`, type: 'Note', properties: { content } })));
      const embedder = withEmbedder.embedder('hashing');
      withEmbedder.insertEmbeddingsBatch((await embedder.embed(['hiking the alps', 'baking bread', 'alpine hiking trails'])).map((vector, i) => ({ nodeId: `n${i}`, vector, space: 'notes' })));
      const r = await query(withEmbedder).similarTo('hiking', { space: 'notes', k: 2 }).execute();
      expect(r.items.map((i) => i.node.id).sort()).toEqual(['n0', 'n2']);
      expect((await failure(() => query(withEmbedder).similarTo('x', { space: 'nope' }).execute())).code).toBe('NOT_FOUND');
      withEmbedder.close();
    }
  });

  it('a text query after the space was re-embedded by another handle embeds with the new embedder', async () => {
    const calls = { hashing: 0, reversed: 0 };
    const reversed = (text: string) => [...text].reverse().join('');
    const counting = {
      name: 'counting-embedders',
      register(r: { registerEmbedder(name: string, factory: () => unknown): void }) {
        const hashing = createHashingEmbedder();
        r.registerEmbedder('counting', () => ({ dimensions: 384, embed: async (texts: readonly string[]) => ((calls.hashing += texts.length), hashing.embed(texts)) }));
        r.registerEmbedder('reversed', () => ({ id: 'reversed', dimensions: 384, embed: async (texts: readonly string[]) => ((calls.reversed += texts.length), hashing.embed(texts.map(reversed))) }));
      },
    };
    const path = join(dir, 'reembedded');
    const texts = ['hiking the alps', 'baking bread', 'alpine hiking trails'];
    const reader = EmbeddedDB.open(path, { plugins: [counting], spaces: { notes: { dimensions: 384, metric: 'cosine', embedder: 'counting' } } });
    reader.insertNodesBatch(texts.map((content, i) => ({ id: `n${i}`, type: 'Note', properties: { content } })));
    reader.insertEmbeddingsBatch((await createHashingEmbedder().embed(texts)).map((vector, i) => ({ nodeId: `n${i}`, vector, space: 'notes' })));
    const search = async () => (await query(reader).type('Note').similarTo('baking', { space: 'notes', k: 1 }).execute()).items.map((i) => i.node.id);
    expect(await search()).toEqual(['n1']);
    expect(await search()).toEqual(['n1']);
    expect(calls).toEqual({ hashing: 2, reversed: 0 });

    const writer = EmbeddedDB.open(path, { plugins: [counting] });
    await writer.reembed('notes', { embedder: 'reversed' });
    writer.close();
    calls.reversed = 0;
    // The reader looked up the embedder before: the engine refuses the stale one, the query looks again.
    expect(await search()).toEqual(['n1']);
    expect(calls).toEqual({ hashing: 3, reversed: 1 });
    expect(await search()).toEqual(['n1']);
    expect(calls).toEqual({ hashing: 3, reversed: 2 });
    reader.close();
  });
});

describe('bad plans and arguments', () => {
  const base: Plan = { version: 1 };
  const bad: Array<[string, unknown, string]> = [
    ['not an object', 'plan', 'plan'],
    ['unknown version', { version: 2 }, 'plan.version'],
    ['no version', {}, 'plan.version'],
    ['unknown field', { ...base, typez: ['A'] }, '"typez"'],
    ['unknown operator', { ...base, where: [{ property: 'p', op: 'like', value: 'x' }] }, 'plan.where[0].op'],
    ['unknown condition field', { ...base, where: [{ property: 'p', op: 'eq', value: 1, not: true }] }, 'plan.where[0]'],
    ['in without an array', { ...base, where: [{ property: 'p', op: 'in', value: 1 }] }, 'plan.where[0].value'],
    ['exists without a boolean', { ...base, where: [{ property: 'p', op: 'exists', value: 'yes' }] }, 'plan.where[0].value'],
    ['startsWith without a string', { ...base, where: [{ property: 'p', op: 'startsWith', value: 1 }] }, 'plan.where[0].value'],
    ['NaN value', { ...base, where: [{ property: 'p', op: 'gt', value: Number.NaN }] }, 'plan.where[0].value'],
    ['object value', { ...base, where: [{ property: 'p', op: 'eq', value: { a: 1 } }] }, 'plan.where[0].value'],
    ['empty types', { ...base, types: [] }, 'plan.types'],
    ['type with NUL', { ...base, types: ['a\0b'] }, 'plan.types[0]'],
    ['limit as text', { ...base, limit: '5' }, 'plan.limit'],
    ['limit 0', { ...base, limit: 0 }, 'plan.limit'],
    ['fractional limit', { ...base, limit: 1.5 }, 'plan.limit'],
    ['k 0', { ...base, similar: { space: 'default', k: 0, vector: [1, 0, 0] } }, 'plan.similar.k'],
    ['k too large', { ...base, similar: { space: 'default', k: MAX_K + 1, vector: [1, 0, 0] } }, 'plan.similar.k'],
    ['vector and text', { ...base, similar: { space: 'default', k: 1, vector: [1, 0, 0], text: 'x' } }, 'plan.similar'],
    ['neither vector nor text', { ...base, similar: { space: 'default', k: 1 } }, 'plan.similar'],
    ['infinite vector', { ...base, similar: { space: 'default', k: 1, vector: [1, Infinity, 0] } }, 'plan.similar.vector[1]'],
    ['bad space name', { ...base, similar: { space: 'no spaces', k: 1, vector: [1, 0, 0] } }, 'plan.similar.space'],
    ['exact not a boolean', { ...base, similar: { space: 'default', k: 1, vector: [1, 0, 0], exact: 'yes' } }, 'plan.similar.exact'],
    ['maxHops 0', { ...base, graph: [{ anchors: ['e'], direction: 'out', maxHops: 0, negate: false }] }, 'plan.graph[0].maxHops'],
    ['maxHops 65', { ...base, graph: [{ anchors: ['e'], direction: 'out', maxHops: 65, negate: false }] }, 'plan.graph[0].maxHops'],
    ['bad direction', { ...base, graph: [{ anchors: ['e'], direction: 'up', maxHops: 1, negate: false }] }, 'plan.graph[0].direction'],
    ['no anchors', { ...base, graph: [{ direction: 'out', maxHops: 1, negate: false }] }, 'plan.graph[0].anchors'],
    ['empty anchor id', { ...base, graph: [{ anchors: [''], direction: 'out', maxHops: 1, negate: false }] }, 'plan.graph[0].anchors[0]'],
    ['distance order without similar', { ...base, orderBy: { key: 'distance', direction: 'asc' } }, 'plan.orderBy.key'],
    ['property order without property', { ...base, orderBy: { key: 'property', direction: 'asc' } }, 'plan.orderBy.property'],
    ['bad order direction', { ...base, orderBy: { key: 'createdAt', direction: 'up' } }, 'plan.orderBy.direction'],
    ['select a number', { ...base, select: [5] }, 'plan.select[0]'],
  ];
  for (const [name, plan, path] of bad) {
    it(`rejects ${name} with INVALID_ARGUMENT naming ${path}`, async () => {
      const err = await failure(() => fromPlan(db, plan));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain(path);
      expect((await failure(() => parsePlan(plan))).message).toBe(err.message);
    });
  }

  it('rejects bad builder arguments at the call, naming the method and value', async () => {
    const q = query(db);
    const cases: Array<[() => unknown, string]> = [
      [() => query(null as never), 'EmbeddedDB'],
      [() => query({} as never), 'EmbeddedDB'],
      [() => new ConvergedQuery(db, { version: 3 } as never), 'plan.version'],
      [() => q.type(''), 'type: plan.types[0]'],
      [() => q.where('p', 'eq'), 'where: "eq" needs a value'],
      [() => q.where('p', 'like' as never, 1), 'where: plan.where[0].op'],
      [() => q.createdBetween('yesterday' as never, 5), 'createdBetween from'],
      [() => q.connectedTo('e', undefined as never), 'connectedTo: options'],
      [() => q.connectedTo('e', { direction: 'out', maxHops: 1, hops: 2 } as never), 'connectedTo: unknown option "hops"'],
      [() => q.connectedTo(5 as never, { direction: 'out', maxHops: 1 }), 'plan.graph[0].anchors[0]'],
      [() => q.notConnectedTo('e', { direction: 'sideways' as never, maxHops: 1 }), 'notConnectedTo: plan.graph[0].direction'],
      [() => q.similarTo(null as never), 'similarTo: expected a vector'],
      [() => q.similarTo([1, 0, 0], { k: -1 }), 'similarTo: plan.similar.k'],
      [() => q.similarTo([1, 0, 0], { kk: 1 } as never), 'similarTo: unknown option "kk"'],
      [() => q.similarTo([1, 0, 0], { exact: 1 } as never), 'similarTo: plan.similar.exact'],
      [() => q.orderBy(5 as never), 'orderBy'],
      [() => q.orderBy('n', 'sideways' as never), 'orderBy: plan.orderBy.direction'],
      [() => q.limit(-1), 'limit: plan.limit'],
      [() => q.limit(Number.NaN), 'limit: plan.limit'],
      [() => q.after(''), 'after: plan.after'],
      [() => q.select(5 as never), 'select: plan.select[0]'],
      [() => query(db, { embedder: {} as never }), 'options.embedder'],
    ];
    for (const [fn, text] of cases) {
      const err = await failure(fn);
      expect(err.code, text).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain(text);
    }
  });

  it('rejects what only execution can see with its own code, writing nothing', async () => {
    const before = db.stats();
    const cases: Array<[() => Promise<unknown>, string, string]> = [
      [() => query(db).similarTo([1, 0]).execute(), 'DIMENSION_MISMATCH', 'dimensions'],
      [() => query(db).similarTo([1, 0, 0], { space: 'nope' }).execute(), 'NOT_FOUND', '"nope"'],
      [() => query(db).after('garbage').execute(), 'INVALID_ARGUMENT', 'plan.after'],
      [
        async () => {
          const first = await query(db).type('Message').limit(1).execute();
          return query(db).type('Entity').limit(1).after(first.nextCursor!).execute();
        },
        'INVALID_ARGUMENT',
        'another query',
      ],
      [async () => db.executeQuery('{"version":1}'), 'INVALID_ARGUMENT', 'order'],
      [async () => db.executeQuery('not json'), 'INVALID_ARGUMENT', 'plan'],
      [async () => db.executeQuery(5 as never), 'INVALID_ARGUMENT', 'planJson'],
    ];
    for (const [fn, code, text] of cases) {
      const err = await failure(fn);
      expect(err.code, text).toBe(code);
      expect(err.message).toContain(text);
    }
    expect(db.stats()).toEqual(before);
    const memory = EmbeddedDB.open(undefined, { storage: 'memory' });
    expect((await failure(() => memory.executeQuery('{}'))).code).toBe('UNSUPPORTED');
    memory.close();
  });
});
