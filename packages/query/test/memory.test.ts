import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedDB } from '@loomdb/db';
import { EdgeTypes, MESSAGE_SPACE, MESSAGE_SPACE_SPEC, NodeTypes } from '@loomdb/query/memory';

const dir = mkdtempSync(join(tmpdir(), 'loomdb-vocab-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('memory vocabulary', () => {
  it('loads from both module systems through the exports map', () => {
    const require = createRequire(import.meta.url);
    expect(require('@loomdb/query/memory').NodeTypes).toEqual(NodeTypes);
    expect(require('@loomdb/query').EdgeTypes).toEqual(EdgeTypes);
  });

  it('names a message space its embedder can fill', () => {
    const db = EmbeddedDB.open(join(dir, 'vocab'), { spaces: { [MESSAGE_SPACE]: MESSAGE_SPACE_SPEC } });
    const embedder = db.embedder(MESSAGE_SPACE_SPEC.embedder);
    expect(embedder.dimensions).toBe(MESSAGE_SPACE_SPEC.dimensions);
    const chat = db.insertNode({ type: NodeTypes.Conversation, properties: { title: 'Trip' } });
    const msg = db.insertNode({ type: NodeTypes.Message, properties: { conversationId: chat.id, role: 'user', content: 'Hike to Lake Como?', timestamp: 1, eventId: 'e1', source: 'test' } });
    db.insertEdge({ type: EdgeTypes.IN_CONVERSATION, from: msg.id, to: chat.id });
    db.insertEmbedding(msg.id, embedder.embedSync!(['Hike to Lake Como?'])[0]!);
    expect(db.searchVectors(embedder.embedSync!(['lake hike'])[0]!, { k: 1 })[0]?.id).toBe(msg.id);
    db.close();
  });
});
