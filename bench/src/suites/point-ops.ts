import Database from 'better-sqlite3';
import { open as openLmdb } from 'lmdb';
import { EmbeddedDB } from '@loomdb/db';
import { compare, measure, measureInterleaved, removeScratch, scratchDir, type Measurement, type SuiteResult } from '../harness.js';

const NODES = 100_000;
const READS = 200_000;
const INSERTS = 2_000;
const INSERT_ROUNDS = 8;

const properties = (i: number) => ({ name: `node ${i}`, n: i, text: `${'lorem ipsum dolor sit amet '.repeat(4)}${i}` });

/** Pseudo-random but identical read order for every system. */
const readId = (i: number) => `node-${(i * 7919 + 13) % NODES}`;

/**
 * getNode and single-commit insertNode: LoomDB against better-sqlite3
 * (prepared statements, JSON column, WAL) and the lmdb package (JSON values).
 */
export async function pointOps(): Promise<SuiteResult> {
  const m: Measurement[] = [];
  const dir = scratchDir('point-ops');
  try {
    const nodes = Array.from({ length: NODES }, (_, i) => ({ id: `node-${i}`, type: 'Item', properties: properties(i) }));

    // ---- getNode on 100k nodes ----
    const loom = EmbeddedDB.open(`${dir}/loomdb-read`);
    loom.insertNodesBatch(nodes);
    let sink = 0;
    m.push(await measure('LoomDB', 'getNode', READS, (i) => (sink += (loom.getNode(readId(i))?.properties.n as number) ?? 0)));
    loom.close();

    const sqlite = new Database(`${dir}/sqlite-read.db`);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.exec('CREATE TABLE nodes (id TEXT PRIMARY KEY, type TEXT NOT NULL, properties TEXT NOT NULL, created_at INTEGER, updated_at INTEGER)');
    const load = sqlite.prepare('INSERT INTO nodes VALUES (?, ?, ?, ?, ?)');
    sqlite.transaction(() => {
      for (const n of nodes) load.run(n.id, n.type, JSON.stringify(n.properties), 0, 0);
    })();
    const get = sqlite.prepare<[string], { id: string; type: string; properties: string; created_at: number; updated_at: number }>('SELECT * FROM nodes WHERE id = ?');
    m.push(
      await measure('better-sqlite3', 'getNode', READS, (i) => {
        const row = get.get(readId(i));
        if (row) sink += (JSON.parse(row.properties) as { n: number }).n;
      }),
    );
    sqlite.close();

    const lmdb = openLmdb({ path: `${dir}/lmdb-read`, encoding: 'json' });
    await lmdb.transaction(() => {
      for (const n of nodes) lmdb.put(n.id, n);
    });
    m.push(await measure('lmdb', 'getNode', READS, (i) => (sink += (lmdb.get(readId(i)) as { properties: { n: number } }).properties.n)));
    await lmdb.close();
    if (sink === 0) throw new Error('reads returned nothing');

    // ---- insertNode, one durable commit each, systems interleaved ----
    const closers: Array<() => unknown> = [];
    const inserters: Array<{ system: string; op: (i: number) => unknown }> = [];
    for (const durability of ['immediate', 'relaxed'] as const) {
      const db = EmbeddedDB.open(`${dir}/loomdb-${durability}`, { durability });
      closers.push(() => db.close());
      inserters.push({ system: `LoomDB (${durability})`, op: (i) => db.insertNode({ id: `new-${i}`, type: 'Item', properties: properties(i) }) });
    }
    for (const sync of ['FULL', 'NORMAL'] as const) {
      const db = new Database(`${dir}/sqlite-${sync}.db`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${sync}`);
      db.exec('CREATE TABLE nodes (id TEXT PRIMARY KEY, type TEXT NOT NULL, properties TEXT NOT NULL, created_at INTEGER, updated_at INTEGER)');
      const insert = db.prepare('INSERT INTO nodes VALUES (?, ?, ?, ?, ?)');
      const insertOne = db.transaction((i: number) => insert.run(`new-${i}`, 'Item', JSON.stringify(properties(i)), Date.now(), Date.now()));
      closers.push(() => db.close());
      inserters.push({ system: `better-sqlite3 (synchronous=${sync})`, op: insertOne });
    }
    const lmdbWrites = openLmdb({ path: `${dir}/lmdb-write`, encoding: 'json' });
    closers.push(() => lmdbWrites.close());
    inserters.push({ system: 'lmdb (await put)', op: (i) => lmdbWrites.put(`new-${i}`, { id: `new-${i}`, type: 'Item', properties: properties(i), createdAt: Date.now() }) });
    m.push(...(await measureInterleaved('insertNode', inserters, INSERT_ROUNDS, INSERTS / INSERT_ROUNDS)));
    for (const close of closers) await close();
  } finally {
    removeScratch(dir);
  }

  return {
    suite: 'point-ops',
    dataset: `${NODES.toLocaleString('en-US')} nodes with 3 JSON properties (~130 bytes) read in a fixed pseudo-random order (${READS.toLocaleString('en-US')} reads); ${INSERTS.toLocaleString('en-US')} single-node inserts, each its own durable commit, into an empty database, the systems taking turns in 8 rounds of 250`,
    measurements: m,
    comparisons: [
      compare(m, 'getNode', 'LoomDB', 'better-sqlite3', 1.0),
      compare(m, 'getNode', 'LoomDB', 'lmdb'),
      compare(m, 'insertNode', 'LoomDB (relaxed)', 'better-sqlite3 (synchronous=FULL)', 1.0),
      compare(m, 'insertNode', 'LoomDB (immediate)', 'better-sqlite3 (synchronous=FULL)', 0.5),
      compare(m, 'insertNode', 'LoomDB (relaxed)', 'better-sqlite3 (synchronous=NORMAL)'),
      compare(m, 'insertNode', 'LoomDB (immediate)', 'lmdb (await put)'),
      compare(m, 'insertNode', 'LoomDB (relaxed)', 'lmdb (await put)'),
    ],
  };
}
