import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedDB } from '@loomdb/db';
import { seededRandom } from '@loomdb/db/testing';
import { WeaverController } from '@loomdb/weaver';
import { chain, removeTemps, tempPath } from './helpers.js';

afterAll(removeTemps);
const submitter = join(__dirname, 'fixtures', 'submitter.mjs');

interface Run {
  acknowledged: string[];
  /** The weaver's stats, printed when the submitter finishes by itself. */
  stats?: { processed: number };
  exit: Promise<string | null>;
}

/** Starts a submitter; `killAfterMs` (from its first acknowledged id) ends it with SIGKILL. */
function run(path: string, round: string, count: number, killAfterMs?: number, duplicateOf?: string): Run {
  const args = [submitter, path, round, String(count), '5', ...(duplicateOf ? [duplicateOf] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const acknowledged: string[] = [];
  const result: Run = { acknowledged, exit: Promise.resolve(null) };
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('done ')) {
      result.stats = JSON.parse(line.slice(5)) as Run['stats'];
      return;
    }
    if (acknowledged.push(line) === 1 && killAfterMs !== undefined) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  });
  result.exit = new Promise<string | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 || signal === 'SIGKILL' ? resolve(signal) : reject(new Error(`submitter exited with ${code ?? signal}`))));
  });
  return result;
}

/** Every message once, by event id; chains complete and in order; one entity per key. */
function checkGraph(db: EmbeddedDB, mustHave: Iterable<string>) {
  const counts = new Map<string, number>();
  for (const m of db.iterateNodes({ type: 'Message' })) counts.set(m.properties.eventId as string, (counts.get(m.properties.eventId as string) ?? 0) + 1);
  const missing = [...mustHave].filter((id) => !counts.has(id));
  expect(missing.slice(0, 5), `${missing.length} acknowledged events are missing`).toEqual([]);
  const repeated = [...counts].filter(([, n]) => n > 1);
  expect(repeated.slice(0, 5), 'events written twice').toEqual([]);
  let chained = 0;
  for (const c of ['c0', 'c1', 'c2', 'c3', 'c4']) {
    const ids = chain(db, c);
    const order = (id: string) => {
      const [round, i] = id.slice(1).split('-').map(Number) as [number, number];
      return round * 1_000_000 + i;
    };
    expect(ids).toEqual([...ids].sort((a, b) => order(a) - order(b)));
    chained += ids.length;
  }
  expect(chained).toBe(counts.size);
  const keys = [...db.iterateNodes({ type: 'Entity' })].map((e) => e.properties.key);
  expect(keys.length).toBe(new Set(keys).size);
  expect(db.stats().spaces[0]!.embeddings).toBe(counts.size);
  return counts.size;
}

describe('weaver across processes', () => {
  it('applies every acknowledged event exactly once through kill -9 (10 rounds)', async () => {
    const path = tempPath();
    const random = seededRandom(20261125);
    const acknowledged = new Set<string>();
    for (let round = 1; round <= 10; round++) {
      const r = run(path, String(round), 5000, 30 + Math.floor(random() * 400));
      expect(await r.exit).toBe('SIGKILL');
      for (const id of r.acknowledged) acknowledged.add(id);
    }
    expect(acknowledged.size).toBeGreaterThan(500);
    const db = EmbeddedDB.open(path);
    const weaver = new WeaverController(db, { leaseMs: 1000, maxLatencyMs: 1 });
    await weaver.initialize();
    await weaver.shutdown({ drain: true });
    expect(db.queue('weaver-inbox').stats().pending).toBe(0);
    const written = checkGraph(db, acknowledged);
    expect(db.verify().errors, 'verify after the kill rounds').toEqual([]);
    // Unacknowledged submissions may have committed just before a kill; never more than one group per round.
    expect(written).toBeLessThanOrEqual(acknowledged.size + 10 * 25);
    db.close();
  });

  it('shares one inbox between weavers in two processes, each event applied once', async () => {
    const path = tempPath();
    EmbeddedDB.open(path).close();
    const a = run(path, '1', 1500);
    const b = run(path, '2', 1500, undefined, '1');
    await Promise.all([a.exit, b.exit]);
    const db = EmbeddedDB.open(path, { readOnly: true });
    const ids = new Set([...a.acknowledged, ...b.acknowledged]);
    expect(ids.size).toBe(3000);
    expect(checkGraph(db, ids)).toBe(3000);
    expect(db.queue('weaver-inbox').stats()).toEqual({ pending: 0, done: 3000, dead: 0 });
    // Both weavers did part of the work.
    expect(a.stats!.processed + b.stats!.processed).toBe(3000);
    expect(Math.min(a.stats!.processed, b.stats!.processed)).toBeGreaterThan(0);
    db.close();
  });
});
