import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedDB, LoomError, type OpenOptions, type Properties } from '@loomdb/db';

/**
 * Model-based: random sequences of operations run against the native engine
 * (on a temp dir, reopened now and then) and against the in-memory
 * reference backend must give the same answers and the same error codes.
 */
const root = mkdtempSync(join(tmpdir(), 'loomdb-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ids = ['a', 'b', 'c', 'd', 'e'];
const id = fc.constantFrom(...ids);
const type = fc.constantFrom('A', 'B');
const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('x', 'y', ''), fc.boolean(), fc.constant(null));
const props = fc.dictionary(fc.constantFrom('p', 'q'), value, { maxKeys: 2 }).map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null)));
const vector = fc.tuple(fc.integer({ min: -4, max: 4 }), fc.integer({ min: -4, max: 4 }));

type Op =
  | { op: 'insertNode'; id: string; type: string; props: Record<string, unknown> }
  | { op: 'insertNodesBatch'; nodes: Array<{ id: string; type: string }> }
  | { op: 'updateNode'; id: string; props: Record<string, unknown> }
  | { op: 'deleteNode'; id: string }
  | { op: 'insertEdge'; id: string; from: string; to: string; type: string }
  | { op: 'deleteEdge'; id: string }
  | { op: 'getNode'; id: string }
  | { op: 'listNodes'; type?: string; where?: Record<string, unknown>; limit: number }
  | { op: 'neighbors'; id: string; direction: 'out' | 'in' | 'both' }
  | { op: 'traverse'; id: string; maxDepth: number }
  | { op: 'insertEmbedding'; id: string; vector: [number, number] }
  | { op: 'search'; vector: [number, number]; k: number; type?: string }
  | { op: 'transaction'; ops: Op[]; fail: boolean }
  | { op: 'stats' }
  | { op: 'reopen' };

const leaf: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('insertNode' as const), id, type, props }),
  fc.record({ op: fc.constant('insertNodesBatch' as const), nodes: fc.array(fc.record({ id, type }), { maxLength: 3 }) }),
  fc.record({ op: fc.constant('updateNode' as const), id, props }),
  fc.record({ op: fc.constant('deleteNode' as const), id }),
  fc.record({ op: fc.constant('insertEdge' as const), id: fc.constantFrom('e1', 'e2', 'e3'), from: id, to: id, type: fc.constantFrom('R', 'S') }),
  fc.record({ op: fc.constant('deleteEdge' as const), id: fc.constantFrom('e1', 'e2', 'e3') }),
  fc.record({ op: fc.constant('getNode' as const), id }),
  fc.record({ op: fc.constant('listNodes' as const), type: fc.option(type, { nil: undefined }), where: fc.option(fc.record({ p: value }), { nil: undefined }), limit: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ op: fc.constant('neighbors' as const), id, direction: fc.constantFrom('out' as const, 'in' as const, 'both' as const) }),
  fc.record({ op: fc.constant('traverse' as const), id, maxDepth: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('insertEmbedding' as const), id, vector }),
  fc.record({ op: fc.constant('search' as const), vector, k: fc.integer({ min: 1, max: 4 }), type: fc.option(type, { nil: undefined }) }),
  fc.record({ op: fc.constant('stats' as const) }),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: leaf },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('transaction' as const), ops: fc.array(leaf, { maxLength: 4 }), fail: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ op: 'reopen' as const }) },
);

/** What an answer looks like with the times (which the backends stamp differently) left out. */
const plain = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (key, v) => (key === 'createdAt' || key === 'updatedAt' ? undefined : v)));

/** Search hits as ids, and distances apart: the engine computes in f32, the model in f64. */
function sameHits(got: unknown, want: unknown, what: string): void {
  const split = (o: unknown) => {
    const hits = (o as { ok?: Array<{ id: string; distance: number }> }).ok;
    return hits ? { ids: hits.map((h) => h.id), distances: hits.map((h) => h.distance) } : { other: o };
  };
  const [g, w] = [split(got), split(want)];
  expect({ ...g, distances: undefined }, what).toEqual({ ...w, distances: undefined });
  g.distances?.forEach((d, i) => expect(d, what).toBeCloseTo(w.distances![i]!, 3));
}

const SPACES: OpenOptions['spaces'] = { default: { dimensions: 2, metric: 'l2', index: 'flat' } };

function apply(db: Pick<EmbeddedDB, 'insertNode'> & EmbeddedDB, o: Op): unknown {
  switch (o.op) {
    case 'insertNode':
      return db.insertNode({ id: o.id, type: o.type, properties: o.props as Properties });
    case 'insertNodesBatch':
      return db.insertNodesBatch(o.nodes);
    case 'updateNode':
      return db.updateNode(o.id, { properties: o.props as Properties });
    case 'deleteNode':
      return db.deleteNode(o.id);
    case 'insertEdge':
      return db.insertEdge({ id: o.id, type: o.type, from: o.from, to: o.to });
    case 'deleteEdge':
      return db.deleteEdge(o.id);
    case 'getNode':
      return db.getNode(o.id);
    case 'listNodes':
      return db.listNodes({ ...(o.type ? { type: o.type } : {}), ...(o.where ? { where: o.where as never } : {}), orderBy: 'id', limit: o.limit }).items;
    case 'neighbors':
      return db.neighbors(o.id, { direction: o.direction }).sort((x, y) => (x.edge.id < y.edge.id ? -1 : 1));
    case 'traverse':
      return db.traverse(o.id, { direction: 'out', maxDepth: o.maxDepth }).map((r) => [r.node.id, r.depth]).sort();
    case 'insertEmbedding':
      return db.insertEmbedding(o.id, o.vector);
    case 'search':
      return db.searchVectors(o.vector, { k: o.k, exact: true, ...(o.type ? { filter: { type: o.type } } : {}) });
    case 'stats': {
      const s = db.stats();
      return { nodes: s.nodes, edges: s.edges, embeddings: s.spaces.map((x) => x.embeddings) };
    }
    case 'transaction':
      return db.transaction((tx) => {
        const results = o.ops.filter((inner) => inner.op !== 'stats' && inner.op !== 'search').map((inner) => outcome(() => apply(tx as unknown as EmbeddedDB, inner)));
        if (o.fail) throw new Error('roll back');
        return results;
      });
    case 'reopen':
      return undefined;
  }
}

function outcome(run: () => unknown): unknown {
  try {
    return { ok: plain(run() ?? null) };
  } catch (e) {
    if (LoomError.is(e)) return { error: e.code };
    if (e instanceof Error && e.message === 'roll back') return { rolledBack: true };
    throw e;
  }
}

describe('the native engine against the in-memory model', () => {
  it('gives the same answers and error codes for random operation sequences (with reopens and transactions)', () => {
    let run = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
        const path = join(root, `run-${run++}`);
        let native = EmbeddedDB.open(path, { spaces: SPACES, durability: 'relaxed' });
        const model = EmbeddedDB.open(undefined, { storage: 'memory', spaces: SPACES });
        try {
          ops.forEach((o, step) => {
            if (o.op === 'reopen') {
              native.close();
              native = EmbeddedDB.open(path, { spaces: SPACES, durability: 'relaxed' });
              return;
            }
            const got = outcome(() => apply(native, o));
            const want = outcome(() => apply(model, o));
            const what = `step ${step}: ${JSON.stringify(o)}`;
            if (o.op === 'search') sameHits(got, want, what);
            else expect(got, what).toEqual(want);
          });
          expect(native.verify().ok).toBe(true);
        } finally {
          native.close();
          model.close();
        }
      }),
      { numRuns: Number(process.env.LOOMDB_MODEL_RUNS ?? 150), seed: process.env.LOOMDB_MODEL_SEED ? Number(process.env.LOOMDB_MODEL_SEED) : undefined },
    );
  });
});
