// Semantic search with the built-in hashing embedder: text in, nearest messages out,
// filtered by a property (k results come back whenever k nodes match).
// Run: node examples/semantic-search.mjs
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDB, hashingEmbed } from '@loomdb/db';

const db = EmbeddedDB.open(join(mkdtempSync(join(tmpdir(), 'loomdb-search-')), 'search.loomdb'), {
  spaces: { default: { dimensions: 384, metric: 'cosine', embedder: 'hashing' } },
});
db.createIndex({ type: 'Message', property: 'role' });
const texts = [
  ['user', 'We booked the ferry to Bellagio for Saturday'],
  ['assistant', 'Ferries on Lake Como leave every hour'],
  ['user', 'My sourdough starter smells of vinegar'],
  ['user', 'Which ferry goes from Varenna to Bellagio?'],
];
for (const [role, content] of texts) {
  const node = db.insertNode({ type: 'Message', properties: { role, content } });
  db.insertEmbedding(node.id, hashingEmbed(content));
}

const hits = db.searchVectors(hashingEmbed('ferry to Bellagio'), { k: 2, filter: { type: 'Message', where: { role: 'user' } } });
const found = hits.map((h) => db.getNode(h.id)?.properties.content);
assert.equal(found.length, 2);
assert.ok(found.every((c) => String(c).includes('Bellagio')));
for (const content of found) console.log('hit:', content);
db.close();
