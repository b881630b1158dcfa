import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { callbackSink, exportIndexedDB } from '../src/browser/index.js';
import type { ExportMessage } from '../src/format/messages.js';
import { fillLegacyDatabase, type LegacyFill } from './fixtures/legacy-db.js';

/** A legacy database in fake-indexeddb, exported to an array of messages. */
export async function legacyExport(fill: Partial<LegacyFill> = {}, batchSize = 10): Promise<ExportMessage[]> {
  const factory = new IDBFactory();
  await fillLegacyDatabase(factory, { name: 'memory', conversations: 5, messagesPerConversation: 6, entities: 4, dimensions: 8, ...fill });
  const messages: ExportMessage[] = [];
  await exportIndexedDB('memory', { indexedDB: factory, IDBKeyRange, batchSize, sink: callbackSink((m) => void messages.push(m)) });
  return messages;
}
