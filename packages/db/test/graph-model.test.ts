import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type Direction, EmbeddedDB, LoomError } from '@loomdb/db';

const root = mkdtempSync(join(tmpdir(), 'loomdb-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dbCount = 0;

const TYPES = ['A', 'B'] as const;
const EDGE_TYPES = ['R', 'S'] as const;

/** A plain model: nodes with a type, edges as a list. */
interface Model {
  nodes: Map<string, string>;
  edges: Array<{ id: string; type: string; from: string; to: string }>;
}

const graphArb = fc
  .record({
    nodeTypes: fc.array(fc.constantFrom(...TYPES), { minLength: 1, maxLength: 25 }),
    edges: fc.array(fc.record({ from: fc.nat(), to: fc.nat(), type: fc.constantFrom(...EDGE_TYPES) }), { maxLength: 60 }),
  })
  .map(({ nodeTypes, edges }): Model => {
    const ids = nodeTypes.map((_, i) => `n${i}`);
    return {
      nodes: new Map(ids.map((id, i) => [id, nodeTypes[i] as string])),
      edges: edges.map((e, i) => ({ id: `e${i}`, type: e.type, from: ids[e.from % ids.length] as string, to: ids[e.to % ids.length] as string })),
    };
  });

/** A fresh database whose directory is removed when it closes. */
function open(storage: 'native' | 'memory'): EmbeddedDB {
  const path = join(root, `db${dbCount++}`);
  const db = EmbeddedDB.open(path, { storage, durability: 'relaxed' });
  const close = db.close.bind(db);
  db.close = () => {
    close();
    rmSync(path, { recursive: true, force: true });
  };
  return db;
}

function load(model: Model, storage: 'native' | 'memory'): EmbeddedDB {
  const db = open(storage);
  db.insertNodesBatch([...model.nodes].map(([id, type]) => ({ id, type })));
  if (model.edges.length) db.insertEdgesBatch(model.edges);
  return db;
}

function adjacent(model: Model, id: string, direction: Direction, edgeTypes?: readonly string[]): string[] {
  const out: string[] = [];
  for (const e of model.edges) {
    if (edgeTypes && !edgeTypes.includes(e.type)) continue;
    if (direction !== 'in' && e.from === id) out.push(e.to);
    else if (direction !== 'out' && e.to === id) out.push(e.from);
  }
  return out;
}

/** Hop distance from `start` to every node reachable within `maxDepth`, entering only `nodeTypes`. */
function distances(model: Model, start: string, direction: Direction, maxDepth: number, edgeTypes?: readonly string[], nodeTypes?: readonly string[]) {
  const dist = new Map<string, number>([[start, 0]]);
  let frontier = [start];
  for (let d = 1; d <= maxDepth; d++) {
    const next: string[] = [];
    for (const at of frontier) {
      for (const other of adjacent(model, at, direction, edgeTypes)) {
        if (dist.has(other)) continue;
        if (nodeTypes && !nodeTypes.includes(model.nodes.get(other) as string)) continue;
        dist.set(other, d);
        next.push(other);
      }
    }
    frontier = next;
  }
  dist.delete(start);
  return dist;
}

/** Whether `fn` ran without throwing. */
function attempt(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

const directionArb = fc.constantFrom<Direction>('out', 'in', 'both');
const edgeTypesArb = fc.option(fc.subarray([...EDGE_TYPES], { minLength: 1 }), { nil: undefined });

for (const storage of ['native', 'memory'] as const) {
  describe(`graph operations match a plain model (${storage})`, () => {
    it('traverse, shortestPath, neighbors and degree', () => {
      fc.assert(
        fc.property(graphArb, fc.nat(), directionArb, edgeTypesArb, fc.integer({ min: 1, max: 5 }), fc.boolean(), (model, pick, direction, edgeTypes, maxDepth, onlyA) => {
          const db = load(model, storage);
          try {
            const ids = [...model.nodes.keys()];
            const start = ids[pick % ids.length] as string;
            const nodeTypes = onlyA ? ['A'] : undefined;
            const expected = distances(model, start, direction, maxDepth, edgeTypes, nodeTypes);
            const walk = db.traverse(start, { direction, maxDepth, edgeTypes, nodeTypes });
            expect(new Map(walk.map((r) => [r.node.id, r.depth]))).toEqual(expected);
            expect(walk).toHaveLength(expected.size);
            for (const r of walk) {
              const via = db.getEdge(r.via);
              expect(via && (via.from === r.node.id || via.to === r.node.id)).toBe(true);
            }
            for (const target of ids) {
              const path = db.shortestPath(start, target, { direction, maxDepth, edgeTypes });
              const want = target === start ? 0 : distances(model, start, direction, maxDepth, edgeTypes).get(target);
              if (want === undefined) {
                expect(path).toBeNull();
                continue;
              }
              expect(path?.edges).toHaveLength(want);
              expect(path?.nodes.map((n) => n.id)[0]).toBe(start);
              expect(path?.nodes.at(-1)?.id).toBe(target);
            }
            const around = adjacent(model, start, direction, edgeTypes).sort();
            expect(db.neighbors(start, { direction, edgeTypes }).map((n) => n.node.id).sort()).toEqual(around);
            expect(db.degree(start, { direction, edgeTypes })).toBe(around.length);
          } finally {
            db.close();
          }
        }),
        { numRuns: 60 },
      );
    });

    it('bulk deletes remove exactly what the model says, or nothing on bad input', () => {
      fc.assert(
        fc.property(graphArb, fc.subarray(['n0', 'n1', 'n2', 'n3', 'n4', 'ghost']), fc.constantFrom(...TYPES), (model, victims, type) => {
          const db = load(model, storage);
          try {
            const doomed = new Set(victims.filter((id) => model.nodes.has(id)));
            expect(db.deleteNodes(victims)).toBe(doomed.size);
            const edgesLeft = model.edges.filter((e) => !doomed.has(e.from) && !doomed.has(e.to));
            expect([...db.iterateEdges()].map((e) => e.id).sort()).toEqual(edgesLeft.map((e) => e.id).sort());
            const before = db.stats();
            expect(() => db.insertEdgesBatch([{ type: 'R', from: 'n0', to: 'n0' }, { type: 'R', from: 'ghost', to: 'n0' }])).toThrow(LoomError);
            expect(db.stats()).toEqual(before);
            const ofType = [...model.nodes].filter(([id, t]) => t === type && !doomed.has(id)).length;
            expect(db.deleteNodes({ type })).toBe(ofType);
            expect([...db.iterateNodes()].every((n) => n.type !== type)).toBe(true);
          } finally {
            db.close();
          }
        }),
        { numRuns: 40 },
      );
    });

    it('transactions commit exactly the model’s writes, and roll back to the state before', () => {
      const opArb = fc.oneof(
        fc.record({ kind: fc.constant('node' as const), n: fc.nat({ max: 30 }), type: fc.constantFrom(...TYPES) }),
        fc.record({ kind: fc.constant('edge' as const), from: fc.nat({ max: 30 }), to: fc.nat({ max: 30 }), type: fc.constantFrom(...EDGE_TYPES) }),
        fc.record({ kind: fc.constant('deleteNode' as const), n: fc.nat({ max: 30 }) }),
        fc.record({ kind: fc.constant('deleteEdges' as const), type: fc.constantFrom(...EDGE_TYPES) }),
      );
      fc.assert(
        fc.property(graphArb, fc.array(opArb, { maxLength: 25 }), fc.boolean(), (model, ops, commit) => {
          const db = load(model, storage);
          try {
            const want: Model = { nodes: new Map(model.nodes), edges: [...model.edges] };
            const before = { nodes: [...db.iterateNodes()], edges: [...db.iterateEdges()] };
            let edgeCount = 0;
            const apply = (tx: Parameters<Parameters<EmbeddedDB['transaction']>[0]>[0]) => {
              for (const op of ops) {
                // Every op either succeeds in both or fails in both (and then changes nothing).
                if (op.kind === 'node') {
                  const id = `n${op.n}`;
                  const ok = !want.nodes.has(id);
                  if (ok) want.nodes.set(id, op.type);
                  expect(attempt(() => tx.insertNode({ id, type: op.type }))).toBe(ok);
                } else if (op.kind === 'edge') {
                  const [from, to] = [`n${op.from}`, `n${op.to}`];
                  const ok = want.nodes.has(from) && want.nodes.has(to);
                  const id = `t${edgeCount++}`;
                  if (ok) want.edges.push({ id, type: op.type, from, to });
                  expect(attempt(() => tx.insertEdge({ id, type: op.type, from, to }))).toBe(ok);
                } else if (op.kind === 'deleteNode') {
                  const id = `n${op.n}`;
                  expect(tx.deleteNode(id)).toBe(want.nodes.delete(id));
                  want.edges = want.edges.filter((e) => e.from !== id && e.to !== id);
                } else {
                  const left = want.edges.filter((e) => e.type !== op.type);
                  expect(tx.deleteEdges({ type: op.type })).toBe(want.edges.length - left.length);
                  want.edges = left;
                }
              }
              expect(tx.stats().nodes).toBe(want.nodes.size);
              expect(tx.stats().edges).toBe(want.edges.length);
              if (!commit) throw new Error('roll back');
            };
            expect(attempt(() => db.transaction(apply))).toBe(commit);
            if (commit) {
              expect(new Map([...db.iterateNodes()].map((n) => [n.id, n.type]))).toEqual(want.nodes);
              expect([...db.iterateEdges()].map((e) => e.id).sort()).toEqual(want.edges.map((e) => e.id).sort());
            } else {
              expect({ nodes: [...db.iterateNodes()], edges: [...db.iterateEdges()] }).toEqual(before);
            }
          } finally {
            db.close();
          }
        }),
        { numRuns: 60 },
      );
    });

    it('pagination under concurrent inserts and deletes never repeats or skips a stable node', () => {
      const stepArb = fc.record({ insert: fc.nat({ max: 3 }), remove: fc.array(fc.nat(), { maxLength: 3 }) });
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 40 }),
          fc.integer({ min: 1, max: 7 }),
          fc.constantFrom<'createdAt' | 'id'>('createdAt', 'id'),
          fc.constantFrom<'asc' | 'desc'>('asc', 'desc'),
          fc.array(stepArb, { maxLength: 15 }),
          (count, limit, orderBy, direction, steps) => {
            const db = open(storage);
            try {
              const initial = db.insertNodesBatch(Array.from({ length: count }, (_, i) => ({ id: `s${String(i).padStart(3, '0')}`, type: 'T' })));
              const removed = new Set<string>();
              const seen: string[] = [];
              let cursor: string | undefined;
              let step = 0;
              let extra = 0;
              do {
                const page = db.listNodes({ limit, orderBy, direction, cursor });
                seen.push(...page.items.map((n) => n.id));
                cursor = page.nextCursor;
                // Writes stop when the steps run out, so the walk ends.
                const s = steps[step++];
                if (s) {
                  for (let i = 0; i < s.insert; i++) db.insertNode({ id: `x${extra++}`, type: 'T' });
                  for (const r of s.remove) {
                    const victim = initial[r % initial.length] as string;
                    if (db.deleteNode(victim)) removed.add(victim);
                  }
                }
              } while (cursor);
              expect(new Set(seen).size).toBe(seen.length);
              const stable = initial.filter((id) => !removed.has(id));
              for (const id of stable) expect(seen).toContain(id);
            } finally {
              db.close();
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  });
}
