/**
 * `exportIndexedDB`: walks every object store of one database in key order,
 * in chunks, and writes header → batches → manifest to a sink.
 */
import { StoreChecksum } from '../format/checksum.js';
import { EXPORT_FORMAT, EXPORT_FORMAT_VERSION, type ExportManifest, type StoreInfo } from '../format/messages.js';
import { decodeValue, encodeValue } from '../format/tagged.js';
import { openDatabase, readChunk } from './idb.js';
import type { ExportSink } from './sinks.js';

/**
 * Progress of an export.
 *
 * @example
 * ```ts
 * await exportIndexedDB('memory', { sink, onProgress: ({ store, done, total }: ExportProgress) => console.log(store, done, total) });
 * ```
 */
export interface ExportProgress {
  store: string;
  /** Records of this store exported so far. */
  done: number;
  /** Its record count when the export started. */
  total: number;
}

/**
 * Options of exportIndexedDB.
 *
 * @example
 * ```ts
 * const options: ExportOptions = { sink: ndjsonDownloadSink('memory.ndjson'), batchSize: 500, stores: ['conversations', 'messages'] };
 * await exportIndexedDB('memory', options);
 * ```
 */
export interface ExportOptions {
  sink: ExportSink;
  onProgress?: (progress: ExportProgress) => void;
  /** The IndexedDB factory; default `globalThis.indexedDB`. */
  indexedDB?: IDBFactory;
  /** The `IDBKeyRange` class matching it; default `globalThis.IDBKeyRange`. */
  IDBKeyRange?: typeof IDBKeyRange;
  /** Records per batch; default 500. */
  batchSize?: number;
  /** Stores to export; default all. */
  stores?: string[];
  /** Per store, the encoded key (a batch's `lastKey`) to continue after: an interrupted export resumes there. */
  resumeAfter?: Record<string, unknown>;
}

function countRecords(db: IDBDatabase, store: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = db.transaction(store, 'readonly').objectStore(store).count();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function describeStores(db: IDBDatabase, names: string[]): StoreInfo[] {
  if (names.length === 0) return [];
  const tx = db.transaction(names, 'readonly');
  return names.map((name) => {
    const store = tx.objectStore(name);
    const keyPath = store.keyPath === null ? null : Array.isArray(store.keyPath) ? [...store.keyPath] : store.keyPath;
    return { name, keyPath, autoIncrement: store.autoIncrement };
  });
}

/**
 * Exports the IndexedDB database `dbName` through `options.sink` and returns
 * the manifest it wrote last (per-store counts and checksums).
 *
 * @example
 * ```ts
 * import { exportIndexedDB, nativeMessagingSink } from '@loomdb/migrate/browser';
 * const port = chrome.runtime.connectNative('com.loomdb.native_host');
 * const manifest = await exportIndexedDB('memory', { sink: nativeMessagingSink(port) }); // per-store counts and checksums
 * ```
 */
export async function exportIndexedDB(dbName: string, options: ExportOptions): Promise<ExportManifest> {
  const factory = options.indexedDB ?? globalThis.indexedDB;
  const keyRange = options.IDBKeyRange ?? globalThis.IDBKeyRange;
  if (!factory || !keyRange) throw new TypeError('no IndexedDB here: pass options.indexedDB and options.IDBKeyRange');
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${String(batchSize)}`);
  const db = await openDatabase(factory, dbName);
  try {
    const all = Array.from({ length: db.objectStoreNames.length }, (_, i) => db.objectStoreNames.item(i)!);
    const unknown = (options.stores ?? []).filter((s) => !all.includes(s));
    if (unknown.length > 0) throw new RangeError(`IndexedDB database "${dbName}" has no store ${unknown.map((s) => JSON.stringify(s)).join(', ')}`);
    const names = options.stores ?? all;
    await options.sink.write({
      kind: 'header', format: EXPORT_FORMAT, version: EXPORT_FORMAT_VERSION,
      database: dbName, databaseVersion: db.version, stores: describeStores(db, names),
    });
    const manifest: ExportManifest = { kind: 'manifest', database: dbName, stores: {} };
    for (const store of names) {
      const total = await countRecords(db, store);
      const checksum = new StoreChecksum();
      const resumeKey = options.resumeAfter?.[store];
      let afterKey = resumeKey === undefined ? undefined : (decodeValue(resumeKey) as IDBValidKey);
      let done = 0;
      for (;;) {
        const chunk = await readChunk(db, keyRange, store, afterKey, batchSize);
        if (chunk.length === 0) break;
        const records = [];
        for (const { key, value } of chunk) {
          const record = { key: await encodeValue(key), value: await encodeValue(value) };
          checksum.add(record.key, record.value);
          records.push(record);
        }
        afterKey = chunk[chunk.length - 1]!.key;
        await options.sink.write({ kind: 'batch', store, records, lastKey: records[records.length - 1]!.key });
        done += chunk.length;
        options.onProgress?.({ store, done, total });
      }
      manifest.stores[store] = { count: done, checksum: checksum.toString() };
    }
    await options.sink.write(manifest);
    await options.sink.close?.();
    return manifest;
  } finally {
    db.close();
  }
}
