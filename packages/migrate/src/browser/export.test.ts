import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { decodeValue } from '../format/tagged.js';
import type { ExportBatch, ExportMessage } from '../format/messages.js';
import { fillLegacyDatabase } from '../../test/fixtures/legacy-db.js';
import { callbackSink, exportIndexedDB } from './index.js';

async function legacy(fill: Partial<Parameters<typeof fillLegacyDatabase>[1]> = {}) {
  const factory = new IDBFactory();
  const records = await fillLegacyDatabase(factory, { name: 'memory', conversations: 6, messagesPerConversation: 5, entities: 4, dimensions: 8, ...fill });
  return { factory, records };
}

async function exportAll(factory: IDBFactory, options: { batchSize?: number; resumeAfter?: Record<string, unknown> } = {}) {
  const messages: ExportMessage[] = [];
  const progress: Array<{ store: string; done: number; total: number }> = [];
  const manifest = await exportIndexedDB('memory', { indexedDB: factory, IDBKeyRange, sink: callbackSink((m) => void messages.push(m)), onProgress: (p) => progress.push(p), ...options });
  const batches = messages.filter((m): m is ExportBatch => m.kind === 'batch');
  return { messages, batches, manifest, progress };
}

describe('exportIndexedDB', () => {
  it('walks every store in chunks: header, batches in key order, manifest with counts', async () => {
    const { factory, records } = await legacy();
    const { messages, batches, manifest, progress } = await exportAll(factory, { batchSize: 7 });
    expect(messages[0]).toMatchObject({ kind: 'header', database: 'memory', databaseVersion: 3 });
    expect(messages.at(-1)).toEqual(manifest);
    expect(Object.values(manifest.stores).reduce((n, s) => n + s.count, 0)).toBe(records);
    expect(manifest.stores.messages!.count).toBe(30);
    expect(batches.every((b) => b.records.length <= 7)).toBe(true);
    const messageKeys = batches.filter((b) => b.store === 'messages').flatMap((b) => b.records.map((r) => r.key as string));
    expect(messageKeys).toEqual([...messageKeys].sort());
    expect(progress.filter((p) => p.store === 'messages').at(-1)).toEqual({ store: 'messages', done: 30, total: 30 });
    const header = messages[0] as Extract<ExportMessage, { kind: 'header' }>;
    expect(header.stores.find((s) => s.name === 'settings')!.keyPath).toBeNull();
    expect(header.stores.find((s) => s.name === 'attachments')!.keyPath).toEqual(['conversationId', 'index']);
  });

  it('tags Dates, typed arrays, ArrayBuffers, Blobs and Maps so they decode to what was stored', async () => {
    const { factory } = await legacy();
    const { batches } = await exportAll(factory);
    const record = (store: string) => batches.find((b) => b.store === store)!.records[0]!;
    const conversation = decodeValue(record('conversations').value) as { createdAt: Date };
    expect(conversation.createdAt).toEqual(new Date(Date.UTC(2024, 0, 1)));
    const embedding = decodeValue(record('embeddings').value) as { vector: Float32Array };
    expect(embedding.vector).toBeInstanceOf(Float32Array);
    expect(embedding.vector).toHaveLength(8);
    const entity = decodeValue(record('entities').value) as { meta: Map<string, number> };
    expect(entity.meta).toEqual(new Map([['seen', 0]]));
    const attachment = record('attachments');
    expect(attachment.key).toEqual(['c00000', 0]);
    const decoded = decodeValue(attachment.value) as { file: { blobType: string; bytes: Uint8Array }; bytes: ArrayBuffer };
    expect(decoded.file.blobType).toBe('text/plain');
    expect(new TextDecoder().decode(decoded.file.bytes)).toBe('attachment of c00000');
    expect([...new Uint8Array(decoded.bytes)]).toEqual([1, 2, 0]);
    expect(JSON.parse(JSON.stringify(batches))).toEqual(batches);
  });

  it('resumes after a key: only later records, and the same records as the full run', async () => {
    const { factory } = await legacy();
    const full = await exportAll(factory, { batchSize: 4 });
    const firstMessages = full.batches.find((b) => b.store === 'messages')!;
    const resumed = await exportAll(factory, { batchSize: 4, resumeAfter: { messages: firstMessages.lastKey } });
    const keys = (r: typeof full) => r.batches.filter((b) => b.store === 'messages').flatMap((b) => b.records.map((x) => x.key));
    expect(keys(resumed)).toEqual(keys(full).slice(4));
    expect(resumed.manifest.stores.conversations).toEqual(full.manifest.stores.conversations);
  });

  it('the checksum changes when one record changes', async () => {
    const a = await exportAll((await legacy()).factory);
    const other = await legacy();
    const db = await new Promise<IDBDatabase>((resolve) => { const r = other.factory.open('memory'); r.onsuccess = () => resolve(r.result); });
    await new Promise<void>((resolve) => {
      const tx = db.transaction('entities', 'readwrite');
      tx.objectStore('entities').put({ id: 'e1', name: 'Entity 1 renamed', kind: 'person' });
      tx.oncomplete = () => resolve();
    });
    db.close();
    const b = await exportAll(other.factory);
    expect(b.manifest.stores.entities!.count).toBe(a.manifest.stores.entities!.count);
    expect(b.manifest.stores.entities!.checksum).not.toBe(a.manifest.stores.entities!.checksum);
    expect(b.manifest.stores.messages).toEqual(a.manifest.stores.messages);
  });

  it('rejects a database that does not exist, and does not leave one behind', async () => {
    const factory = new IDBFactory();
    await expect(exportIndexedDB('nope', { indexedDB: factory, IDBKeyRange, sink: callbackSink(() => {}) })).rejects.toThrow(/"nope" does not exist/u);
    expect((await factory.databases()).map((d) => d.name)).toEqual([]);
  });

  it('rejects an unknown store and a bad batch size', async () => {
    const { factory } = await legacy();
    const sink = callbackSink(() => {});
    await expect(exportIndexedDB('memory', { indexedDB: factory, IDBKeyRange, sink, stores: ['chats'] })).rejects.toThrow(/no store "chats"/u);
    await expect(exportIndexedDB('memory', { indexedDB: factory, IDBKeyRange, sink, batchSize: 0 })).rejects.toThrow(/batchSize/u);
  });
});
