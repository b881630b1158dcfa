/** `loomdb migrate indexeddb`: imports a browser extension's IndexedDB export (see @loomdb/migrate). */
import { readFileSync } from 'node:fs';
import { EmbeddedDB, LoomError } from '@loomdb/db';
import { importIndexedDBExport, parseMapping, type ImportReport, type Mapping } from '@loomdb/migrate';
import { WeaverController } from '@loomdb/weaver';
import { paint, type ProgramIO } from '../output.js';

export interface MigrateIndexedDbOptions {
  from: string;
  mapping: string;
  path?: string;
  json?: boolean;
  /** Messages through the weaver: entities extracted and text embedded, as for live events. */
  weave?: boolean;
}

function loadMapping(spec: string): Mapping | 'default' {
  if (spec === 'default') return 'default';
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch {
    throw new LoomError('NOT_FOUND', `mapping file ${spec} cannot be read`);
  }
  try {
    return parseMapping(JSON.parse(text));
  } catch (error) {
    if (error instanceof SyntaxError) throw new LoomError('INVALID_ARGUMENT', `mapping file ${spec} is not JSON: ${error.message}`);
    throw error;
  }
}

function printReport(io: ProgramIO, report: ImportReport): void {
  io.out(report.alreadyComplete ? `${report.database}: already migrated, nothing written` : `${report.database}: imported ${report.importedThisRun} records in ${report.durationMs} ms`);
  for (const [store, s] of Object.entries(report.stores)) {
    io.out(`  ${paint('bold', store)}  exported ${s.exported}  imported ${s.imported}  skipped ${s.skipped}  checksum ${s.checksum} ${s.verified ? paint('green', 'verified') : paint('red', 'MISMATCH')}`);
  }
  for (const s of report.skipped.slice(0, 20)) io.out(paint('yellow', `  skipped ${s.store} ${s.key}: ${s.reason}`));
  if (report.skipped.length > 20) io.out(paint('dim', `  … ${report.skipped.length - 20} more skipped (--json lists them)`));
}

export async function migrateIndexedDb(io: ProgramIO, o: MigrateIndexedDbOptions): Promise<void> {
  const mapping = loadMapping(o.mapping);
  const db = EmbeddedDB.open(o.path);
  const err = io.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const weaver = o.weave ? new WeaverController(db) : undefined;
  try {
    await weaver?.initialize();
    const report = await importIndexedDBExport(db, o.from, {
      mapping,
      weaver,
      onProgress: o.json ? undefined : (p) => err(`${p.store}: ${p.done} records (${p.imported} imported, ${p.skipped} skipped)`),
    });
    if (o.json) io.out(JSON.stringify(report, null, 2));
    else printReport(io, report);
  } finally {
    await weaver?.shutdown({ drain: true });
    db.close();
  }
}
