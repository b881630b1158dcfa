import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { AsyncEmbeddedDB, EmbeddedDB, LoomError, type Node } from '@loomdb/db';
import { errorCode as code } from './error-code.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'loomdb-ops-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let serial = 0;
const fresh = (name: string) => join(root, `${name}-${serial++}`);
const fixture = (name: string) => join(__dirname, 'fixtures', name);


/** Files and their bytes, to prove a directory was not touched. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));
}

/** A small memory graph: messages in a chain, embeddings, an index. */
function sample(path: string, messages = 300): EmbeddedDB {
  const db = EmbeddedDB.open(path, { spaces: { default: { dimensions: 8, metric: 'cosine' } } });
  db.createIndex({ type: 'Message', property: 'role' });
  db.insertNodesBatch(Array.from({ length: messages }, (_, i) => ({ id: `m${i}`, type: 'Message', properties: { role: i % 3 ? 'user' : 'assistant', content: `message ${i} ${'words '.repeat(20)}` } })));
  db.insertEdgesBatch(Array.from({ length: messages - 1 }, (_, i) => ({ id: `next${i}`, type: 'NEXT', from: `m${i}`, to: `m${i + 1}`, weight: i / 7 })));
  db.insertEmbeddingsBatch(Array.from({ length: messages }, (_, i) => ({ nodeId: `m${i}`, vector: Array.from({ length: 8 }, (_, d) => Math.sin(i * (d + 1) + 1)) })));
  return db;
}

/** `n` nodes, nothing else. */
function nodesOnly(path: string, n: number): EmbeddedDB {
  const db = EmbeddedDB.open(path);
  db.insertNodesBatch(Array.from({ length: n }, (_, i) => ({ id: `n${i}`, type: 'T', properties: { i, text: 'words '.repeat(50) } })));
  return db;
}

function everything(db: EmbeddedDB) {
  const nodes = [...db.iterateNodes()];
  return { nodes, edges: [...db.iterateEdges()], vectors: nodes.map((n) => Array.from(db.getEmbedding(n.id) ?? [])) };
}

describe('backup and restore', () => {
  it('a backup taken while another process writes restores to a committed prefix of its writes', async () => {
    const path = fresh('live');
    EmbeddedDB.open(path).close();
    const writer = spawn(process.execPath, [fixture('steady-writer.mjs'), path]);
    try {
      await new Promise<void>((resolve, reject) => {
        writer.once('exit', (c) => reject(new Error(`writer exited with ${c}`)));
        createInterface({ input: writer.stdout }).once('line', () => resolve());
      });
      await new Promise((r) => setTimeout(r, 150));
      const db = EmbeddedDB.open(path, { readOnly: true });
      const progress: number[] = [];
      const result = db.backup(fresh('live-backup'), { onProgress: ({ done }) => progress.push(done) });
      db.close();
      expect(progress.length).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 100));
      const target = fresh('live-restored');
      const restored = EmbeddedDB.restore(result.path, target);
      expect(restored.nodes).toBeGreaterThan(0);
      const copy = EmbeddedDB.open(target);
      const seqs = [...copy.iterateNodes({ type: 'W' })].map((n) => n.properties.seq as number).sort((a, b) => a - b);
      // Exactly w0 … w(k-1): a prefix, nothing torn, nothing skipped.
      expect(seqs).toEqual(seqs.map((_, i) => i));
      expect(copy.verify().ok).toBe(true);
      copy.close();
      // The writer went on meanwhile.
      const after = EmbeddedDB.open(path, { readOnly: true });
      expect(after.stats().nodes).toBeGreaterThan(seqs.length);
      after.close();
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it('restore refuses a non-empty target without overwrite and leaves it untouched', () => {
    const db = sample(fresh('src'), 20);
    const backup = db.backup(fresh('bk'));
    db.close();
    const target = fresh('occupied');
    mkdirSync(target);
    writeFileSync(join(target, 'notes.txt'), 'mine');
    const before = snapshot(target);
    expect(code(() => EmbeddedDB.restore(backup.path, target))).toBe('ALREADY_EXISTS');
    expect(snapshot(target)).toEqual(before);
    expect(readdirSync(root).filter((f) => f.includes('restoring'))).toEqual([]);
    // With overwrite it is replaced whole.
    const r = EmbeddedDB.restore(backup.path, target, { overwrite: true });
    expect(r).toMatchObject({ nodes: 20, edges: 19, replaced: true });
    expect(existsSync(join(target, 'notes.txt'))).toBe(false);
  });

  it('a damaged backup is CORRUPTION before the target is created', () => {
    const db = sample(fresh('src'), 50);
    const backup = db.backup(fresh('bk'));
    db.close();
    const data = join(backup.path, 'data.mdb');
    const bytes = readFileSync(data);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    writeFileSync(data, bytes);
    const target = fresh('never');
    expect(code(() => EmbeddedDB.restore(backup.path, target))).toBe('CORRUPTION');
    expect(existsSync(target)).toBe(false);
    expect(code(() => EmbeddedDB.restore(join(root, 'no-such-backup'), fresh('x')))).toBe('NOT_FOUND');
    const notABackup = fresh('plain');
    mkdirSync(notABackup);
    writeFileSync(join(notABackup, 'data.mdb'), 'x');
    expect(code(() => EmbeddedDB.restore(notABackup, fresh('x')))).toBe('CORRUPTION');
  });

  it('flipped bytes in a copy are reported (open or verify), never a crash, a hang or a wrong answer; the backup still restores', () => {
    const db = sample(fresh('src'), 400);
    const expected = JSON.stringify(everything(db));
    const backup = db.backup(fresh('bk'));
    db.close();
    const original = readFileSync(join(backup.path, 'data.mdb'));
    let seed = 0x5eed;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    let reported = 0;
    for (let i = 0; i < 20; i++) {
      const dir = fresh('flipped');
      mkdirSync(dir);
      const bytes = Buffer.from(original);
      const offset = Math.floor(random() * bytes.length);
      bytes[offset] ^= 1 + Math.floor(random() * 255);
      writeFileSync(join(dir, 'data.mdb'), bytes);
      const child = spawnSync(process.execPath, [fixture('open-damaged.mjs'), dir], { encoding: 'utf8', timeout: 30_000 });
      expect(child.signal, `case ${i} (offset ${offset}) ended by ${child.signal}: ${child.stderr}`).toBeNull();
      expect(child.status, `case ${i}: ${child.stderr}`).toBe(0);
      const outcome = JSON.parse(child.stdout);
      if (outcome.code !== null) {
        expect(outcome.code, `case ${i} (offset ${offset})`).toBe('CORRUPTION');
        reported++;
      } else if (!outcome.verifyOk) {
        reported++;
      } else {
        // Bytes nothing reads (free space inside a page): every answer is still right.
        expect(outcome.dump, `case ${i} (offset ${offset}) verified but reads differ`).toBe(expected);
      }
    }
    expect(reported).toBeGreaterThanOrEqual(10);
    const restored = EmbeddedDB.restore(backup.path, fresh('good'));
    const back = EmbeddedDB.open(restored.path);
    expect(JSON.stringify(everything(back))).toBe(expected);
    back.close();
  });

  it('backup validates its input and stops cleanly when aborted', async () => {
    const db = sample(fresh('src'), 50);
    expect(code(() => db.backup(''))).toBe('INVALID_ARGUMENT');
    expect(code(() => db.backup(fresh('b'), { signal: 'no' as never }))).toBe('INVALID_ARGUMENT');
    expect(code(() => db.backup(fresh('b'), { bogus: 1 } as never))).toBe('INVALID_ARGUMENT');
    expect(code(() => db.backup(join(db.path, 'inside')))).toBe('INVALID_ARGUMENT');
    const taken = fresh('taken');
    mkdirSync(taken);
    writeFileSync(join(taken, 'x'), 'x');
    expect(code(() => db.backup(taken))).toBe('ALREADY_EXISTS');
    const controller = new AbortController();
    const dest = fresh('aborted');
    expect(code(() => db.backup(dest, { signal: controller.signal, onProgress: () => controller.abort(new Error('stop')) }))).toBe('ABORTED');
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(root).filter((f) => f.includes('partial'))).toEqual([]);
    db.close();
    expect(code(() => db.backup(fresh('closed')))).toBe('CLOSED');
    const memory = EmbeddedDB.open(undefined, { storage: 'memory' });
    expect(code(() => memory.backup(fresh('m')))).toBe('UNSUPPORTED');
    expect(code(() => memory.compact())).toBe('UNSUPPORTED');
    expect(memory.metrics()).toMatchObject({ storage: 'memory', operations: [], usage: null });
    memory.close();
  });

  it('a backup killed mid-way leaves its .partial-<pid> only until the next backup to that place', () => {
    const path = fresh('killed-src');
    nodesOnly(path, 50).close();
    const dest = fresh('killed-dest');
    const child = spawnSync(process.execPath, [fixture('backup-killed.mjs'), path, dest], { encoding: 'utf8', timeout: 30_000 });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const name = dest.slice(root.length + 1);
    const partials = () => readdirSync(root).filter((f) => f.startsWith(`.${name}.partial-`));
    expect(partials()).toEqual([`.${name}.partial-${child.pid}`]);
    // A staging directory of a process that is still running stays.
    const live = join(root, `.${name}.partial-${process.ppid}`);
    mkdirSync(live);
    const db = EmbeddedDB.open(path);
    expect(db.backup(dest).bytes).toBeGreaterThan(0);
    expect(partials()).toEqual([`.${name}.partial-${process.ppid}`]);
    rmSync(live, { recursive: true });
    expect(EmbeddedDB.restore(dest, fresh('killed-restored'))).toMatchObject({ nodes: 50 });
    db.close();
  });

  it('restore refuses a target that is the backup directory, inside it, or holding it (INVALID_ARGUMENT, nothing touched)', () => {
    const db = nodesOnly(fresh('self-src'), 20);
    const backup = db.backup(fresh('self-backup')).path;
    db.close();
    const before = snapshot(backup);
    for (const target of [backup, `${backup}/`, join(backup, 'inside'), join(backup, 'a', 'b'), join(backup, '..', backup.slice(root.length + 1))]) {
      expect(code(() => EmbeddedDB.restore(backup, target)), target).toBe('INVALID_ARGUMENT');
      expect(code(() => EmbeddedDB.restore(backup, target, { overwrite: true })), target).toBe('INVALID_ARGUMENT');
    }
    // The backup inside the target: replacing the target would delete it.
    const holder = fresh('holder');
    mkdirSync(holder);
    cpSync(backup, join(holder, 'bk'), { recursive: true });
    expect(code(() => EmbeddedDB.restore(join(holder, 'bk'), holder, { overwrite: true }))).toBe('INVALID_ARGUMENT');
    expect(snapshot(join(holder, 'bk'))).toEqual(before);
    expect(snapshot(backup)).toEqual(before);
    expect(existsSync(join(backup, 'inside'))).toBe(false);
    expect(readdirSync(root).filter((f) => f.includes('restoring'))).toEqual([]);
  });

  it('AsyncEmbeddedDB backs up, verifies, restores and compacts off the JS thread, and aborts', async () => {
    const path = fresh('async');
    sample(path, 100).close();
    const db = await AsyncEmbeddedDB.open(path);
    const seen: number[] = [];
    const r = await db.backup(fresh('abk'), { onProgress: ({ done }) => seen.push(done) });
    expect(seen.at(-1)).toBe(r.bytes);
    expect((await db.verify()).ok).toBe(true);
    const controller = new AbortController();
    controller.abort(new Error('not now'));
    const dest = fresh('aborted');
    await expect(db.backup(dest, { signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED', message: 'the operation was aborted: not now', cause: controller.signal.reason });
    expect(existsSync(dest)).toBe(false);
    await db.deleteNodes({ type: 'Message', where: { role: 'user' } });
    expect((await db.stats()).storage?.reclaimableBytes).toBeGreaterThan(0);
    const c = await db.compact();
    expect(c.bytesAfter).toBeLessThan(c.bytesBefore);
    db.close();
    const restored = await AsyncEmbeddedDB.restore(r.path, fresh('arestored'));
    expect(restored).toMatchObject({ nodes: 100, edges: 99 });
  });
});

describe('compaction', () => {
  it('deleting half the data and compacting shrinks the file by at least 40 % and answers every query the same', () => {
    const path = fresh('compact');
    const db = sample(path, 3000);
    db.deleteNodes({ type: 'Message', where: { role: 'user' } }); // two thirds of them
    const queries = () => ({
      all: everything(db),
      byRole: db.listNodes({ type: 'Message', where: { role: 'assistant' }, limit: 50 }),
      // Exact: the HNSW graph is rebuilt by compaction, and an approximate
      // search over a new graph may legitimately rank ties differently.
      search: db.searchVectors(Array.from({ length: 8 }, (_, d) => Math.cos(d)), { k: 7, exact: true }),
      traverse: db.traverse('m0', { direction: 'both', maxDepth: 3 }),
      // Storage figures and vector-index health (loads, catch-ups) change by design.
      stats: { ...db.stats(), storage: undefined, spaces: db.stats().spaces.map(({ graph: _health, ...space }) => space) },
    });
    const before = queries();
    const size = statSync(join(path, 'data.mdb')).size;
    const reclaimable = db.stats().storage?.reclaimableBytes ?? 0;
    expect(reclaimable).toBeGreaterThan(size * 0.4);
    const report = db.compact();
    const after = statSync(join(path, 'data.mdb')).size;
    expect(after).toBeLessThanOrEqual(size * 0.6);
    expect(report).toMatchObject({ bytesBefore: size, bytesAfter: after });
    expect(queries()).toEqual(before);
    expect(db.searchVectors(Array.from({ length: 8 }, (_, d) => Math.sin(d)), { k: 7 })).toHaveLength(7);
    expect(db.verify().ok).toBe(true);
    db.insertNode({ id: 'after-compaction', type: 'Message', properties: {} });
    db.close();
  });

  it('autoCompact compacts on open past its thresholds, and validates them', () => {
    const path = fresh('auto');
    const db = sample(path, 1500);
    db.deleteNodes({ type: 'Message' });
    db.close();
    const size = statSync(join(path, 'data.mdb')).size;
    EmbeddedDB.open(path, { autoCompact: { minReclaimableBytes: 1 << 30 } }).close();
    expect(statSync(join(path, 'data.mdb')).size).toBe(size);
    EmbeddedDB.open(path, { autoCompact: { minReclaimableBytes: 0, minRatio: 0.3 } }).close();
    expect(statSync(join(path, 'data.mdb')).size).toBeLessThan(size * 0.6);
    expect(code(() => EmbeddedDB.open(path, { autoCompact: { minRatio: 2 } }))).toBe('INVALID_ARGUMENT');
    expect(code(() => EmbeddedDB.open(path, { autoCompact: 'yes' as never }))).toBe('INVALID_ARGUMENT');
    expect(code(() => EmbeddedDB.restore('', fresh('x')))).toBe('INVALID_ARGUMENT');
    expect(code(() => EmbeddedDB.restore(path, fresh('x'), { overwrite: 'yes' as never }))).toBe('INVALID_ARGUMENT');
  });

  it('with another process holding the database open, compaction is LOCKED naming it', async () => {
    const path = fresh('shared');
    sample(path, 10).close();
    const other = spawn(process.execPath, [fixture('worker.mjs'), path]);
    try {
      await new Promise<void>((resolve) => createInterface({ input: other.stdout }).once('line', () => resolve()));
      const db = EmbeddedDB.open(path);
      let message = '';
      try {
        db.compact();
      } catch (e) {
        expect(LoomError.is(e) && e.code).toBe('LOCKED');
        message = (e as Error).message;
      }
      expect(message).toContain(`pid ${other.pid}`);
      db.close();
    } finally {
      other.kill('SIGKILL');
    }
  });
});

describe('metrics', () => {
  it('report each vector index: size, deleted entries and last rebuild', async () => {
    const db = EmbeddedDB.open(fresh('vector-health'), { spaces: { s: { dimensions: 4, metric: 'l2' } } });
    expect(db.metrics().vectorIndexes).toEqual([expect.objectContaining({ space: 's', loaded: false, vectors: 0 })]); // no graph in memory yet
    const started = Date.now();
    const ids = db.insertNodesBatch(Array.from({ length: 60 }, (_, i) => ({ id: `v${i}`, type: 'V' })));
    db.insertEmbeddingsBatch(ids.map((nodeId, i) => ({ nodeId, space: 's', vector: [i, i % 7, i % 3, 1] })));
    db.searchVectors([1, 1, 1, 1], { space: 's', k: 3 });
    db.deleteNodes(ids.slice(0, 5));
    db.catchUpIndexes(); // the graph catches up with the deletes
    for (let i = 0; i < 2; i++) db.searchVectors([1, 1, 1, 1], { space: 's', k: 3 }); // found ready in memory: hits
    const [health] = db.metrics().vectorIndexes;
    expect(health).toMatchObject({ space: 's', loaded: true, vectors: 55, deleted: 5, rebuilds: 1 });
    expect(health?.lastRebuildAt).toBeGreaterThanOrEqual(started);
    expect(db.metrics({ format: 'prometheus' })).toMatch(/^loomdb_vector_index_deleted\{space="s"\} 5$/m);
    // The caches: the OS page cache under the data file, and the graph this process holds (built once, then found ready).
    const caches = Object.fromEntries(db.metrics().caches.map((c) => [c.name, c]));
    expect(caches['os-page-cache']).toMatchObject({ hits: expect.any(Number), misses: expect.any(Number) });
    expect(caches['os-page-cache']!.bytes).toBeGreaterThan(0);
    expect(caches['vector-index:s']).toMatchObject({ misses: 1 });
    expect(caches['vector-index:s']!.hits).toBeGreaterThanOrEqual(2);
    expect(caches['vector-index:s']!.bytes).toBeGreaterThan(55 * 4 * 4);
    expect(db.metrics({ format: 'prometheus' })).toMatch(/^loomdb_cache_hits_total\{cache="vector-index:s"\} [2-9]\d*$/m);
    const adb = await AsyncEmbeddedDB.open(db.path);
    expect((await adb.metrics()).vectorIndexes).toEqual(db.metrics().vectorIndexes);
    adb.close();
    db.close();
  });

  it('counts and times operations, reports storage, sources and the Prometheus format', () => {
    const db = sample(fresh('metrics'), 50);
    for (let i = 0; i < 200; i++) db.getNode(`m${i % 50}`);
    db.searchVectors(Array(8).fill(0.1), { k: 3 });
    db.traverse('m0', { direction: 'out', maxDepth: 2 });
    db.listNodes({ type: 'Message', limit: 5 });
    db.registerMetricsSource('weaver', () => ({ processed: 12, inbox: { pending: 3 }, running: true }));
    db.registerMetricsSource('broken', () => {
      throw new Error('nope');
    });
    const m = db.metrics();
    const op = (name: string) => m.operations.find((o) => o.op === name);
    expect(op('get')?.count).toBe(200);
    expect(op('get')?.p50Us).toBeGreaterThan(0);
    expect(op('get')?.p99Us).toBeGreaterThanOrEqual(op('get')?.p50Us ?? Infinity);
    for (const name of ['insert', 'search', 'traverse', 'query', 'commit']) expect(op(name)?.count).toBeGreaterThan(0);
    expect(m.usage?.tables.find((t) => t.name === 'nodes')?.entries).toBe(50);
    expect(m.sources).toEqual({ weaver: { processed: 12, inbox: { pending: 3 }, running: true }, broken: { error: 'nope' } });
    const text = db.metrics({ format: 'prometheus' });
    expect(text).toContain('# HELP loomdb_operations_total');
    expect(text).toContain('# TYPE loomdb_operations_total counter');
    expect(text).toMatch(/^loomdb_operations_total\{op="get"\} 200$/m);
    expect(text).toMatch(/^loomdb_source_weaver_inbox_pending 3$/m);
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) loomdb_\w+ .+|loomdb_\w+(\{[^}]*\})? [-\d.e+NaN]+)$/);
    // A restarted component registers again: the newest source wins, and removing the old one leaves it.
    const removeOld = db.registerMetricsSource('gauge', () => ({ v: 1 }));
    const removeNew = db.registerMetricsSource('gauge', () => ({ v: 2 }));
    removeOld();
    expect(db.metrics().sources.gauge).toEqual({ v: 2 });
    removeNew();
    expect(db.metrics().sources.gauge).toBeUndefined();
    db.registerMetricsSource('weaver', () => ({ processed: 13 }));
    expect((db.metrics().sources as Record<string, unknown>).weaver).toEqual({ processed: 13 });
    expect(code(() => db.registerMetricsSource('bad name', () => ({})))).toBe('INVALID_ARGUMENT');
    expect(code(() => db.registerMetricsSource('x', 'no' as never))).toBe('INVALID_ARGUMENT');
    expect(code(() => db.metrics({ format: 'xml' } as never))).toBe('INVALID_ARGUMENT');
    db.close();
    expect(code(() => db.metrics())).toBe('CLOSED');
  });
});

describe('format upgrades', () => {
  it('a format-1 database is backed up, then upgraded in place, keeping every record', () => {
    const path = fresh('v1');
    mkdirSync(path);
    cpSync(fixture('format-v1/data.mdb'), join(path, 'data.mdb'));
    const ro = EmbeddedDB.open(path, { readOnly: true });
    expect(ro.stats().formatVersion).toBe(1);
    const before = everything(ro);
    ro.close();
    const db = EmbeddedDB.open(path);
    expect(db.stats()).toMatchObject({ formatVersion: 5, nodes: 30, edges: 57 });
    expect(everything(db)).toEqual(before);
    expect(db.verify().ok).toBe(true);
    // The upgraded database gains a text index over the messages it already held (what the weaver's initialize() does).
    const seen: number[] = [];
    expect(db.createTextIndex('default', { types: ['Message'], fields: ['content'] }, { onProgress: ({ done }) => void seen.push(done) })).toBe(true);
    expect(seen.at(-1)).toBe(29);
    expect(db.searchText('message 7', { k: 1 }).map((h) => h.id)).toEqual(['m7']);
    expect(db.searchText('messag*', { k: 100 })).toHaveLength(29);
    expect(db.verify().ok).toBe(true);
    db.close();
    const backups = readdirSync(root).filter((f) => f.startsWith(`${path.split('/').pop()}.format-1-backup-`));
    expect(backups).toHaveLength(1);
    const manifest = JSON.parse(readFileSync(join(root, backups[0] as string, 'loomdb-backup.json'), 'utf8'));
    expect(manifest.formatVersion).toBe(1);
    const restored = EmbeddedDB.restore(join(root, backups[0] as string), fresh('v1-restored'));
    expect(restored.nodes).toBe(30);
  });
});

describe('importRecords', () => {
  it('keeps ids and times and is all-or-nothing', () => {
    const src = sample(fresh('exp'), 10);
    const records = [...src.iterateNodes()].map((node: Node) => ({ node }));
    src.close();
    const db = EmbeddedDB.open(fresh('imp'));
    db.importRecords(records);
    expect([...db.iterateNodes()]).toEqual(records.map((r) => r.node));
    expect(code(() => db.importRecords([{ node: { ...(records[0] as { node: Node }).node, id: 'fresh' } }, ...records.slice(0, 1)]))).toBe('ALREADY_EXISTS');
    expect(db.getNode('fresh')).toBeNull();
    expect(code(() => db.importRecords('x' as never))).toBe('INVALID_ARGUMENT');
    expect(code(() => db.importRecords([{ thing: 1 } as never]))).toBe('INVALID_ARGUMENT');
    db.close();
  });
});
