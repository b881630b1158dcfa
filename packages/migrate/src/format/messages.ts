/**
 * The export stream: one JSON object per NDJSON line, or per callback /
 * native-messaging message. A header, then batches, then the manifest.
 */

export const EXPORT_FORMAT = 'loomdb-indexeddb-export';
export const EXPORT_FORMAT_VERSION = 1;

/**
 * An object store in the header.
 *
 * @example
 * ```ts
 * const info: StoreInfo = { name: 'messages', keyPath: 'id', autoIncrement: false };
 * ```
 */
export interface StoreInfo {
  name: string;
  /** `null` for out-of-line keys. */
  keyPath: string | string[] | null;
  autoIncrement: boolean;
}

/**
 * The first message of an export.
 *
 * @example
 * ```ts
 * for await (const m of new ExportChannel()) if (m.kind === 'header') console.log((m as ExportHeader).stores.map((s) => s.name));
 * ```
 */
export interface ExportHeader {
  kind: 'header';
  format: typeof EXPORT_FORMAT;
  version: number;
  database: string;
  databaseVersion: number;
  stores: StoreInfo[];
}

/**
 * One exported record: its primary key and value, both encoded (see `tagged.ts`).
 *
 * @example
 * ```ts
 * const record: ExportedRecord = { key: 'm1', value: { conversationId: 'c1', content: 'hi', timestamp: 1 } };
 * ```
 */
export interface ExportedRecord {
  key: unknown;
  value: unknown;
}

/**
 * A batch of one store.
 *
 * @example
 * ```ts
 * const batch: ExportBatch = { kind: 'batch', store: 'messages', records: [{ key: 'm1', value: { content: 'hi' } }], lastKey: 'm1' };
 * ```
 */
export interface ExportBatch {
  kind: 'batch';
  store: string;
  records: ExportedRecord[];
  /** The encoded key of the last record: where a resumed export continues after. */
  lastKey: unknown;
}

/**
 * Count and checksum of a store.
 *
 * @example
 * ```ts
 * const { count, checksum }: StoreManifest = manifest.stores['messages']!;
 * ```
 */
export interface StoreManifest {
  count: number;
  checksum: string;
}

/**
 * The last message of an export.
 *
 * @example
 * ```ts
 * const manifest: ExportManifest = await exportIndexedDB('memory', { sink });
 * for (const [store, { count }] of Object.entries(manifest.stores)) console.log(store, count);
 * ```
 */
export interface ExportManifest {
  kind: 'manifest';
  database: string;
  stores: Record<string, StoreManifest>;
}

/**
 * Any export message.
 *
 * @example
 * ```ts
 * function describe(m: ExportMessage): string {
 *   return m.kind === 'batch' ? `${m.store}: ${m.records.length}` : m.kind;
 * }
 * ```
 */
export type ExportMessage = ExportHeader | ExportBatch | ExportManifest;
