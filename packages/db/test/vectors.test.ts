import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AsyncEmbeddedDB, EmbeddedDB, LoomError, type Metric, type SearchHit, type SearchOptions } from '@loomdb/db';
import { EmbeddingModel, recall, row } from '@loomdb/db/testing/data';

const root = mkdtempSync(join(tmpdir(), 'loomdb-vectors-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const DIMS = 384;
const COUNT = 20_000;
const QUERIES = 40;
const model = new EmbeddingModel({ dimensions: DIMS, seed: 7 });
const data = model.sample(COUNT, 1);
const queries = model.sample(QUERIES, 2);
const query = (q: number) => row(queries, DIMS, q);

/** `r` = i mod 1000 drives selectivity: r < 1 is 0.1 %, < 10 is 1 %, < 100 is 10 %, < 500 is 50 %. */
const SELECTIVITY = [
  { label: '0.1 %', below: 1, type: 'A' },
  { label: '1 %', below: 10, type: 'B' },
  { label: '10 %', below: 100, type: 'C' },
  { label: '50 %', below: 500, type: 'D' },
] as const;
const typeOf = (r: number) => (r < 1 ? 'A' : r < 10 ? 'B' : r < 100 ? 'C' : r < 500 ? 'D' : 'E');

function meanRecall(db: EmbeddedDB, options: SearchOptions): { recall: number; short: number } {
  let total = 0;
  let short = 0;
  for (let q = 0; q < QUERIES; q++) {
    const approx = db.searchVectors(query(q), options);
    const exact = db.searchVectors(query(q), { ...options, exact: true });
    if (approx.length !== exact.length) short++;
    total += recall(approx, exact);
  }
  return { recall: total / QUERIES, short };
}

/** One database with the 20k vectors in a space per metric. */
function build(path: string): EmbeddedDB {
  const spaces = { cosine: { dimensions: DIMS, metric: 'cosine' as Metric }, l2: { dimensions: DIMS, metric: 'l2' as Metric }, dot: { dimensions: DIMS, metric: 'dot' as Metric } };
  const db = EmbeddedDB.open(path, { spaces, durability: 'relaxed' });
  db.insertNodesBatch(Array.from({ length: COUNT }, (_, i) => ({ id: `n${i}`, type: typeOf(i % 1000), properties: { r: i % 1000 } })));
  for (const space of Object.keys(spaces)) {
    db.insertEmbeddingsBatch(Array.from({ length: COUNT }, (_, i) => ({ nodeId: `n${i}`, vector: row(data, DIMS, i), space })));
  }
  db.catchUpIndexes(); // so the searches below measure the graphs, not the exact scan that answers until they are built
  return db;
}

describe('HNSW search on embedding-like data (20k × 384)', () => {
  const path = join(root, 'recall');
  let db: EmbeddedDB;

  it('reaches recall@10 ≥ 0.95 with the default settings, for every metric', () => {
    db = build(path);
    for (const space of ['cosine', 'l2', 'dot']) {
      const { recall: r, short } = meanRecall(db, { k: 10, space });
      expect(short, space).toBe(0);
      expect(r, `recall@10 in ${space}`).toBeGreaterThanOrEqual(0.95);
    }
    const graph = db.stats().spaces.find((s) => s.name === 'cosine')?.graph;
    expect(graph).toMatchObject({ loaded: true, vectors: COUNT, rebuilds: 1 });
  });

  for (const { label, below, type } of SELECTIVITY) {
    it(`returns exactly k with recall ≥ 0.95 at ${label} selectivity (type filter and unindexed where)`, () => {
      for (const filter of [{ type }, { where: { r: { lt: below } } }]) {
        const { recall: r, short } = meanRecall(db, { k: 10, space: 'cosine', filter });
        expect(short, JSON.stringify(filter)).toBe(0);
        expect(r, `filtered recall, ${JSON.stringify(filter)}`).toBeGreaterThanOrEqual(0.95);
        expect(db.searchVectors(query(0), { k: 10, space: 'cosine', filter })).toHaveLength(10);
      }
    });
  }

  it('lets a query raise ef for more recall', () => {
    const low = meanRecall(db, { k: 10, space: 'l2', ef: 10 }).recall;
    const high = meanRecall(db, { k: 10, space: 'l2', ef: 400 }).recall;
    expect(high).toBeGreaterThanOrEqual(low);
    expect(high).toBeGreaterThanOrEqual(0.99);
  });

  it('never returns deleted nodes or replaced vectors', () => {
    const before = db.searchVectors(query(3), { k: 5, space: 'cosine' });
    const [gone, moved] = before as [SearchHit, SearchHit];
    db.deleteNode(gone.id);
    // Move `moved` far away: the opposite of the query.
    db.insertEmbedding(moved.id, Float32Array.from(query(3), (x) => -x), { space: 'cosine' });
    const after = db.searchVectors(query(3), { k: 5, space: 'cosine' });
    expect(after.map((h) => h.id)).not.toContain(gone.id);
    expect(after.map((h) => h.id)).not.toContain(moved.id);
    expect(after).toHaveLength(5);
    const far = db.searchVectors(Float32Array.from(query(3), (x) => -x), { k: 1, space: 'cosine' });
    expect(far[0]?.id).toBe(moved.id);
  });

  it('reopens from the saved graph with identical results', () => {
    const expected = Array.from({ length: 10 }, (_, q) => db.searchVectors(query(q), { k: 10, space: 'l2' }));
    db.close();
    expect(statSync(join(path, 'l2.hnsw')).size).toBeGreaterThan(COUNT * DIMS * 4);
    db = EmbeddedDB.open(path);
    const started = performance.now();
    db.catchUpIndexes();
    const first = db.searchVectors(query(0), { k: 10, space: 'l2' });
    expect(performance.now() - started, 'loading a 20k sidecar').toBeLessThan(2000);
    expect(first).toEqual(expected[0]);
    for (let q = 1; q < 10; q++) expect(db.searchVectors(query(q), { k: 10, space: 'l2' })).toEqual(expected[q]);
    expect(db.stats().spaces.find((s) => s.name === 'l2')?.graph).toMatchObject({ loads: 1, rebuilds: 0 });
  });

  it('answers concurrent async searches like the sync API', async () => {
    const adb = await AsyncEmbeddedDB.open(path);
    const results = await Promise.all(Array.from({ length: 16 }, (_, q) => adb.searchVectors(query(q), { k: 10, space: 'cosine', filter: q % 2 ? { type: 'D' } : undefined })));
    results.forEach((hits, q) => expect(hits).toEqual(db.searchVectors(query(q), { k: 10, space: 'cosine', filter: q % 2 ? { type: 'D' } : undefined })));
    adb.close();
    db.close();
  });
});

describe('vector search across processes and transactions', () => {
  const small = new EmbeddingModel({ dimensions: 32, latent: 8, clusters: 10, seed: 3 });
  const vectors = small.sample(3000, 4);

  function fill(path: string): EmbeddedDB {
    const db = EmbeddedDB.open(path, { spaces: { default: { dimensions: 32, metric: 'cosine' } } });
    db.insertNodesBatch(Array.from({ length: 3000 }, (_, i) => ({ id: `n${i}`, type: 'T' })));
    db.insertEmbeddingsBatch(Array.from({ length: 3000 }, (_, i) => ({ nodeId: `n${i}`, vector: row(vectors, 32, i) })));
    return db;
  }

  it('a second process sees the first one’s new vectors', async () => {
    const path = join(root, 'procs');
    const db = fill(path);
    const target = Float32Array.from({ length: 32 }, (_, i) => (i === 3 ? 1 : 0));
    expect(db.searchVectors(target, { k: 1 })[0]?.id).not.toBe('fresh');
    const script = `
      import { EmbeddedDB } from '@loomdb/db';
      const db = EmbeddedDB.open(${JSON.stringify(path)});
      db.insertNode({ id: 'fresh', type: 'T' });
      db.insertEmbedding('fresh', Array.from({ length: 32 }, (_, i) => (i === 3 ? 1 : 0)));
      db.deleteNode('n0');
      db.close();`;
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: __dirname, stdio: 'inherit' });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child exited ${code}`))));
    });
    expect(db.searchVectors(target, { k: 1 })).toEqual([{ id: 'fresh', distance: 0 }]);
    expect(db.searchVectors(row(vectors, 32, 0), { k: 10 }).map((h) => h.id)).not.toContain('n0');
    db.catchUpIndexes();
    expect(db.stats().spaces[0]?.graph).toMatchObject({ loaded: true, behind: 0 });
    expect(db.stats().spaces[0]?.graph?.catchUps).toBeGreaterThanOrEqual(1);
    db.close();
  });

  it('rebuilds a deleted, truncated or corrupt sidecar and catches up a stale one', () => {
    const path = join(root, 'damage');
    let db = fill(path);
    const q = (i: number) => row(vectors, 32, (i * 37) % 3000);
    const truth = Array.from({ length: 20 }, (_, i) => db.searchVectors(q(i), { k: 10, exact: true }));
    db.catchUpIndexes();
    db.close();
    const sidecar = join(path, 'default.hnsw');
    const good = readFileSync(sidecar);
    const damage: Array<[string, () => void]> = [
      ['deleted', () => rmSync(sidecar)],
      ['truncated', () => writeFileSync(sidecar, good.subarray(0, good.length >> 1))],
      ['corrupt', () => writeFileSync(sidecar, Buffer.concat([good.subarray(0, good.length - 100), Buffer.alloc(100, 7)]))],
      ['not ours', () => writeFileSync(sidecar, 'hello')],
    ];
    for (const [what, damageIt] of damage) {
      damageIt();
      db = EmbeddedDB.open(path);
      db.catchUpIndexes();
      let total = 0;
      for (let i = 0; i < 20; i++) total += recall(db.searchVectors(q(i), { k: 10 }), truth[i] as SearchHit[]);
      expect(total / 20, what).toBeGreaterThanOrEqual(0.95);
      expect(db.stats().spaces[0]?.graph, what).toMatchObject({ rebuilds: 1, loads: 0 });
      db.close();
      expect(existsSync(sidecar), `${what}: saved again at close`).toBe(true);
    }
    // Stale: written before the last vectors arrived.
    writeFileSync(sidecar, good);
    db = EmbeddedDB.open(path);
    db.insertNode({ id: 'late', type: 'T' });
    db.close();
    db = EmbeddedDB.open(path);
    const target = Float32Array.from({ length: 32 }, (_, i) => (i === 7 ? 1 : 0));
    db.insertEmbedding('late', target);
    expect(db.searchVectors(target, { k: 1 })[0]?.id).toBe('late');
    db.catchUpIndexes();
    expect(db.stats().spaces[0]?.graph).toMatchObject({ loads: 1, rebuilds: 0, vectors: 3001 });
    db.close();
  });

  it('searches inside a transaction see its own uncommitted vectors, and a rollback leaves the graph clean', () => {
    const path = join(root, 'tx');
    const db = fill(path);
    const target = Float32Array.from({ length: 32 }, (_, i) => (i === 5 ? 1 : 0));
    expect(() =>
      db.transaction((tx) => {
        tx.insertNode({ id: 'draft', type: 'T' });
        tx.insertEmbedding('draft', target);
        expect(tx.searchVectors(target, { k: 1 })[0]?.id).toBe('draft');
        throw new Error('roll back');
      }),
    ).toThrow('roll back');
    expect(db.searchVectors(target, { k: 3 }).map((h) => h.id)).not.toContain('draft');
    db.close();
  });

  it('refuses bad input with its code and writes nothing', () => {
    const path = join(root, 'bad');
    const db = fill(path);
    const before = db.stats();
    const v = row(vectors, 32, 1);
    const cases: Array<[() => unknown, string]> = [
      [() => db.insertEmbedding('n1', new Float32Array(31)), 'DIMENSION_MISMATCH'],
      [() => db.insertEmbedding('n1', [...v.slice(0, 31), Number.NaN]), 'INVALID_ARGUMENT'],
      [() => db.insertEmbedding('n1', [...v.slice(0, 31), Number.POSITIVE_INFINITY]), 'INVALID_ARGUMENT'],
      [() => db.insertEmbedding('n1', []), 'INVALID_ARGUMENT'],
      [() => db.insertEmbedding('n1', ['1', ...v.slice(1)] as never), 'INVALID_ARGUMENT'],
      [() => db.insertEmbedding('n1', 'text' as never), 'INVALID_ARGUMENT'],
      [() => db.insertEmbedding('n1', v, { space: 'nope' }), 'NOT_FOUND'],
      [() => db.insertEmbedding('ghost', v), 'NOT_FOUND'],
      [() => db.insertEmbeddingsBatch([{ nodeId: 'n1', vector: v }, { nodeId: 'n2', vector: new Float32Array(3) }]), 'DIMENSION_MISMATCH'],
      [() => db.insertEmbeddingsBatch([{ nodeId: 'n1', vector: v }, { nodeId: 'n2', vector: v, space: 'nope' }]), 'NOT_FOUND'],
      [() => db.searchVectors(new Float32Array(31)), 'DIMENSION_MISMATCH'],
      [() => db.searchVectors([Number.NaN, ...v.slice(1)]), 'INVALID_ARGUMENT'],
      [() => db.searchVectors(v, { space: 'nope' }), 'NOT_FOUND'],
      [() => db.searchVectors(v, { k: 0 }), 'INVALID_ARGUMENT'],
      [() => db.searchVectors(v, { ef: -1 }), 'INVALID_ARGUMENT'],
      [() => db.createSpace('default', { dimensions: 64, metric: 'cosine' }), 'INVALID_ARGUMENT'],
    ];
    for (const [f, code] of cases) {
      let caught: unknown;
      try {
        f();
      } catch (e) {
        caught = e;
      }
      expect(LoomError.is(caught) && caught.code, String(f)).toBe(code);
    }
    expect(db.getEmbedding('n1')).toEqual(v);
    const after = db.stats();
    expect({ ...after, spaces: after.spaces.map(({ graph, ...s }) => s) }).toEqual({ ...before, spaces: before.spaces.map(({ graph, ...s }) => s) });
    db.close();
  });
});
