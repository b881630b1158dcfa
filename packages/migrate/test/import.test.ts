import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoomError } from '@loomdb/db';
import { afterEach, describe, expect, it } from 'vitest';
import { importIndexedDBExport, migrateFromIndexedDB, nodeIdFor, parseMapping, readMigration, type ExportManifest, type ExportMessage } from '../src/index.js';
import { legacyExport } from './export-stream.js';
import { freshDb, nextChain, removeTemps, snapshot, tempDir } from './helpers.js';

afterEach(removeTemps);

const count = (db: ReturnType<typeof freshDb>, type: string) => [...db.iterateNodes({ type })].length;

describe('importIndexedDBExport with the default mapping', () => {
  it('imports conversations, messages, entities and vectors, verified against the manifest', async () => {
    const messages = await legacyExport({ badMessages: 0 });
    const db = freshDb();
    const report = await importIndexedDBExport(db, messages);
    expect(count(db, 'Conversation')).toBe(5);
    expect(count(db, 'Message')).toBe(30);
    expect(count(db, 'Entity')).toBe(4);
    expect(report.stores.messages).toMatchObject({ exported: 30, imported: 30, skipped: 0, verified: true });
    expect(report.stores.embeddings).toMatchObject({ exported: 30, imported: 30 });
    // Stores the default mapping does not name are skipped, each record reported.
    expect(report.stores.settings).toMatchObject({ exported: 2, imported: 0, skipped: 2 });
    expect(report.skipped.filter((s) => s.store === 'attachments')).toHaveLength(5);
    const message = db.getNode(nodeIdFor('messages', 'c00001-m002'))!;
    expect(message.properties).toMatchObject({ role: 'user', conversationId: nodeIdFor('conversations', 'c00001'), eventId: message.id });
    expect(typeof message.properties.timestamp).toBe('number');
    expect(db.neighbors(message.id, { direction: 'out', edgeTypes: ['IN_CONVERSATION'] }).map((n) => n.node.id)).toEqual([nodeIdFor('conversations', 'c00001')]);
    expect(db.neighbors(message.id, { direction: 'out', edgeTypes: ['MENTIONS'] })).toHaveLength(1);
    const entity = db.getNode(nodeIdFor('entities', 'e1'))!;
    expect(entity.properties).toMatchObject({ name: 'Entity 1', kind: 'person', normalizedName: 'entity 1', key: 'person:entity 1' });
    const vector = db.getEmbedding(message.id, { space: 'legacy' })!;
    expect(db.searchVectors(vector, { space: 'legacy', k: 1, exact: true })[0]!.id).toBe(message.id);
    expect(readMigration(db, 'memory')?.status).toBe('complete');
    db.close();
  });

  it('links the messages of each conversation by NEXT in timestamp order', async () => {
    const messages = await legacyExport({ badMessages: 0 });
    const db = freshDb();
    await importIndexedDBExport(db, messages);
    const first = nodeIdFor('messages', 'c00002-m000');
    expect(nextChain(db, first)).toEqual(Array.from({ length: 6 }, (_, m) => nodeIdFor('messages', `c00002-m00${m}`)));
    expect(db.neighbors(first, { direction: 'in', edgeTypes: ['NEXT'] })).toEqual([]);
    const nextEdges = [...db.iterateNodes({ type: 'Message' })].reduce((n, m) => n + db.neighbors(m.id, { direction: 'out', edgeTypes: ['NEXT'] }).length, 0);
    expect(nextEdges).toBe(5 * 5);
    db.close();
  });

  it('is idempotent: a second run adds nothing and reports it was complete', async () => {
    const messages = await legacyExport();
    const db = freshDb();
    await importIndexedDBExport(db, messages);
    const before = snapshot(db);
    const again = await importIndexedDBExport(db, messages);
    expect(again).toMatchObject({ alreadyComplete: true, importedThisRun: 0 });
    expect(snapshot(db)).toEqual(before);
    db.close();
  });

  it('resumes a cut-short run from its checkpoints: the result equals one clean run', async () => {
    const messages = await legacyExport({}, 4);
    const clean = freshDb();
    const cleanRun = await importIndexedDBExport(clean, messages);
    const db = freshDb();
    const cut = messages.slice(0, Math.floor(messages.length / 2));
    await expect(importIndexedDBExport(db, cut)).rejects.toThrow(/ended without its manifest/u);
    expect(readMigration(db, 'memory')?.status).toBe('running');
    const resumed = await importIndexedDBExport(db, messages);
    expect(resumed.importedThisRun).toBeGreaterThan(0);
    expect(resumed.importedThisRun).toBeLessThan(cleanRun.importedThisRun);
    expect(snapshot(db)).toEqual(snapshot(clean));
    clean.close();
    db.close();
  });

  it('reports and skips a record that violates the mapping, and its vector with it', async () => {
    const messages = await legacyExport({ badMessages: 2 });
    const db = freshDb();
    const report = await importIndexedDBExport(db, messages);
    expect(report.stores.messages).toMatchObject({ exported: 30, imported: 28, skipped: 2, verified: true });
    expect(report.skipped.filter((s) => s.store === 'messages')).toEqual([
      { store: 'messages', key: '"c00000-m001"', reason: 'store "messages": required field "content" is missing' },
      { store: 'messages', key: '"c00001-m001"', reason: 'store "messages": required field "content" is missing' },
    ]);
    expect(report.stores.embeddings).toMatchObject({ imported: 28, skipped: 2 });
    expect(report.skipped.find((s) => s.store === 'embeddings')!.reason).toMatch(/no messages record with key "c00000-m001"/u);
    db.close();
  });

  it('fails loudly with CORRUPTION when the records do not match the manifest', async () => {
    const messages = await legacyExport();
    const manifest = messages.at(-1) as ExportManifest;
    const tampered: ExportMessage[] = [...messages.slice(0, -1), { ...manifest, stores: { ...manifest.stores, messages: { ...manifest.stores.messages!, count: 31 } } }];
    const db = freshDb();
    const error = await importIndexedDBExport(db, tampered).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoomError);
    expect(error).toMatchObject({ code: 'CORRUPTION', message: expect.stringMatching(/store "messages": the export has 31 records, 30 arrived/u) });
    const checksum: ExportMessage[] = [...messages.slice(0, -1), { ...manifest, stores: { ...manifest.stores, entities: { count: 4, checksum: '0123456789abcdef' } } }];
    await expect(importIndexedDBExport(freshDb(), checksum)).rejects.toMatchObject({ code: 'CORRUPTION', message: expect.stringMatching(/store "entities": checksum/u) });
    db.close();
  });

  it('reads an NDJSON file', async () => {
    const messages = await legacyExport();
    const file = join(tempDir(), 'export.ndjson');
    writeFileSync(file, messages.map((m) => JSON.stringify(m)).join('\n') + '\n');
    const db = freshDb();
    const report = await importIndexedDBExport(db, file);
    expect(report.stores.conversations!.imported).toBe(5);
    await expect(importIndexedDBExport(db, join(tempDir(), 'missing.ndjson'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    writeFileSync(file, '{"kind":"header"\n');
    await expect(importIndexedDBExport(freshDb(), file)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/line 1 is not JSON/u) });
    db.close();
  });
});

describe('custom mappings', () => {
  it('map nested fields, out-of-line and compound keys, arrays of vectors and skipped stores', async () => {
    const messages = await legacyExport();
    const db = freshDb();
    const mapping = parseMapping({
      version: 1,
      stores: {
        conversations: { type: 'Thread', properties: { name: 'title' } },
        messages: { type: 'Post', properties: { text: 'content' }, edges: [{ path: 'conversationId', to: 'conversations', type: 'IN', direction: 'in' }] },
        entities: { type: 'Tag', properties: { seen: 'meta.seen' } },
        embeddings: { skip: true, reason: 'vectors are re-embedded' },
        settings: { type: 'Setting', keepUnmapped: true },
        attachments: { type: 'Attachment', properties: { file: 'file', bytes: 'bytes' } },
      },
    });
    const report = await importIndexedDBExport(db, messages, { mapping });
    expect(report.skipped.every((s) => s.store === 'embeddings' && s.reason.endsWith('vectors are re-embedded'))).toBe(true);
    expect(db.getNode(nodeIdFor('entities', 'e3'))!.properties).toEqual({ seen: 3 });
    expect(db.getNode(nodeIdFor('settings', 'ui'))!.properties).toEqual({ theme: 'dark', updated: Date.UTC(2024, 0, 1) });
    const attachment = db.getNode(nodeIdFor('attachments', ['c00002', 0]))!;
    expect(attachment.properties.file).toEqual({ type: 'text/plain', base64: Buffer.from('attachment of c00002').toString('base64') });
    const thread = nodeIdFor('conversations', 'c00002');
    expect(db.neighbors(thread, { direction: 'out', edgeTypes: ['IN'] })).toHaveLength(6);
    db.close();
  });

  it('puts each vector of an array on its own Embedding node', async () => {
    const vectors = [[1, 0, 0], [0, 1, 0]];
    const stream: ExportMessage[] = [
      { kind: 'header', format: 'loomdb-indexeddb-export', version: 1, database: 'd', databaseVersion: 1, stores: [{ name: 'docs', keyPath: 'id', autoIncrement: false }] },
      { kind: 'batch', store: 'docs', records: [{ key: 1, value: { id: 1, chunks: { vectors } } }], lastKey: 1 },
    ];
    const { StoreChecksum } = await import('../src/format/checksum.js');
    const sum = new StoreChecksum();
    sum.add(1, { id: 1, chunks: { vectors } });
    stream.push({ kind: 'manifest', database: 'd', stores: { docs: { count: 1, checksum: sum.toString() } } });
    const db = freshDb();
    await importIndexedDBExport(db, stream, { mapping: { version: 1, stores: { docs: { type: 'Doc', embeddings: [{ path: 'chunks.vectors', space: 'chunks', many: true }] } } } });
    const hit = db.searchVectors([0, 1, 0], { space: 'chunks', k: 1, exact: true })[0]!;
    expect(db.getNode(hit.id)!.properties).toEqual({ owner: nodeIdFor('docs', 1), index: 1, space: 'chunks' });
    db.close();
  });

  it('rejects a bad mapping naming the store and field', () => {
    expect(() => parseMapping({ version: 1, stores: { messages: { type: 'Message', properties: { text: 'a..b' } } } })).toThrow(/store "messages" field "properties.text"/u);
    expect(() => parseMapping({ version: 1, stores: { messages: { type: 'Message', edges: [{ path: 'c', to: 'chats', type: 'IN' }] } } })).toThrow(/store "messages" field "edges.0.to" names store "chats"/u);
    expect(() => parseMapping({ version: 2, stores: {} })).toThrow(LoomError);
    expect(() => parseMapping({ version: 1, stores: { m: { type: 'M', colour: 'red' } } })).toThrow(/store "m"/u);
  });

  it('refuses an export with a store the mapping does not name', async () => {
    const messages = await legacyExport();
    await expect(importIndexedDBExport(freshDb(), messages, { mapping: { version: 1, stores: { conversations: { type: 'C' } } } }))
      .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/no rule for store "attachments", "embeddings"/u) });
  });
});

describe('migrateFromIndexedDB', () => {
  it('runs once: a later call is a no-op that does not read the source', async () => {
    const messages = await legacyExport();
    const db = freshDb();
    const first = await migrateFromIndexedDB(db, { source: messages, database: 'memory' });
    expect(first.status).toBe('migrated');
    const unreadable = { [Symbol.iterator]: () => { throw new Error('read'); } } as unknown as ExportMessage[];
    const second = await migrateFromIndexedDB(db, { source: unreadable, database: 'memory' });
    expect(second).toMatchObject({ status: 'already-complete', migration: { status: 'complete' } });
    db.close();
  });
});
