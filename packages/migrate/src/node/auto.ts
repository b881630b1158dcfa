/**
 * `migrateFromIndexedDB`: the import as a one-time step, e.g. on every start
 * of an app. The migration record in the target database makes a finished
 * migration a no-op that does not even read the source.
 */
import type { EmbeddedDB } from '@loomdb/db';
import { readMigration, type MigrationRecord } from './checkpoint.js';
import { importIndexedDBExport, type ImportOptions } from './import.js';
import type { ImportReport } from './report.js';
import type { ExportSource } from './source.js';

/**
 * Options of migrateFromIndexedDB.
 *
 * @example
 * ```ts
 * const options: MigrateOptions = { source: './memory.ndjson', database: 'memory', mapping: 'default' };
 * await migrateFromIndexedDB(db, options);
 * ```
 */
export interface MigrateOptions extends ImportOptions {
  source: ExportSource;
  /** The IndexedDB database name the export comes from: with it, a finished migration is recognised before the source is read. */
  database?: string;
}

/**
 * What migrateFromIndexedDB did.
 *
 * @example
 * ```ts
 * const result: MigrateResult = await migrateFromIndexedDB(db, { source: './memory.ndjson', database: 'memory' });
 * if (result.status === 'migrated') console.log(result.report.importedThisRun);
 * ```
 */
export type MigrateResult =
  | { status: 'already-complete'; migration: MigrationRecord }
  | { status: 'migrated'; report: ImportReport };

/**
 * Migrates once, at start-up.
 *
 * @example
 * ```ts
 * const db = EmbeddedDB.open('./memory.loomdb');
 * const result = await migrateFromIndexedDB(db, { source: './memory.ndjson', database: 'memory' });
 * console.log(result.status); // 'migrated' the first time, 'already-complete' after (the source is not read again)
 * ```
 */
export async function migrateFromIndexedDB(db: EmbeddedDB, options: MigrateOptions): Promise<MigrateResult> {
  if (options.database !== undefined) {
    const migration = readMigration(db, options.database);
    if (migration?.status === 'complete') return { status: 'already-complete', migration };
  }
  const report = await importIndexedDBExport(db, options.source, options);
  if (report.alreadyComplete) return { status: 'already-complete', migration: readMigration(db, report.database)! };
  return { status: 'migrated', report };
}
