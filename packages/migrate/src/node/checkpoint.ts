/**
 * Checkpoints and the migration record, kept in the target database as nodes
 * so that they commit in the same batch as the records they cover: a crash
 * leaves either both or neither.
 */
import type { EmbeddedDB, JsonValue, Properties } from '@loomdb/db';

export const CHECKPOINT_TYPE = 'LoomMigrationCheckpoint';
export const MIGRATION_TYPE = 'LoomMigration';

/**
 * A record not imported.
 *
 * @example
 * ```ts
 * for (const s of report.skipped as SkippedRecord[]) console.warn(s.store, s.key, s.reason);
 * ```
 */
export interface SkippedRecord {
  store: string;
  /** The record's encoded key (JSON). */
  key: string;
  reason: string;
}

export interface StoreCheckpoint {
  store: string;
  /** Encoded key of the last record taken (imported or skipped), JSON; absent before the first. */
  lastKey?: string;
  /** Records taken so far (imported + skipped). */
  count: number;
  imported: number;
  checksum: string;
  done: boolean;
  /** The first {@link MAX_SKIPPED_KEPT} skipped records with reasons. */
  skipped: SkippedRecord[];
  skippedCount: number;
}

/** Enough to find and fix what a mapping rejected, without a checkpoint growing with the data. */
export const MAX_SKIPPED_KEPT = 1000;

export const checkpointId = (database: string, store: string): string => `loomdb-migrate:${database}:store:${store}`;
export const migrationId = (database: string): string => `loomdb-migrate:${database}`;

export function readCheckpoint(db: EmbeddedDB, database: string, store: string): StoreCheckpoint | undefined {
  const node = db.getNode(checkpointId(database, store));
  if (!node) return undefined;
  return JSON.parse(node.properties.state as string) as StoreCheckpoint;
}

export function checkpointProperties(database: string, cp: StoreCheckpoint): Properties {
  // One JSON string, because a shallow-merging update must replace the whole state.
  return { database, store: cp.store, state: JSON.stringify(cp) };
}

export type MigrationStatus = 'running' | 'complete';

/**
 * The migration record of a database.
 *
 * @example
 * ```ts
 * const record: MigrationRecord | undefined = readMigration(db, 'memory');
 * if (record?.status === 'complete') console.log('migrated at', new Date(record.completedAt!));
 * ```
 */
export interface MigrationRecord {
  database: string;
  status: MigrationStatus;
  startedAt: number;
  completedAt?: number;
  report?: JsonValue;
}

/**
 * Reads the migration record.
 *
 * @example
 * ```ts
 * const record = readMigration(db, 'memory'); // undefined before any import of that database
 * console.log(record?.status);
 * ```
 */
export function readMigration(db: EmbeddedDB, database: string): MigrationRecord | undefined {
  const node = db.getNode(migrationId(database));
  if (!node) return undefined;
  return JSON.parse(node.properties.state as string) as MigrationRecord;
}

export function writeMigration(db: EmbeddedDB, record: MigrationRecord): void {
  const id = migrationId(record.database);
  const properties = { database: record.database, status: record.status, state: JSON.stringify(record) };
  if (db.getNode(id)) db.updateNode(id, { properties });
  else db.insertNode({ id, type: MIGRATION_TYPE, properties });
}
