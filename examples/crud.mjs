// Basic CRUD: nodes, edges, properties, deletes, and what absent reads return.
// Run: node examples/crud.mjs
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDB, LoomError } from '@loomdb/db';

const db = EmbeddedDB.open(join(mkdtempSync(join(tmpdir(), 'loomdb-crud-')), 'crud.loomdb'));

const ada = db.insertNode({ id: 'ada', type: 'Person', properties: { name: 'Ada', born: 1815 } });
const engine = db.insertNode({ type: 'Machine', properties: { name: 'Analytical Engine' } });
const edge = db.insertEdge({ type: 'WROTE_ABOUT', from: ada.id, to: engine.id });

db.updateNode('ada', { properties: { born: null, field: 'mathematics' } }); // shallow merge; null deletes
assert.deepEqual(db.getNode('ada')?.properties, { name: 'Ada', field: 'mathematics' });
assert.equal(db.neighbors('ada', { direction: 'out' })[0]?.node.id, engine.id);

try {
  db.insertNode({ id: 'ada', type: 'Person' });
  assert.fail('a second node with the same id');
} catch (e) {
  assert.ok(LoomError.is(e));
  console.log('insert twice:', e.code);
}

assert.equal(db.deleteNode(engine.id), true); // its edges go with it
assert.equal(db.getEdge(edge.id), null);
assert.equal(db.getNode(engine.id), null);
console.log('nodes:', db.stats().nodes, 'edges:', db.stats().edges);
db.close();
