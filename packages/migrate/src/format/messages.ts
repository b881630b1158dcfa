/**
 * The export stream: one JSON object per NDJSON line, or per callback /
 * native-messaging message. A header, then batches, then the manifest.
 */

export const EXPORT_FORMAT = 'loomdb-indexeddb-export';
export const EXPORT_FORMAT_VERSION = 1;

export interface StoreInfo {
  name: string;
  /** `null` for out-of-line keys. */
  keyPath: string | string[] | null;
  autoIncrement: boolean;
}

export interface ExportHeader {
  kind: 'header';
  format: typeof EXPORT_FORMAT;
  version: number;
  database: string;
  databaseVersion: number;
  stores: StoreInfo[];
}

/** One exported record: its primary key and value, both encoded (see `tagged.ts`). */
export interface ExportedRecord {
  key: unknown;
  value: unknown;
}

export interface ExportBatch {
  kind: 'batch';
  store: string;
  records: ExportedRecord[];
  /** The encoded key of the last record: where a resumed export continues after. */
  lastKey: unknown;
}

export interface StoreManifest {
  count: number;
  checksum: string;
}

export interface ExportManifest {
  kind: 'manifest';
  database: string;
  stores: Record<string, StoreManifest>;
}

export type ExportMessage = ExportHeader | ExportBatch | ExportManifest;
