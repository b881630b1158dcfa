/** What an import reports, and the verification against the exporter's manifest. */
import { LoomError } from '@loomdb/db';
import type { ExportManifest } from '../format/messages.js';
import type { SkippedRecord, StoreCheckpoint } from './checkpoint.js';

/**
 * One store of a report.
 *
 * @example
 * ```ts
 * for (const [store, r] of Object.entries(report.stores) as Array<[string, StoreReport]>) console.log(store, r.exported, r.imported, r.skipped, r.verified);
 * ```
 */
export interface StoreReport {
  /** Records the export holds (the manifest's count). */
  exported: number;
  /** Records turned into nodes or vectors, over all runs. */
  imported: number;
  skipped: number;
  checksum: string;
  verified: boolean;
}

/**
 * What an import did.
 *
 * @example
 * ```ts
 * const report: ImportReport = await importIndexedDBExport(db, './memory.ndjson');
 * console.log(report.alreadyComplete, report.importedThisRun, report.durationMs);
 * ```
 */
export interface ImportReport {
  database: string;
  stores: Record<string, StoreReport>;
  /** Records the mapping rejected, with reasons (the first 1,000 per store, over all runs). */
  skipped: SkippedRecord[];
  /** Parts of imported records left out (e.g. an edge to a missing record). */
  notes: string[];
  /** Records written by this run (0 when re-run after completion). */
  importedThisRun: number;
  /** True when an earlier run had finished: nothing was written. */
  alreadyComplete: boolean;
  durationMs: number;
}

/** Compares what was taken with the manifest: `CORRUPTION` naming every store that differs. */
export function verifyAgainstManifest(manifest: ExportManifest, checkpoints: Map<string, StoreCheckpoint>): void {
  const problems: string[] = [];
  for (const [store, expected] of Object.entries(manifest.stores)) {
    const cp = checkpoints.get(store);
    const count = cp?.count ?? 0;
    const checksum = cp?.checksum ?? '0000000000000000';
    if (count !== expected.count) problems.push(`store "${store}": the export has ${expected.count} records, ${count} arrived`);
    else if (checksum !== expected.checksum) problems.push(`store "${store}": checksum ${checksum} differs from the export's ${expected.checksum}`);
  }
  for (const store of checkpoints.keys()) {
    if (!(store in manifest.stores)) problems.push(`store "${store}" arrived but is not in the export's manifest`);
  }
  if (problems.length > 0) throw new LoomError('CORRUPTION', `the import does not match the export: ${problems.join('; ')}`);
}
