import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import kuzu, { type QueryResult } from 'kuzu';
import { EmbeddedDB } from '@loomdb/db';
import { compare, measureInterleaved, removeScratch, scratchDir, type Measurement, type SuiteResult } from '../harness.js';
import { seededRandom as random } from '@loomdb/db/testing/data';

const NODES = 100_000;
const EDGES = 1_000_000;
const QUERIES = 1_000;
const PATHS = 200;


/**
 * A power-law graph: sources uniform, targets skewed towards low ids
 * (index ⌊N·r³⌋), so in-degrees follow a heavy tail like mention graphs do.
 */
function powerLawGraph() {
  const r = random(42);
  const ids = Array.from({ length: NODES }, (_, i) => `n${i}`);
  const from = new Uint32Array(EDGES);
  const to = new Uint32Array(EDGES);
  for (let i = 0; i < EDGES; i++) {
    from[i] = Math.floor(r() * NODES);
    to[i] = Math.floor(NODES * r() ** 3);
  }
  return { ids, from, to };
}

/** All rows of a single-statement kuzu result. */
const rows = (r: QueryResult | QueryResult[]) => (Array.isArray(r) ? (r[0] as QueryResult) : r).getAll();

const timed = (f: () => unknown): number => {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

async function timedAsync(f: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function loadMeasurement(system: string, seconds: number): Measurement {
  const rows = NODES + EDGES;
  return { case: 'bulk load (rows/s)', system, ops: rows, opsPerSec: rows / seconds, p50us: 0, p99us: 0 };
}

/**
 * Bulk load, 1- and 2-hop neighbourhoods, shortest paths and a full node scan
 * on the same power-law graph: LoomDB, better-sqlite3 (edge table with
 * indexes on both ends, recursive CTE for 2 hops), and kuzu.
 */
export async function graph(): Promise<SuiteResult> {
  const m: Measurement[] = [];
  const dir = scratchDir('graph');
  const g = powerLawGraph();
  const nodeProps = (i: number) => ({ name: `node ${i}`, n: i });
  const q = random(7);
  const starts = Array.from({ length: QUERIES + 100 }, () => `n${Math.floor(q() * NODES)}`);
  const pairs = Array.from({ length: PATHS + 10 }, () => [`n${Math.floor(q() * NODES)}`, `n${Math.floor(NODES * q() ** 3)}`] as const);
  try {
    // ---- LoomDB ----
    const loom = EmbeddedDB.open(`${dir}/loomdb`, { durability: 'relaxed' });
    const loomLoad = timed(() => {
      const CHUNK = 50_000;
      for (let s = 0; s < NODES; s += CHUNK) {
        loom.insertNodesBatch(g.ids.slice(s, s + CHUNK).map((id, k) => ({ id, type: 'Item', properties: nodeProps(s + k) })));
      }
      for (let s = 0; s < EDGES; s += CHUNK) {
        const batch = [];
        for (let i = s; i < Math.min(EDGES, s + CHUNK); i++) batch.push({ id: `e${i}`, type: 'LINK', from: g.ids[g.from[i] as number] as string, to: g.ids[g.to[i] as number] as string });
        loom.insertEdgesBatch(batch);
      }
    });
    m.push(loadMeasurement('LoomDB', loomLoad));

    // ---- better-sqlite3 ----
    const sql = new Database(`${dir}/sqlite.db`);
    sql.pragma('journal_mode = WAL');
    sql.pragma('synchronous = NORMAL');
    sql.exec(`CREATE TABLE nodes (id TEXT PRIMARY KEY, type TEXT NOT NULL, properties TEXT NOT NULL) WITHOUT ROWID;
              CREATE TABLE edges (id TEXT PRIMARY KEY, type TEXT NOT NULL, src TEXT NOT NULL, dst TEXT NOT NULL) WITHOUT ROWID;
              CREATE INDEX edges_src ON edges (src, type, dst); CREATE INDEX edges_dst ON edges (dst, type, src);`);
    const sqlLoad = timed(() => {
      const n = sql.prepare('INSERT INTO nodes VALUES (?, ?, ?)');
      const e = sql.prepare('INSERT INTO edges VALUES (?, ?, ?, ?)');
      sql.transaction(() => {
        for (let i = 0; i < NODES; i++) n.run(g.ids[i], 'Item', JSON.stringify(nodeProps(i)));
        for (let i = 0; i < EDGES; i++) e.run(`e${i}`, 'LINK', g.ids[g.from[i] as number], g.ids[g.to[i] as number]);
      })();
    });
    m.push(loadMeasurement('better-sqlite3', sqlLoad));

    // ---- kuzu (COPY from CSV; writing the CSV is not counted) ----
    writeFileSync(`${dir}/nodes.csv`, `id,name,n\n${g.ids.map((id, i) => `${id},node ${i},${i}`).join('\n')}\n`);
    const edgeLines: string[] = [];
    for (let i = 0; i < EDGES; i++) edgeLines.push(`${g.ids[g.from[i] as number]},${g.ids[g.to[i] as number]},e${i}`);
    writeFileSync(`${dir}/edges.csv`, `from,to,id\n${edgeLines.join('\n')}\n`);
    const kdb = new kuzu.Database(`${dir}/kuzu`);
    const kconn = new kuzu.Connection(kdb);
    await kconn.query('CREATE NODE TABLE Item(id STRING, name STRING, n INT64, PRIMARY KEY(id))');
    await kconn.query('CREATE REL TABLE LINK(FROM Item TO Item, id STRING)');
    const kuzuLoad = await timedAsync(async () => {
      await kconn.query(`COPY Item FROM '${dir}/nodes.csv' (HEADER=true)`);
      await kconn.query(`COPY LINK FROM '${dir}/edges.csv' (HEADER=true)`);
    });
    m.push(loadMeasurement('kuzu', kuzuLoad));

    // ---- neighbourhoods: every system returns the neighbour records ----
    const sql1 = sql.prepare('SELECT n.id, n.properties FROM edges e JOIN nodes n ON n.id = e.dst WHERE e.src = ? AND e.type = ?');
    const sql2 = sql.prepare(`WITH RECURSIVE hop(id, depth) AS (SELECT ?, 0 UNION SELECT e.dst, hop.depth + 1 FROM hop JOIN edges e ON e.src = hop.id AND e.type = 'LINK' WHERE hop.depth < 2)
      SELECT n.id, n.properties, MIN(hop.depth) AS depth FROM hop JOIN nodes n ON n.id = hop.id WHERE hop.depth > 0 GROUP BY n.id`);
    const k1 = await kconn.prepare('MATCH (a:Item {id: $id})-[:LINK]->(b:Item) RETURN b.id, b.name, b.n');
    const k2 = await kconn.prepare('MATCH (a:Item {id: $id})-[:LINK*1..2]->(b:Item) WHERE b.id <> $id RETURN DISTINCT b.id, b.name, b.n');
    const parseRows = (rows: Array<{ properties: string }>) => rows.map((r) => JSON.parse(r.properties));
    m.push(
      ...(await measureInterleaved(
        '1-hop neighbours',
        [
          { system: 'LoomDB', op: (i) => loom.neighbors(starts[i % starts.length] as string, { direction: 'out', edgeTypes: ['LINK'] }) },
          { system: 'better-sqlite3', op: (i) => parseRows(sql1.all(starts[i % starts.length], 'LINK') as Array<{ properties: string }>) },
          { system: 'kuzu', op: async (i) => rows(await kconn.execute(k1, { id: starts[i % starts.length] as string })) },
        ],
        4,
        QUERIES / 4,
      )),
    );
    m.push(
      ...(await measureInterleaved(
        '2-hop neighbourhood',
        [
          { system: 'LoomDB', op: (i) => loom.traverse(starts[i % starts.length] as string, { direction: 'out', edgeTypes: ['LINK'], maxDepth: 2 }) },
          { system: 'better-sqlite3', op: (i) => parseRows(sql2.all(starts[i % starts.length]) as Array<{ properties: string }>) },
          { system: 'kuzu', op: async (i) => rows(await kconn.execute(k2, { id: starts[i % starts.length] as string })) },
        ],
        4,
        QUERIES / 4,
      )),
    );

    // ---- shortest paths (out-edges, up to 6 hops) ----
    const out = sql.prepare('SELECT dst FROM edges WHERE src = ? AND type = ?').pluck();
    const sqlPath = (from: string, to: string) => {
      // Breadth-first in JS over the indexed edge table: how an app does it on SQLite.
      const parent = new Map<string, string>([[from, from]]);
      let frontier = [from];
      for (let d = 0; d < 6 && frontier.length && !parent.has(to); d++) {
        const next: string[] = [];
        for (const at of frontier) for (const nb of out.all(at, 'LINK') as string[]) if (!parent.has(nb)) parent.set(nb, at), next.push(nb);
        frontier = next;
      }
      return parent.has(to);
    };
    const kp = await kconn.prepare('MATCH p = (a:Item {id: $from})-[:LINK* SHORTEST 1..6]->(b:Item {id: $to}) RETURN length(p)');
    m.push(
      ...(await measureInterleaved(
        'shortest path',
        [
          { system: 'LoomDB', op: (i) => loom.shortestPath(...(pairs[i % pairs.length] as [string, string]), { direction: 'out', edgeTypes: ['LINK'], maxDepth: 6 }) },
          { system: 'better-sqlite3', op: (i) => sqlPath(...(pairs[i % pairs.length] as [string, string])) },
          { system: 'kuzu', op: async (i) => rows(await kconn.execute(kp, { from: pairs[i % pairs.length]?.[0] as string, to: pairs[i % pairs.length]?.[1] as string })) },
        ],
        2,
        PATHS / 2,
        5,
      )),
    );

    // ---- a full scan of the 100k nodes ----
    const scan = sql.prepare('SELECT id, type, properties FROM nodes');
    m.push(
      ...(await measureInterleaved(
        'full node scan (100k)',
        [
          {
            system: 'LoomDB',
            op: () => {
              let n = 0;
              for (const node of loom.iterateNodes()) n += node.properties.n as number;
              return n;
            },
          },
          {
            system: 'better-sqlite3',
            op: () => {
              let n = 0;
              for (const row of scan.iterate() as IterableIterator<{ properties: string }>) n += JSON.parse(row.properties).n;
              return n;
            },
          },
          { system: 'kuzu', op: async () => rows(await kconn.query('MATCH (n:Item) RETURN n.id, n.name, n.n')) },
        ],
        3,
        1,
        1,
      )),
    );
    loom.close();
    sql.close();
    await kconn.close();
    await kdb.close();
  } finally {
    removeScratch(dir);
  }
  return {
    suite: 'graph',
    dataset: `seeded power-law graph: ${NODES.toLocaleString('en-US')} nodes, ${EDGES.toLocaleString('en-US')} LINK edges (sources uniform, targets ⌊N·r³⌋); queries from ${QUERIES} seeded random start nodes; LoomDB relaxed durability, SQLite WAL synchronous=NORMAL; kuzu loads by COPY from CSV (CSV writing not timed)`,
    measurements: m,
    comparisons: [
      compare(m, 'bulk load (rows/s)', 'LoomDB', 'better-sqlite3', 1.0),
      compare(m, 'bulk load (rows/s)', 'LoomDB', 'kuzu'),
      compare(m, '1-hop neighbours', 'LoomDB', 'better-sqlite3'),
      compare(m, '1-hop neighbours', 'LoomDB', 'kuzu'),
      compare(m, '2-hop neighbourhood', 'LoomDB', 'better-sqlite3', 1.0),
      compare(m, '2-hop neighbourhood', 'LoomDB', 'kuzu', 1.0),
      compare(m, 'shortest path', 'LoomDB', 'better-sqlite3'),
      compare(m, 'shortest path', 'LoomDB', 'kuzu'),
      compare(m, 'full node scan (100k)', 'LoomDB', 'better-sqlite3', 1.0),
    ],
  };
}
