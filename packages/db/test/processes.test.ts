import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AsyncEmbeddedDB, EmbeddedDB, LoomError } from '@loomdb/db';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'loomdb-procs-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const workerScript = join(__dirname, 'fixtures', 'worker.mjs');

/** A child process holding its own handle on the database. */
class Worker {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  readonly #waiters: Array<(line: string) => void> = [];

  constructor(path: string, options: object = {}) {
    this.child = spawn(process.execPath, [workerScript, path, JSON.stringify(options)]);
    this.child.stderr.on('data', (d) => process.stderr.write(d));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const waiter = this.#waiters.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    });
  }

  next(): Promise<Record<string, unknown>> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(JSON.parse(line));
    return new Promise((resolve) => this.#waiters.push((l) => resolve(JSON.parse(l))));
  }

  async ready(): Promise<this> {
    await this.next();
    return this;
  }

  send(command: object): void {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  async call(command: object): Promise<Record<string, unknown>> {
    this.send(command);
    return this.next();
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}

const workers: Worker[] = [];
async function worker(path: string, options?: object): Promise<Worker> {
  const w = new Worker(path, options);
  workers.push(w);
  return w.ready();
}
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});

describe('several processes on one database', () => {
  it('read concurrently and see each other’s committed writes', async () => {
    const path = join(root, 'shared');
    const db = EmbeddedDB.open(path);
    const other = await worker(path);
    db.insertNode({ id: 'from-parent', type: 'T', properties: { n: 1 } });
    expect((await other.call({ op: 'get', id: 'from-parent' })).ok).toMatchObject({ id: 'from-parent', properties: { n: 1 } });
    expect((await other.call({ op: 'insert', id: 'from-child', properties: { n: 2 } })).ok).toMatchObject({ id: 'from-child' });
    expect(db.getNode('from-child')).toMatchObject({ properties: { n: 2 } });
    expect(db.stats().nodes).toBe(2);
    db.close();
  });

  it('serialize writes from two processes: nothing lost, nothing doubled', async () => {
    const path = join(root, 'serialize');
    EmbeddedDB.open(path).close();
    const [a, b] = await Promise.all([worker(path), worker(path)]);
    const [ra, rb] = await Promise.all([a.call({ op: 'insertMany', prefix: 'a', count: 300 }), b.call({ op: 'insertMany', prefix: 'b', count: 300 })]);
    expect([ra.ok, rb.ok]).toEqual([300, 300]);
    const db = EmbeddedDB.open(path);
    expect(db.stats().nodes).toBe(600);
    for (let i = 0; i < 300; i++) {
      expect(db.getNode(`a${i}`)).not.toBeNull();
      expect(db.getNode(`b${i}`)).not.toBeNull();
    }
    db.close();
  });

  it('open at once, reader or writer, while another process holds a write transaction', async () => {
    const path = join(root, 'open-while-held');
    const holder = await worker(path);
    holder.send({ op: 'hold', ms: 6_000 });
    expect(await holder.next()).toEqual({ started: true });
    let released = false;
    const done = holder.next().then((r) => {
      released = true;
      return r;
    });
    const reader = EmbeddedDB.open(path, { readOnly: true });
    expect(released, 'a read-only open waited for the other process to commit').toBe(false);
    expect(reader.stats().nodes).toBe(0);
    reader.close();
    const writer = EmbeddedDB.open(path, { busyTimeoutMs: 200 });
    expect(released, 'a writable open waited for the other process to commit').toBe(false);
    expect(writer.getNode('nope')).toBeNull();
    let locked: unknown;
    try {
      writer.insertNode({ type: 'T' });
    } catch (e) {
      locked = e;
    }
    expect(LoomError.is(locked) && locked.code, String(locked)).toBe('LOCKED');
    writer.close();
    expect((await done).ok).toBe(6_000);
  });

  it('make a writer that waits past busyTimeoutMs fail with LOCKED naming the path', async () => {
    const path = join(root, 'locked');
    const db = EmbeddedDB.open(path, { busyTimeoutMs: 50 });
    const holder = await worker(path);
    // One long transaction in the child: it holds the writer lock throughout.
    holder.send({ op: 'bigBatch', prefix: 'big', count: 150_000, size: 200 });
    expect(await holder.next()).toEqual({ started: true });
    let locked: LoomError | undefined;
    const done = holder.next();
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished && !locked) {
      try {
        db.insertNode({ type: 'T' });
        db.deleteNode(db.insertNode({ type: 'Probe' }).id);
      } catch (e) {
        if (LoomError.is(e) && e.code === 'LOCKED') locked = e;
        else throw e;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(locked, 'the child batch finished before any write had to wait').toBeDefined();
    expect(locked?.message).toContain(path);
    expect((await done).ok).toBe(150_000);
    // A patient writer simply waits its turn.
    const patient = EmbeddedDB.open(path, { busyTimeoutMs: 30_000 });
    holder.send({ op: 'bigBatch', prefix: 'again', count: 50_000, size: 200 });
    await holder.next();
    expect(patient.insertNode({ id: 'patient', type: 'T' }).id).toBe('patient');
    expect((await holder.next()).ok).toBe(50_000);
    expect(db.stats().nodes).toBeGreaterThanOrEqual(200_001);
    patient.close();
    db.close();
  });

  it('keep a transaction invisible to other processes until commit, and make their writers wait for it', async () => {
    const path = join(root, 'transaction');
    const adb = await AsyncEmbeddedDB.open(path);
    const impatient = await worker(path, { busyTimeoutMs: 50 });
    const patient = await worker(path, { busyTimeoutMs: 30_000 });
    let waiting: Promise<Record<string, unknown>> | undefined;
    await adb.transaction(async (tx) => {
      await tx.insertNode({ id: 'in-tx', type: 'T' });
      expect((await impatient.call({ op: 'get', id: 'in-tx' })).ok).toBeNull();
      expect(await impatient.call({ op: 'insert', id: 'impatient' })).toMatchObject({ error: 'LOCKED' });
      waiting = patient.call({ op: 'insert', id: 'patient' });
      await new Promise((r) => setTimeout(r, 100));
      expect(await adb.getNode('patient')).toBeNull();
    });
    expect((await waiting)?.ok).toMatchObject({ id: 'patient' });
    expect((await impatient.call({ op: 'get', id: 'in-tx' })).ok).toMatchObject({ id: 'in-tx' });
    expect((await adb.stats()).nodes).toBe(2);
    adb.close();
  });

  it('grow the map when it fills, in every process', async () => {
    const path = join(root, 'grow');
    const db = EmbeddedDB.open(path, { mapSize: 1 << 20 });
    const child = await worker(path, { mapSize: 1 << 20 });
    // ~16 MB from the child, far beyond the 1 MiB map both opened with.
    expect((await child.call({ op: 'insertMany', prefix: 'c', count: 400, size: 40_000 })).ok).toBe(400);
    expect(db.getNode('c399')?.properties.blob).toHaveLength(40_000);
    for (let i = 0; i < 400; i++) db.insertNode({ id: `p${i}`, type: 'T', properties: { blob: 'p'.repeat(40_000) } });
    expect(((await child.call({ op: 'stats' })).ok as { nodes: number }).nodes).toBe(800);
    expect((await child.call({ op: 'get', id: 'p399' })).ok).toMatchObject({ id: 'p399' });
    db.close();
  });

  it('report stats and metrics after another process grew the map (storage usage adopts the grown map)', async () => {
    const path = join(root, 'grow-stats');
    const db = EmbeddedDB.open(path, { mapSize: 1 << 20 });
    const adb = await AsyncEmbeddedDB.open(path, { mapSize: 1 << 20 });
    const child = await worker(path, { mapSize: 1 << 20 });
    let nodes = 0;
    const grow = async (prefix: string, count: number) => {
      expect((await child.call({ op: 'bigBatch', prefix, count, size: 40_000 })).started).toBe(true);
      expect((await child.next()).ok).toBe(count);
      nodes += count;
    };
    // Each growth at least doubles the map; the next call is the first this process makes since.
    await grow('z', 100);
    // A backup measures the storage usage before anything else reads.
    expect(db.backup(join(root, 'grow-stats-backup')).bytes).toBeGreaterThan(1 << 20);
    await grow('a', 200);
    const stats = db.stats();
    expect(stats.nodes).toBe(nodes);
    const first = stats.storage?.mapBytes ?? 0;
    expect(first).toBeGreaterThan(1 << 20);
    await grow('b', 400);
    const second = db.metrics().usage?.mapBytes ?? 0;
    expect(second).toBeGreaterThan(first);
    await grow('c', 800);
    const asyncStats = await adb.stats();
    expect(asyncStats.nodes).toBe(nodes);
    expect(asyncStats.storage?.mapBytes).toBeGreaterThan(second);
    await adb.close();
    db.close();
  });

  it('share one environment between handles on the same path in one process', () => {
    const path = join(root, 'same-process');
    const a = EmbeddedDB.open(path);
    const b = EmbeddedDB.open(path, { durability: 'relaxed' });
    a.insertNode({ id: 'x', type: 'T' });
    expect(b.getNode('x')).not.toBeNull();
    a.close();
    b.insertNode({ id: 'y', type: 'T' });
    expect(b.stats().nodes).toBe(2);
    b.close();
    const c = EmbeddedDB.open(path, { readOnly: true });
    expect(c.getNode('y')).not.toBeNull();
    c.close();
  });
});
