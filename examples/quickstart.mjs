// A first look at LoomDB: a tiny memory graph with embeddings and a search.
// Run: npm run build && node examples/quickstart.mjs
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDB } from '@loomdb/db';

const db = EmbeddedDB.open(join(mkdtempSync(join(tmpdir(), 'loomdb-example-')), 'memory.loomdb'), {
  spaces: { default: { dimensions: 3, metric: 'cosine' } },
});

const chat = db.insertNode({ type: 'Conversation', properties: { title: 'Weekend plans' } });
const hike = db.insertNode({ type: 'Message', properties: { role: 'user', content: 'Shall we hike on Saturday?' } });
const rain = db.insertNode({ type: 'Message', properties: { role: 'assistant', content: 'Rain is forecast; maybe a museum.' } });
db.insertEdge({ type: 'IN_CONVERSATION', from: hike.id, to: chat.id });
db.insertEdge({ type: 'IN_CONVERSATION', from: rain.id, to: chat.id });
db.insertEdge({ type: 'NEXT', from: hike.id, to: rain.id });
db.insertEmbedding(hike.id, [0.9, 0.1, 0.0]);
db.insertEmbedding(rain.id, [0.1, 0.8, 0.3]);

for (const { id, distance } of db.searchVectors([1, 0, 0], { k: 2 })) {
  console.log(distance.toFixed(3), db.getNode(id)?.properties.content);
}
console.log(db.stats());
db.close();
