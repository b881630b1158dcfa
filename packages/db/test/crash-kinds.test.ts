// kill -9 during each kind of write, a compaction and a backup: every
// acknowledged unit is whole after the crash (0 lost), every other unit whole
// or absent (0 partial), and the database verifies. crash.test.ts covers
// single-node writes and sync transactions; text-search.test.ts text writes;
// the weaver's processes test its ingest.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedDB } from '@loomdb/db';
import { seededRandom } from '@loomdb/db/testing';

const dir = mkdtempSync(join(tmpdir(), 'loomdb-crash-kinds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const child = join(__dirname, 'fixtures', 'crash-kinds.mjs');
const SPACE = { dimensions: 4, metric: 'l2' } as const;

/**
 * Runs the child in `mode`; kills it with SIGKILL `delayMs` after its first
 * acknowledgement (unless it kills itself first or `delayMs` is undefined).
 * Resolves with the acknowledged lines and how it ended.
 */
function runChild(path: string, mode: string, prefix: string, delayMs?: number, progressKill?: number): Promise<{ lines: string[]; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const args = [child, path, mode, prefix, ...(progressKill === undefined ? [] : [String(progressKill)])];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (lines.push(line) === 1 && delayMs !== undefined) setTimeout(() => proc.kill('SIGKILL'), delayMs);
    });
    proc.on('error', reject);
    proc.on('exit', (code, signal) => (signal === 'SIGKILL' || code === 0 ? resolve({ lines, signal }) : reject(new Error(`${mode} child exited with ${code}`))));
  });
}

function openVerified(path: string): EmbeddedDB {
  const db = EmbeddedDB.open(path);
  const report = db.verify();
  expect(report.errors, 'verify after the crash').toEqual([]);
  expect(report.ok).toBe(true);
  return db;
}

/** Every node, edge and vector of the database, hashed. */
function fingerprint(db: EmbeddedDB): string {
  const hash = createHash('sha256');
  const spaces = db.stats().spaces.map((s) => s.name);
  for (const n of db.iterateNodes()) {
    hash.update(JSON.stringify([n.id, n.type, n.properties]));
    for (const space of spaces) hash.update(JSON.stringify(Array.from(db.getEmbedding(n.id, { space }) ?? [])));
  }
  for (const e of db.iterateEdges()) hash.update(JSON.stringify([e.id, e.type, e.from, e.to, e.properties, e.weight]));
  return hash.digest('hex');
}

function fresh(name: string, prepare?: (db: EmbeddedDB) => void): string {
  const path = join(dir, name);
  const db = EmbeddedDB.open(path);
  db.ensureSpace('a', SPACE);
  db.ensureSpace('b', SPACE);
  db.insertNodesBatch([0, 1, 2].map((i) => ({ id: `hub${i}`, type: 'Hub' })));
  prepare?.(db);
  db.close();
  return path;
}

const ROUNDS = 8;
const delays = seededRandom(20261203);
const delay = () => 40 + Math.floor(delays() * 260);

/** Units `<prefix>-<i>` seen in the database, by `root(id)`, with how many parts each has. */
function partsBy(ids: Iterable<string>, root: (id: string) => string): Map<string, number> {
  const parts = new Map<string, number>();
  for (const id of ids) parts.set(root(id), (parts.get(root(id)) ?? 0) + 1);
  return parts;
}

describe('kill -9 during each kind of write', () => {
  it(`edge batches: acknowledged ones whole, others whole or absent (${ROUNDS} rounds)`, async () => {
    const path = fresh('edges');
    const acknowledged: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { lines, signal } = await runChild(path, 'edges', `r${round}`, delay());
      expect(signal).toBe('SIGKILL');
      acknowledged.push(...lines);
      const db = openVerified(path);
      const parts = partsBy([...db.iterateEdges({ type: 'E' })].map((e) => e.id), (id) => id.replace(/\/[abc]$/, ''));
      expect(acknowledged.filter((id) => parts.get(id) !== 3), `round ${round}: lost`).toEqual([]);
      expect([...parts].filter(([, n]) => n !== 3), `round ${round}: partial`).toEqual([]);
      expect(parts.size - acknowledged.length).toBeLessThanOrEqual(round + 1);
      db.close();
    }
  });

  it(`vectors in two spaces per call: both or neither (${ROUNDS} rounds)`, async () => {
    const path = fresh('embeddings');
    const acknowledged: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { lines } = await runChild(path, 'embeddings', `r${round}`, delay());
      acknowledged.push(...lines);
      const db = openVerified(path);
      const has = (id: string) => [db.getEmbedding(id, { space: 'a' }) !== null, db.getEmbedding(id, { space: 'b' }) !== null];
      expect(acknowledged.filter((id) => has(id).join() !== 'true,true'), `round ${round}: lost`).toEqual([]);
      const partial = [...db.iterateNodes({ type: 'V' })].filter((n) => has(n.id)[0] !== has(n.id)[1]);
      expect(partial.map((n) => n.id), `round ${round}: partial`).toEqual([]);
      const stats = db.stats().spaces;
      expect(stats.find((s) => s.name === 'a')!.embeddings).toBe(stats.find((s) => s.name === 'b')!.embeddings);
      // The HNSW graph (caught up from the change log) finds every stored vector.
      const stored = stats.find((s) => s.name === 'a')!.embeddings;
      expect(db.searchVectors([1, 0, 1, 0], { space: 'a', k: stored }).length).toBe(stored);
      db.close();
    }
  });

  it(`write batches of nodes, edges, vectors, a counter and a queue item: all or nothing (${ROUNDS} rounds)`, async () => {
    const path = fresh('batch');
    const acknowledged: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { lines } = await runChild(path, 'batch', `r${round}`, delay());
      acknowledged.push(...lines);
      const db = openVerified(path);
      const whole = (id: string) =>
        db.getNode(id) !== null &&
        db.getNode(`${id}/x`) !== null &&
        db.getEdge(`${id}/e`) !== null &&
        db.getEmbedding(id, { space: 'a' }) !== null &&
        db.getEmbedding(`${id}/x`, { space: 'b' }) !== null;
      expect(acknowledged.filter((id) => !whole(id)), `round ${round}: lost`).toEqual([]);
      const roots = [...db.iterateNodes({ type: 'B' })].map((n) => n.id).filter((id) => !id.endsWith('/x'));
      const parts = [...db.iterateNodes({ type: 'B' })].length;
      expect(roots.filter((id) => !whole(id)), `round ${round}: partial`).toEqual([]);
      expect(parts).toBe(roots.length * 2);
      // One counter step and one queue item per batch that committed.
      expect(db.getEdge('counter')?.weight ?? 0).toBe(roots.length);
      expect(db.queue('crash').stats().pending).toBe(roots.length);
      expect(roots.length - acknowledged.length).toBeLessThanOrEqual(round + 1);
      db.close();
    }
  });

  it(`deletes of nodes with an edge and a vector: gone whole or kept whole (${ROUNDS} rounds)`, async () => {
    // Enough that the child never runs out before its kill (about 5 deletes a ms here, 300 ms at most a round).
    const count = 16_000;
    const path = fresh('delete', (db) => {
      db.writeBatch({
        insertNodes: Array.from({ length: count }, (_, i) => ({ id: `d${i}`, type: 'Doomed', properties: { i } })),
        insertEdges: Array.from({ length: count }, (_, i) => ({ id: `d${i}/e`, type: 'R', from: `d${i}`, to: `hub${i % 3}` })),
        insertEmbeddings: Array.from({ length: count }, (_, i) => ({ nodeId: `d${i}`, vector: [i % 5, 1, (i % 3) + 1, 2], space: 'a' })),
      });
    });
    const deleted: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { lines, signal } = await runChild(path, 'delete', `r${round}`, delay());
      expect(signal, 'the child was killed before deleting every node').toBe('SIGKILL');
      deleted.push(...lines.map((l) => l.slice(4)));
      const db = openVerified(path);
      expect(deleted.filter((id) => db.getNode(id) !== null || db.getEdge(`${id}/e`) !== null || db.getEmbedding(id, { space: 'a' }) !== null), `round ${round}: lost`).toEqual([]);
      const left = [...db.iterateNodes({ type: 'Doomed' })];
      const partial = left.filter((n) => db.getEdge(`${n.id}/e`) === null || db.getEmbedding(n.id, { space: 'a' }) === null);
      expect(partial.map((n) => n.id), `round ${round}: partial`).toEqual([]);
      expect(db.stats().edges).toBe(left.length);
      expect(db.stats().spaces.find((s) => s.name === 'a')!.embeddings).toBe(left.length);
      // At most one unacknowledged delete per round committed.
      expect(count - left.length - deleted.length).toBeLessThanOrEqual(round + 1);
      expect(count - left.length).toBeGreaterThanOrEqual(deleted.length);
      db.close();
    }
  });

  it(`queue pushes, leases and acks: no acknowledged step undone, counters agree (${ROUNDS} rounds)`, async () => {
    const path = fresh('queue');
    const pushed: string[] = [];
    let acked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const { lines } = await runChild(path, 'queue', `r${round}`, delay());
      for (const line of lines) {
        if (line.startsWith('push ')) pushed.push(line.slice(5));
        else acked += Number(line.slice(4));
      }
      const db = openVerified(path);
      const q = db.queue('crash');
      const stats = q.stats();
      expect(stats.done, `round ${round}: acknowledged acks lost`).toBeGreaterThanOrEqual(acked);
      expect(stats.pending + stats.done, `round ${round}: acknowledged pushes lost`).toBeGreaterThanOrEqual(pushed.length);
      expect(stats.pending + stats.done - pushed.length).toBeLessThanOrEqual(round + 1);
      // Every acknowledged id is known to the queue (a push again is refused as a duplicate).
      const again = q.push(pushed.map((id) => ({ id, payload: 'again' })));
      expect(again.filter(Boolean).length, `round ${round}: acknowledged pushes forgotten`).toBe(0);
      db.close();
    }
  });

  it(`async write batches, 8 in flight: acknowledged ones kept, none in part (${ROUNDS} rounds)`, async () => {
    const path = fresh('async');
    const acknowledged: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { lines } = await runChild(path, 'async', `r${round}`, delay());
      acknowledged.push(...lines);
      const db = openVerified(path);
      expect(acknowledged.filter((id) => db.getNode(id) === null || db.getEmbedding(id, { space: 'a' }) === null), `round ${round}: lost`).toEqual([]);
      const nodes = [...db.iterateNodes({ type: 'Async' })];
      expect(nodes.filter((n) => db.getEmbedding(n.id, { space: 'a' }) === null).map((n) => n.id), `round ${round}: partial`).toEqual([]);
      // Up to 8 batches were in flight at the kill.
      expect(nodes.length - acknowledged.length).toBeLessThanOrEqual(8 * (round + 1));
      db.close();
    }
  });
});

describe('kill -9 during maintenance', () => {
  /** A database with garbage to compact: 6,000 nodes with vectors, every other one deleted. */
  function withGarbage(name: string): string {
    return fresh(name, (db) => {
      db.writeBatch({
        insertNodes: Array.from({ length: 6000 }, (_, i) => ({ id: `g${i}`, type: 'G', properties: { i, pad: 'g'.repeat(200) } })),
        insertEdges: Array.from({ length: 3000 }, (_, i) => ({ id: `g${i}/e`, type: 'R', from: `g${i}`, to: `g${i + 1}` })),
        insertEmbeddings: Array.from({ length: 6000 }, (_, i) => ({ nodeId: `g${i}`, vector: [i % 9, 1, i % 4, 3], space: 'a' })),
      });
      db.transaction((tx) => {
        for (let i = 0; i < 6000; i += 2) tx.deleteNode(`g${i}`);
      });
    });
  }

  it(`a compaction killed at any point leaves the database as it was (${ROUNDS} rounds, then one that finishes)`, async () => {
    const path = withGarbage('compact');
    const first = openVerified(path);
    const before = fingerprint(first);
    first.close();
    // How long one takes here, to spread the kills over it.
    const started = Date.now();
    const timing = await runChild(withGarbage('compact-timing'), 'compact', 'timing', undefined, 1e9);
    expect(timing.lines).toContain('finished');
    const took = Date.now() - started;
    let killed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Even rounds kill themselves at the first progress report (the copy
      // written, the swap not begun); odd ones are killed at a random moment.
      const { lines } =
        round % 2 === 0 ? await runChild(path, 'compact', `r${round}`, undefined, 1) : await runChild(path, 'compact', `r${round}`, Math.floor(delays() * took), 1e9);
      if (!lines.includes('finished')) killed++;
      const db = openVerified(path);
      expect(fingerprint(db), `round ${round}: data changed`).toBe(before);
      db.close();
    }
    expect(killed, 'rounds killed mid-way').toBeGreaterThanOrEqual(ROUNDS / 2);
    const db = openVerified(path);
    db.compact();
    expect(fingerprint(db)).toBe(before);
    db.close();
  });

  it(`a backup killed at any point leaves the source as it was and the next backup restores (${ROUNDS} rounds)`, async () => {
    const path = withGarbage('backup');
    const first = openVerified(path);
    const before = fingerprint(first);
    first.close();
    for (let round = 0; round < ROUNDS; round++) {
      const { lines } = await runChild(path, 'backup', `r${round}`, delay(), 1 + round);
      expect(lines).not.toContain('finished');
      const db = openVerified(path);
      expect(fingerprint(db), `round ${round}: data changed`).toBe(before);
      db.close();
    }
    const db = openVerified(path);
    rmSync(`${path}.bak`, { recursive: true, force: true });
    db.backup(`${path}.bak`);
    db.close();
    const restored = join(dir, 'restored');
    EmbeddedDB.restore(`${path}.bak`, restored);
    expect(existsSync(restored)).toBe(true);
    const copy = openVerified(restored);
    expect(fingerprint(copy)).toBe(before);
    copy.close();
  });
});
