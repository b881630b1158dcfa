import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { importIndexedDBExport, readMigration } from '../src/index.js';
import { legacyExport } from './export-stream.js';
import { freshDb, removeTemps, snapshot, tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/import-child.mjs', import.meta.url));

afterEach(removeTemps);

/** Runs the child importer until it reports `kill me`, then SIGKILLs it. */
function importUntilKilled(dbPath: string, file: string, killAfter: number): Promise<NodeJS.Signals | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dbPath, file, String(killAfter)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('kill me')) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve(signal));
  });
}

describe('an importer killed mid-way', () => {
  it('re-run continues from its checkpoints; the final state equals one clean run', async () => {
    expect(existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url))), 'build first (npm run build)').toBe(true);
    const messages = await legacyExport({ conversations: 8, badMessages: 1 }, 5);
    const file = join(tempDir(), 'export.ndjson');
    writeFileSync(file, `${messages.map((m) => JSON.stringify(m)).join('\n')}\n`);

    const clean = freshDb();
    const cleanReport = await importIndexedDBExport(clean, file);

    const dbPath = join(tempDir(), 'db');
    expect(await importUntilKilled(dbPath, file, 7)).toBe('SIGKILL');
    const db = freshDb(dbPath);
    expect(readMigration(db, 'memory')?.status).toBe('running');
    const resumed = await importIndexedDBExport(db, file);
    expect(resumed.importedThisRun).toBeGreaterThan(0);
    expect(resumed.importedThisRun).toBeLessThan(cleanReport.importedThisRun);
    expect(resumed.stores).toEqual(cleanReport.stores);
    expect(resumed.skipped).toEqual(cleanReport.skipped);
    expect(snapshot(db)).toEqual(snapshot(clean));
    expect((await importIndexedDBExport(db, file)).importedThisRun).toBe(0);
    db.close();
    clean.close();
  });
});
