import type { EmbeddedDB } from '@loomdb/db';
import type { WeaverController } from '@loomdb/weaver';
import type { ExportMessage } from '../protocol.js';
import type { Mapping } from '../mapping/schema.js';

/** An export stream: a path to an NDJSON file, or the messages themselves (e.g. from a native-messaging port). */
export type ExportSource = string | AsyncIterable<ExportMessage> | Iterable<ExportMessage>;

/** Where the importer is. */
export interface ImportProgress {
  phase: 'import' | 'link' | 'verify' | 'done';
  /** The store being imported (phase `import`). */
  store?: string;
  /** Records of that store handled so far (this run and earlier ones), and its count in the manifest. */
  processed?: number;
  total?: number;
  /** Across every store, this run. */
  imported: number;
  skipped: number;
}

export interface ImportOptions {
  /** `'default'` (the legacy layout, see {@link DEFAULT_MAPPING}) or a mapping. */
  mapping: Mapping | 'default';
  /** Submit the stores a mapping marks `weave` through this (initialized) weaver, as live events are. */
  weaver?: WeaverController;
  onProgress?: (progress: ImportProgress) => void;
  /** Stops between batches with `ABORTED`; what was committed stays and a re-run resumes. */
  signal?: AbortSignal;
  /** With a weaver: how long to wait for it to write the submitted events before linking, ms. Default 300,000. */
  weaverTimeoutMs?: number;
}

/** Why a record (or an edge) was not imported. */
export interface SkippedRecord {
  store: string;
  /** The record's key as a string (its node id without prefix). */
  key: string;
  reason: string;
}

/** What one store's import did, over every run of the migration. */
export interface StoreReport {
  /** Records received and handled. */
  processed: number;
  /** Nodes (or weaver events) written. */
  imported: number;
  /** Records whose node already existed (an earlier run, or a live event with the same id). */
  alreadyPresent: number;
  skipped: number;
  /** From the exporter's `end` message, and what the importer counted and hashed. */
  verified: { expectedCount: number; receivedCount: number; expectedChecksum: string; receivedChecksum: string };
}

/** The verification report of a migration. */
export interface ImportReport {
  database: string;
  status: 'complete';
  /** True when this call found the migration already complete and did nothing. */
  alreadyComplete: boolean;
  stores: Record<string, StoreReport>;
  imported: number;
  skipped: number;
  alreadyPresent: number;
  edges: { created: number; alreadyPresent: number; skipped: number };
  /** The first 1,000 records and edges skipped, with reasons (`skipped` has the full count). */
  skippedRecords: SkippedRecord[];
  startedAt: number;
  completedAt: number;
  /** Of this call, ms. */
  durationMs: number;
}

/** Options of {@link migrateFromIndexedDB}. */
export interface MigrateOptions extends ImportOptions {
  source: ExportSource;
}

export type { EmbeddedDB };

/*
 * The entry points, in `src/index.ts` (landing next):
 *   importIndexedDBExport(db: EmbeddedDB, source: ExportSource, options: ImportOptions): Promise<ImportReport>
 *   migrateFromIndexedDB(db: EmbeddedDB, options: MigrateOptions): Promise<ImportReport>
 *   migrationStatus(db: EmbeddedDB, database: string): 'none' | 'running' | 'complete'
 */
