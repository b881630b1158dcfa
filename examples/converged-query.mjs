// A converged query: structure, graph and similarity in one plan, and explain().
// Run: node examples/converged-query.mjs
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDB } from '@loomdb/db';
import { query } from '@loomdb/query';

const db = EmbeddedDB.open(join(mkdtempSync(join(tmpdir(), 'loomdb-query-')), 'query.loomdb'), {
  spaces: { default: { dimensions: 3, metric: 'cosine' } },
});
db.createIndex({ type: 'Message', property: 'role' });
const rust = db.insertNode({ id: 'rust', type: 'Entity', properties: { name: 'Rust' } });
const rows = [
  ['m1', 'user', [0.9, 0.1, 0], true],
  ['m2', 'assistant', [0.8, 0.2, 0.1], true],
  ['m3', 'user', [0.7, 0.3, 0], true],
  ['m4', 'user', [1, 0, 0], false], // nearest, but does not mention Rust
];
for (const [id, role, vector, mentions] of rows) {
  db.insertNode({ id, type: 'Message', properties: { role } });
  db.insertEmbedding(id, vector);
  if (mentions) db.insertEdge({ type: 'MENTIONS', from: id, to: rust.id });
}

const q = query(db)
  .type('Message')
  .where('role', 'eq', 'user')
  .connectedTo(rust.id, { edgeTypes: ['MENTIONS'], direction: 'out', maxHops: 1 })
  .similarTo([1, 0, 0], { k: 2 });
const { items } = await q.execute();
assert.deepEqual(items.map((i) => i.node.id), ['m1', 'm3']);
console.log('results:', items.map((i) => i.node.id).join(', '));

const explained = await q.explain();
console.log('executor:', explained.executor);
for (const s of explained.stages) console.log(`stage ${s.stage}: ${s.detail ?? ''} (actual ${s.actual})`);
db.close();
