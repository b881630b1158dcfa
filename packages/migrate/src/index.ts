/**
 * `@loomdb/migrate`: imports a browser extension's IndexedDB export
 * (made by `@loomdb/migrate/browser`) into LoomDB — mapped, resumable,
 * idempotent and verified.
 *
 * @module
 */
export { importIndexedDBExport, type ImportOptions, type ImportProgress } from './node/import.js';
export { migrateFromIndexedDB, type MigrateOptions, type MigrateResult } from './node/auto.js';
export { DEFAULT_MAPPING, mappingJsonSchema, mappingSchema, parseMapping, type Mapping, type StoreMapping } from './node/mapping.js';
export { ExportChannel, type ExportSource } from './node/source.js';
export { nodeIdFor } from './node/keys.js';
export { readMigration, type MigrationRecord, type SkippedRecord } from './node/checkpoint.js';
export type { ImportReport, StoreReport } from './node/report.js';
export type { ExportBatch, ExportHeader, ExportManifest, ExportMessage, ExportedRecord } from './format/messages.js';
