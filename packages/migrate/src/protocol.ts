/**
 * The export stream: what the browser exporter emits and the Node importer
 * consumes, one JSON object per NDJSON line (or per native-messaging
 * message, or per callback call). Types only, so the browser entry imports
 * it without pulling in anything else.
 *
 * ```
 * begin  (once)       the manifest: database, stores, their key paths and indexes
 * batch  (0..n)       records of one store in key order, and the last key in it
 * end    (once)       per-store counts and checksums of everything sent
 * ```
 *
 * @module
 */

/** The version of the stream format; the importer refuses another. */
export const EXPORT_FORMAT_VERSION = 1;

/**
 * A structured-clone value made JSON-safe. Plain JSON values (strings,
 * finite numbers, booleans, null, arrays, plain objects) pass unchanged;
 * everything else becomes an object tagged with `$loom`:
 *
 * | `$loom` | other fields | from |
 * | --- | --- | --- |
 * | `'Date'` | `value`: ISO string, or `'Invalid Date'` | `Date` |
 * | `'Number'` | `value`: `'NaN'`, `'Infinity'`, `'-Infinity'`, `'-0'` | numbers JSON cannot hold |
 * | `'BigInt'` | `value`: decimal string | `bigint` |
 * | `'Undefined'` | — | `undefined` |
 * | `'TypedArray'` | `type` (`'Float32Array'`, …), `base64` (little-endian bytes) | typed arrays, `DataView` |
 * | `'ArrayBuffer'` | `base64` | `ArrayBuffer` |
 * | `'Blob'` | `mime`, `base64`, `name?` (a `File`) | `Blob`, `File` |
 * | `'Map'` | `entries`: `[key, value][]` | `Map` |
 * | `'Set'` | `values` | `Set` |
 * | `'RegExp'` | `source`, `flags` | `RegExp` |
 * | `'Escaped'` | `value`: the object | a plain object that itself has a `$loom` key |
 */
export type EncodedValue =
  | null
  | boolean
  | number
  | string
  | EncodedValue[]
  | { [key: string]: EncodedValue };

/** An index of an object store, as IndexedDB describes it. */
export interface IndexDescription {
  name: string;
  keyPath: string | string[];
  unique: boolean;
  multiEntry: boolean;
}

/** One object store in the manifest. */
export interface StoreDescription {
  name: string;
  /** `null` for out-of-line keys (the record's key is not in its value). */
  keyPath: string | string[] | null;
  autoIncrement: boolean;
  indexes: IndexDescription[];
  /** Records when the export began (`end` has the count actually sent). */
  count: number;
}

/** The first message: what is being exported. */
export interface BeginMessage {
  kind: 'begin';
  /** {@link EXPORT_FORMAT_VERSION}. */
  format: number;
  /** The IndexedDB database name: identifies the migration in the target database. */
  database: string;
  /** The IndexedDB database version. */
  version: number;
  /** ms since epoch. */
  exportedAt: number;
  /** Every object store, in the order they are exported. */
  stores: StoreDescription[];
  /** Stores whose export starts after a key (a resumed export): store → encoded last key already sent. */
  resumedAfter?: Record<string, EncodedValue>;
}

/** One exported record: its primary key and its value, both encoded. */
export interface ExportedRecord {
  key: EncodedValue;
  value: EncodedValue;
}

/** Records of one store, in key order. */
export interface BatchMessage {
  kind: 'batch';
  store: string;
  records: ExportedRecord[];
  /** The key of the last record: an export resumed after it continues with the next. */
  lastKey: EncodedValue;
}

/** What the exporter sent of one store. */
export interface StoreSummary {
  /** Records sent by this export run (a resumed run sends only those after `resumedAfter`). */
  count: number;
  /**
   * Lower-case hex of the XOR of SHA-256(canonical JSON of `[key, value]`)
   * over the records sent: independent of batch boundaries and order, so
   * the importer can check it however it received them.
   */
  checksum: string;
}

/** The last message: what was sent, to verify against. */
export interface EndMessage {
  kind: 'end';
  stores: Record<string, StoreSummary>;
}

/** Any message of the export stream. */
export type ExportMessage = BeginMessage | BatchMessage | EndMessage;
