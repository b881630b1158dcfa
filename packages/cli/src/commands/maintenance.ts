import { defaultDbPath, EmbeddedDB, LoomError, type Metrics, type Stats, type VerifyResult } from '@loomdb/db';
import { bytes, paint, progressBar, type ProgramIO } from '../output.js';

export interface Common {
  path?: string;
  json?: boolean;
}

/** Exit status of `verify` when the database has problems. */
export const EXIT_DAMAGED = 3;

/** Runs `run` on the existing database at `path`: a maintenance command never creates one (a typo is `NOT_FOUND`). */
function withDb<T>(path: string | undefined, readOnly: boolean, run: (db: EmbeddedDB) => T): T {
  // A read-only open is NOT_FOUND where there is no database, and creates nothing.
  if (!readOnly) EmbeddedDB.open(path, { readOnly: true }).close();
  const db = EmbeddedDB.open(path, { readOnly });
  try {
    return run(db);
  } finally {
    db.close();
  }
}

const print = (io: ProgramIO, value: unknown) => io.out(JSON.stringify(value, null, 2));

export function stats(io: ProgramIO, o: Common): void {
  withDb(o.path, true, (db) => {
    const s: Stats = db.stats();
    if (o.json) return print(io, s);
    io.out(`${db.path}`);
    io.out(`  nodes: ${s.nodes}   edges: ${s.edges}   format: v${s.formatVersion}`);
    for (const sp of s.spaces) io.out(`  space "${sp.name}": ${sp.embeddings} embeddings (${sp.dimensions}-d ${sp.metric}, ${sp.index})`);
    for (const i of s.indexes) io.out(`  index "${i.name}" (${i.kind}): ${i.entries} entries`);
    if (s.storage) {
      io.out(`  file: ${bytes(s.storage.fileBytes)}   in use: ${bytes(s.storage.usedBytes)}   reclaimable by compact: ${bytes(s.storage.reclaimableBytes)}`);
    }
  });
}

export function metrics(io: ProgramIO, o: Common & { format: string }): void {
  withDb(o.path, true, (db) => {
    if (o.format === 'prometheus' && !o.json) return io.out(db.metrics({ format: 'prometheus' }).trimEnd());
    const m: Metrics = db.metrics();
    if (o.json || o.format === 'json') return print(io, m);
    io.out(`${db.path} (${m.storage} backend; operation figures cover this process only)`);
    for (const op of m.operations) {
      io.out(`  ${op.op.padEnd(9)} ${String(op.count).padStart(8)} calls   p50 ${op.p50Us.toFixed(1)} µs   p95 ${op.p95Us.toFixed(1)} µs   p99 ${op.p99Us.toFixed(1)} µs`);
    }
    if (m.usage) {
      io.out(`  file ${bytes(m.usage.fileBytes)}, in use ${bytes(m.usage.usedBytes)}, reclaimable ${bytes(m.usage.reclaimableBytes)}, ${m.readers} reader slots`);
      for (const t of m.usage.tables) io.out(`    ${t.name.padEnd(11)} ${String(t.entries).padStart(9)} entries  ${bytes(t.bytes)}`);
    }
    io.out(`  caches: ${m.caches.length === 0 ? 'none' : m.caches.map((c) => `${c.name} ${c.hits} hits / ${c.misses} misses, ${bytes(c.bytes)}`).join('; ')}`);
  });
}

export function backup(io: ProgramIO, dest: string, o: Common): void {
  withDb(o.path, true, (db) => {
    const bar = progressBar('backup', !!o.json);
    try {
      const r = db.backup(dest, { onProgress: bar.onProgress });
      bar.stop();
      if (o.json) return print(io, r);
      io.out(`${paint('green', 'backed up')} ${db.path} to ${r.path} (${bytes(r.bytes)}, format v${r.formatVersion})`);
    } finally {
      bar.stop();
    }
  });
}

export function restore(io: ProgramIO, backupPath: string, o: Common & { overwrite?: boolean }): void {
  const bar = progressBar('restore', !!o.json);
  try {
    const r = EmbeddedDB.restore(backupPath, o.path ?? defaultDbPath(), { overwrite: o.overwrite ?? false, onProgress: bar.onProgress });
    bar.stop();
    if (o.json) return print(io, r);
    io.out(`${paint('green', 'restored')} ${backupPath} to ${r.path}: ${r.nodes} nodes, ${r.edges} edges${r.replaced ? ' (replaced what was there)' : ''}`);
  } finally {
    bar.stop();
  }
}

/** Returns the exit status: 0 when sound, {@link EXIT_DAMAGED} when not. */
export function verify(io: ProgramIO, o: Common): number {
  let db: EmbeddedDB;
  try {
    db = EmbeddedDB.open(o.path, { readOnly: true });
  } catch (e) {
    // Opening walks the page structure first; damage found there is a finding of verify, not a failure to run it.
    if (!LoomError.is(e) || e.code !== 'CORRUPTION') throw e;
    const checked = { pages: 0, records: 0, nodes: 0, edges: 0, embeddings: 0, indexEntries: 0, changes: 0 };
    return report(io, o, o.path ?? defaultDbPath(), { ok: false, errors: [{ check: 'pages', message: e.message }], checked });
  }
  try {
    return report(io, o, db.path, db.verify());
  } finally {
    db.close();
  }
}

function report(io: ProgramIO, o: Common, path: string, r: VerifyResult): number {
  if (o.json) print(io, r);
  else if (r.ok) {
    const c = r.checked;
    io.out(`${paint('green', 'ok')} ${path}: ${c.pages} pages, ${c.records} records, ${c.nodes} nodes, ${c.edges} edges, ${c.embeddings} embeddings, ${c.indexEntries} index entries checked`);
  } else {
    io.out(`${paint('red', 'damaged')} ${path}: ${r.errors.length} problem${r.errors.length === 1 ? '' : 's'}`);
    for (const e of r.errors) io.out(`  [${e.check}] ${e.message}`);
  }
  return r.ok ? 0 : EXIT_DAMAGED;
}

export function compact(io: ProgramIO, o: Common): void {
  withDb(o.path, false, (db) => {
    const bar = progressBar('compact', !!o.json);
    try {
      const r = db.compact({ onProgress: bar.onProgress });
      bar.stop();
      if (o.json) return print(io, r);
      io.out(`${paint('green', 'compacted')} ${db.path}: ${bytes(r.bytesBefore)} → ${bytes(r.bytesAfter)}, ${r.prunedChanges} change-log entries pruned`);
    } finally {
      bar.stop();
    }
  });
}
