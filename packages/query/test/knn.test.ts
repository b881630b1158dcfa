import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsyncEmbeddedDB, EmbeddedDB } from '@loomdb/db';
import { query, type ConvergedQuery } from '@loomdb/query';
import { seededRandom as random } from '@loomdb/db/testing/data';

/**
 * Plans whose kNN runs on the space's HNSW graph: recall against the exact
 * answer, exactly `k` results whenever `k` nodes pass, at several
 * selectivities, and `explain()` naming the strategy that ran.
 */

const dir = mkdtempSync(join(tmpdir(), 'loomdb-query-knn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N = 6000;
const DIMS = 48;
const TOPICS = 60;
const K = 10;

const r = random(7);
const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
const unit = (v: Float32Array) => {
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
};
/** Embedding-like: each vector near one or two of a few topic directions, plus noise. */
const topics = Array.from({ length: TOPICS }, () => unit(Float32Array.from({ length: DIMS }, gauss)));
const near = (noise: number) => {
  const v = new Float32Array(DIMS);
  for (let t = 0; t < 1 + Math.floor(r() * 2); t++) {
    const topic = topics[Math.floor(r() * TOPICS)]!;
    for (let d = 0; d < DIMS; d++) v[d]! += topic[d]!;
  }
  for (let d = 0; d < DIMS; d++) v[d]! += noise * gauss();
  return unit(v);
};

let db: EmbeddedDB;
beforeAll(() => {
  db = EmbeddedDB.open(join(dir, 'db'), { durability: 'relaxed', spaces: { default: { dimensions: DIMS, metric: 'cosine' } } });
  db.insertNodesBatch(Array.from({ length: N }, (_, i) => ({ id: `m${String(i).padStart(5, '0')}`, type: i % 10 === 9 ? 'Note' : 'Message', properties: { bucket: i % 100 } })));
  db.insertEmbeddingsBatch(Array.from({ length: N }, (_, i) => ({ nodeId: `m${String(i).padStart(5, '0')}`, vector: near(0.2) })));
  db.catchUpIndexes(); // the tests below are about the graph path, not the exact scan that answers until it is built
});
afterAll(() => db.close());

const queries = Array.from({ length: 60 }, () => near(0.24));
const ids = (items: Array<{ node: { id: string } }>) => items.map((it) => it.node.id);

/** Mean recall@K of `approximate` against the same plan run `exact`, and every approximate page's size. */
async function recall(build: (v: Float32Array, exact: boolean) => ConvergedQuery): Promise<{ recall: number; sizes: number[]; strategies: Set<string> }> {
  let found = 0;
  let wanted = 0;
  const sizes: number[] = [];
  const strategies = new Set<string>();
  for (const v of queries) {
    const truth = await build(v, true).execute();
    const approx = await build(v, false).execute();
    expect(truth.stats.strategy).toMatch(/exact-knn/);
    strategies.add(approx.stats.strategy);
    sizes.push(approx.items.length);
    const expected = new Set(ids(truth.items));
    found += ids(approx.items).filter((id) => expected.has(id)).length;
    wanted += expected.size;
    // Distances are exact on either path, nearest first.
    const d = approx.items.map((it) => it.distance!);
    expect(d).toEqual([...d].sort((a, b) => a - b));
  }
  return { recall: found / wanted, sizes, strategies };
}

describe('kNN inside plans uses the HNSW graph when many nodes are candidates', () => {
  it('over the whole space: hnsw, recall@10 ≥ 0.95, k results', async () => {
    const r = await recall((v, exact) => query(db).similarTo(v, { k: K, exact }));
    expect(r.strategies).toEqual(new Set(['scan → hnsw-knn over the space → order']));
    expect(r.recall).toBeGreaterThanOrEqual(0.95);
    expect(r.sizes.every((n) => n === K)).toBe(true);
  });

  it.each([
    ['90 % (a type)', (q: ConvergedQuery) => q.type('Message')],
    ['50 % (a range)', (q: ConvergedQuery) => q.where('bucket', 'lt', 50)],
    ['10 % (a type)', (q: ConvergedQuery) => q.type('Note')],
    ['2 % (two buckets)', (q: ConvergedQuery) => q.where('bucket', 'in', [3, 77])],
  ])('filtered to %s: k results that all pass, recall@10 ≥ 0.95', async (_, filter) => {
    const r = await recall((v, exact) => filter(query(db)).similarTo(v, { k: K, exact }));
    for (const s of r.strategies) expect(s).toMatch(/hnsw-knn/);
    expect(r.recall).toBeGreaterThanOrEqual(0.95);
    expect(r.sizes.every((n) => n === K)).toBe(true);
    const { items } = await filter(query(db)).similarTo(queries[0]!, { k: K }).execute();
    const passing = new Set(ids((await filter(query(db)).execute()).items));
    expect(ids(items).every((id) => passing.has(id))).toBe(true);
  });

  it('returns every match when fewer than k pass, after the graph comes back short', async () => {
    const e = await query(db).where('bucket', 'eq', 5).where('bucket', 'ne', 1).type('Note').similarTo(queries[1]!, { k: 100 }).explain();
    expect(e.strategy).toBe('scan → hnsw-knn, then exact-knn over the space → order');
    expect(e.returned).toBe(0);
    const few = await query(db).where('bucket', 'eq', 9).similarTo(queries[1]!, { k: 100 }).execute();
    expect(few.items.length).toBe(N / 100);
    expect(few.stats.strategy).toMatch(/exact-knn/);
  });

  it('refuses a query vector that could overflow float32 or, in a cosine space, has no direction (INVALID_ARGUMENT)', async () => {
    const huge = new Float32Array(DIMS).fill(3e38);
    for (const v of [huge, new Float32Array(DIMS), new Float32Array(DIMS).fill(1e-40)]) {
      for (const exact of [false, true]) {
        await expect(query(db).similarTo(v, { k: K, exact }).execute()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('norm') });
        await expect(query(db).type('Note').similarTo(v, { k: K, exact }).execute()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
    }
    // The generic executor (a backend without native queries) refuses them the same way.
    const mem = EmbeddedDB.open(join(dir, 'mem'), { storage: 'memory', spaces: { default: { dimensions: 2, metric: 'cosine' } } });
    mem.insertNode({ id: 'a', type: 'Note' });
    mem.insertEmbedding('a', [1, 0]);
    for (const v of [[3e38, 3e38], [0, 0], [1e-40, 0]]) {
      await expect(query(mem).similarTo(v, { k: 1 }).execute()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('norm') });
    }
    mem.close();
  });

  it('explains the choice: exact for few candidates, on request, and for flat spaces', async () => {
    // Nine nodes in ten are Messages: the plain walk's nearest that are, are the hits.
    const most = await query(db).type('Message').similarTo(queries[2]!, { k: K }).explain();
    expect(most.stages.find((s) => s.stage === 'distances')!.detail).toMatch(/^space default, hnsw ef=64, then filtered: \d+ passed$/);
    // One bucket in a hundred, no index: too few of the plain walk's pass, so the walk admits passing nodes only.
    const few = await query(db).type('Message').where('bucket', 'eq', 4).similarTo(queries[2]!, { k: K }).explain();
    expect(few.stages.find((s) => s.stage === 'distances')!.detail).toMatch(/^space default, hnsw ef=128: ~6000 candidates > \d+$/);
    expect(few.returned).toBe(K);
    const asked = await query(db).similarTo(queries[2]!, { k: K, exact: true }).explain();
    expect(asked.strategy).toBe('scan → exact-knn over the space → order');
    expect(asked.stages.find((s) => s.stage === 'distances')!.detail).toBe('space default, exact as the plan asks');
    db.createIndex({ type: 'Message', property: 'bucket' });
    try {
      const indexed = await query(db).type('Message').where('bucket', 'eq', 4).similarTo(queries[2]!, { k: K }).explain();
      expect(indexed.strategy).toBe('index → exact-knn over candidates → order');
      expect(indexed.stages.find((s) => s.stage === 'distances')!.detail).toMatch(/^space default, exact: ~60 candidates ≤ \d+$/);
    } finally {
      db.dropIndex({ type: 'Message', property: 'bucket' });
    }
    const flatDb = await AsyncEmbeddedDB.open(join(dir, 'flat'), { spaces: { default: { dimensions: 2, metric: 'l2', index: 'flat' } } });
    try {
      await flatDb.insertNodesBatch(Array.from({ length: 3000 }, (_, i) => ({ id: `f${i}`, type: 'T' })));
      await flatDb.insertEmbeddingsBatch(Array.from({ length: 3000 }, (_, i) => ({ nodeId: `f${i}`, vector: [i, 0] })));
      const flat = await query(flatDb).similarTo([10.2, 0], { k: 3 }).explain();
      expect(flat.strategy).toBe('scan → exact-knn over the space → order');
      expect(flat.stages.find((s) => s.stage === 'distances')!.detail).toBe('space default, flat: exact');
    } finally {
      await flatDb.close();
    }
  });
});
