import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedDB, type JsonValue, type NodeListOptions, type Where } from '@loomdb/db';

const root = mkdtempSync(join(tmpdir(), 'loomdb-index-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let count = 0;

// Few distinct values, so conditions hit; long strings exercise cut keys.
const long = 'L'.repeat(500);
const valueArb: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(0, -0, 1, 2.5, -7, 1e300, '', 'a', 'a\u0000', 'ab', 'b', `${long}a`, `${long}b`, true, false, null),
  fc.constantFrom<JsonValue>([1], { k: 1 }),
);
const scalarArb = valueArb.filter((v) => v === null || typeof v !== 'object');
const conditionArb = fc.oneof(
  scalarArb,
  scalarArb.map((v) => ({ eq: v })),
  scalarArb.map((v) => ({ ne: v })),
  fc.array(scalarArb, { minLength: 1, maxLength: 3 }).map((vs) => ({ in: vs })),
  fc.tuple(fc.constantFrom('gt', 'gte', 'lt', 'lte'), scalarArb).map(([op, v]) => ({ [op]: v })),
);
const nodesArb = fc.array(
  fc.record({ type: fc.constantFrom('A', 'B'), v: fc.option(valueArb, { nil: undefined }), w: fc.option(valueArb, { nil: undefined }) }),
  { maxLength: 40 },
);

function open(storage: 'native' | 'memory'): EmbeddedDB {
  return EmbeddedDB.open(join(root, `db${count++}`), { storage, durability: 'relaxed' });
}

describe('property indexes', () => {
  it('never change a result: indexed native equals the unindexed reference, through updates and deletes', () => {
    fc.assert(
      fc.property(
        nodesArb,
        fc.dictionary(fc.constantFrom('v', 'w'), conditionArb, { minKeys: 1 }),
        fc.constantFrom<string[]>(['A'], ['A', 'B']),
        fc.constantFrom<'createdAt' | 'id'>('createdAt', 'id'),
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.record({ at: fc.nat(), v: valueArb, remove: fc.boolean() }), { maxLength: 6 }),
        (nodes, where, type, orderBy, limit, edits) => {
          const indexed = open('native');
          const reference = open('memory');
          try {
            indexed.createIndex({ type: 'A', property: 'v' });
            indexed.createIndex({ type: 'B', property: 'v' });
            const items = nodes.map((n, i) => ({ id: `n${String(i).padStart(2, '0')}`, type: n.type, properties: { ...(n.v === undefined ? {} : { v: n.v }), ...(n.w === undefined ? {} : { w: n.w }) } }));
            for (const db of [indexed, reference]) if (items.length) db.insertNodesBatch(items);
            for (const e of edits) {
              const id = items.length ? (items[e.at % items.length] as { id: string }).id : 'none';
              for (const db of [indexed, reference]) {
                if (e.remove) db.deleteNode(id);
                else if (db.getNode(id)) db.updateNode(id, { properties: { v: e.v } });
              }
            }
            const walk = (db: EmbeddedDB) => {
              const seen: string[] = [];
              let cursor: string | undefined;
              do {
                const page = db.listNodes({ type, where: where as Where, orderBy, limit, cursor } as NodeListOptions);
                seen.push(...page.items.map((n) => n.id));
                cursor = page.nextCursor;
              } while (cursor);
              return seen;
            };
            expect(walk(indexed)).toEqual(walk(reference));
            const entries = (db: EmbeddedDB) => db.stats().nodes;
            expect(entries(indexed)).toBe(entries(reference));
            expect(indexed.deleteNodes({ type, where: where as Where })).toBe(reference.deleteNodes({ type, where: where as Where }));
            expect([...indexed.iterateNodes()].map((n) => n.id)).toEqual([...reference.iterateNodes()].map((n) => n.id));
          } finally {
            indexed.close();
            reference.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
