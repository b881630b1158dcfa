import { MemoryQueries } from '@loomdb/query';
import { WeaverController } from '@loomdb/weaver';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreChecksum } from '../src/format/checksum.js';
import { importIndexedDBExport, migrateFromIndexedDB, nodeIdFor, type ExportManifest } from '../src/index.js';
import { legacyExport } from './export-stream.js';
import { freshDb, nextChain, removeTemps } from './helpers.js';

afterEach(removeTemps);

type Db = ReturnType<typeof freshDb>;

async function withWeaver<T>(db: Db, run: (weaver: WeaverController) => Promise<T>): Promise<T> {
  const weaver = new WeaverController(db, { maxLatencyMs: 1, pollMs: 20 });
  await weaver.initialize();
  try {
    return await run(weaver);
  } finally {
    await weaver.shutdown({ drain: true });
  }
}

/** What the woven import made, by record id (the woven node ids are the weaver's own). */
function woven(db: Db) {
  const messages = [...db.iterateNodes({ type: 'Message' })];
  const byEvent = new Map(messages.map((m) => [m.properties.eventId as string, m]));
  const out = (id: string, type: string) => db.neighbors(id, { direction: 'out', edgeTypes: [type] }).map((n) => n.node);
  return {
    byEvent,
    messages: messages.map((m) => ({
      eventId: m.properties.eventId,
      content: m.properties.content,
      next: out(m.id, 'NEXT').map((n) => n.properties.eventId),
      mentions: out(m.id, 'MENTIONS').map((n) => n.properties.key).sort(),
      legacy: Array.from(db.getEmbedding(m.id, { space: 'legacy' }) ?? []),
    })).sort((a, b) => (String(a.eventId) < String(b.eventId) ? -1 : 1)),
  };
}

describe('importIndexedDBExport through a weaver', () => {
  it('builds the memory graph as for live events: woven messages, NEXT in time order, entities merged, legacy vectors on them', async () => {
    const messages = await legacyExport({ badMessages: 1 });
    const db = freshDb();
    const report = await withWeaver(db, (weaver) => importIndexedDBExport(db, messages, { weaver }));
    expect(report.stores.messages).toMatchObject({ exported: 30, imported: 29, skipped: 1, verified: true });
    expect(report.stores.embeddings).toMatchObject({ imported: 29, skipped: 1 });
    const { byEvent } = woven(db);
    expect(byEvent.size).toBe(29);
    // The weaver's nodes, found by the record's id as their event id; no direct Message node.
    const id = nodeIdFor('messages', 'c00001-m002');
    expect(db.getNode(id)).toBeNull();
    const message = byEvent.get(id)!;
    expect(message.properties).toMatchObject({ conversationId: nodeIdFor('conversations', 'c00001'), role: 'user', content: 'message 2 of conversation 1 about topic 9' });
    expect(db.neighbors(message.id, { direction: 'out', edgeTypes: ['IN_CONVERSATION'] }).map((n) => n.node.id)).toEqual([nodeIdFor('conversations', 'c00001')]);
    // The imported entity is the one mentioned (merged by key), not a copy.
    const mentioned = db.neighbors(message.id, { direction: 'out', edgeTypes: ['MENTIONS'] }).map((n) => n.node.id);
    expect(mentioned).toContain(nodeIdFor('entities', 'e3'));
    expect([...db.iterateNodes({ type: 'Entity' })].filter((e) => e.properties.key === 'person:entity 3')).toHaveLength(1);
    // NEXT runs through the conversation in time order.
    const chain = nextChain(db, byEvent.get(nodeIdFor('messages', 'c00002-m000'))!.id);
    expect(chain.map((n) => db.getNode(n)!.properties.eventId)).toEqual(Array.from({ length: 6 }, (_, m) => nodeIdFor('messages', `c00002-m00${m}`)));
    // The legacy vector sits on the woven node and finds it; the weaver embedded the text too.
    const vector = db.getEmbedding(message.id, { space: 'legacy' })!;
    expect(db.searchVectors(vector, { space: 'legacy', k: 1, exact: true })[0]!.id).toBe(message.id);
    expect(db.getEmbedding(message.id, { space: 'default' })).not.toBeNull();
    const found = await new MemoryQueries(db).findSimilarMemories('conversation 1 about topic 9', { k: 3 });
    expect(found.items.map((f) => f.node.id)).toContain(message.id);
    db.close();
  });

  it('is idempotent and resumable: a cut-short run then a full one equals one clean run', async () => {
    const messages = await legacyExport({}, 4);
    const clean = freshDb();
    await withWeaver(clean, (weaver) => importIndexedDBExport(clean, messages, { weaver }));
    const db = freshDb();
    const cut = messages.slice(0, Math.floor(messages.length / 2));
    await withWeaver(db, async (weaver) => {
      await expect(importIndexedDBExport(db, cut, { weaver })).rejects.toThrow(/ended without its manifest/u);
      const resumed = await importIndexedDBExport(db, messages, { weaver });
      expect(resumed.importedThisRun).toBeGreaterThan(0);
      expect((await migrateFromIndexedDB(db, { source: messages, weaver })).status).toBe('already-complete');
    });
    expect(woven(db).messages).toEqual(woven(clean).messages);
    clean.close();
    db.close();
  });

  it('skips and reports a record the weaver refuses', async () => {
    // A role the weaver does not know, in the export as the browser would send it (manifest checksum to match).
    const messages = (await legacyExport()).map((m) => (m.kind === 'batch' && m.store === 'messages'
      ? { ...m, records: m.records.map((r) => (r.key === 'c00000-m003' ? { ...r, value: { ...(r.value as object), role: 'narrator' } } : r)) }
      : m));
    const checksum = new StoreChecksum();
    for (const m of messages) if (m.kind === 'batch' && m.store === 'messages') for (const r of m.records) checksum.add(r.key, r.value);
    const manifest = messages.at(-1) as ExportManifest;
    manifest.stores.messages!.checksum = checksum.toString();
    const db = freshDb();
    const report = await withWeaver(db, (weaver) => importIndexedDBExport(db, messages, { weaver }));
    expect(report.stores.messages).toMatchObject({ imported: 29, skipped: 1 });
    expect(report.skipped.find((s) => s.store === 'messages')).toMatchObject({ key: '"c00000-m003"', reason: expect.stringMatching(/the weaver refuses it: .*role/u) });
    db.close();
  });
});
