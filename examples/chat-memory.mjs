// Chat memory with the weaver: events in, memory graph out, then MemoryQueries.
// Run: node examples/chat-memory.mjs
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDB } from '@loomdb/db';
import { MemoryQueries } from '@loomdb/query';
import { WeaverController } from '@loomdb/weaver';

const db = EmbeddedDB.open(join(mkdtempSync(join(tmpdir(), 'loomdb-chat-')), 'chat.loomdb'));
const weaver = new WeaverController(db);
weaver.on('error', (e) => console.error('weaver:', e.code, e.message));
await weaver.initialize();

const t = Date.parse('2026-05-01T09:00:00Z');
await weaver.submitEvents([
  { id: 'e1', type: 'message', conversationId: 'trip', role: 'user', content: 'Planning a week in Lisbon with Maria in June.', timestamp: t },
  { id: 'e2', type: 'message', conversationId: 'trip', role: 'assistant', content: 'Lisbon in June is warm; book the tram to Belém early.', timestamp: t + 1000 },
  { id: 'e3', type: 'message', conversationId: 'code', role: 'user', content: 'Why does the borrow checker reject this loop?', timestamp: t + 2000 },
  { id: 'e1', type: 'message', conversationId: 'trip', role: 'user', content: 'Planning a week in Lisbon with Maria in June.', timestamp: t }, // a duplicate: applied once
]);
await weaver.shutdown({ drain: true });

const memory = new MemoryQueries(db);
const similar = await memory.findSimilarMemories('trip to Lisbon', { k: 2 });
assert.equal(similar.items.length, 2);
for (const item of similar.items) console.log('memory:', item.node.properties.content);

const history = await memory.getChatHistory('trip', { limit: 10 });
assert.equal(history.items.length, 2);
const lisbon = await memory.searchByEntity('Lisbon', { k: 10 });
assert.ok(lisbon.items.length >= 1);
console.log('trip messages:', history.items.length, '| mentioning Lisbon:', lisbon.items.length, '| processed:', weaver.stats().processed);
db.close();
