import Database from 'better-sqlite3';
import hnswlib from 'hnswlib-node';
import { EmbeddedDB, type Node } from '@loomdb/db';
import { MemoryQueries, query } from '@loomdb/query';
import { EdgeTypes, MEMORY_INDEXES, MESSAGE_SPACE, NodeTypes, normalizeEntityName } from '@loomdb/query/memory';
import { compare, measureInterleaved, removeScratch, scratchDir, type Measurement, type SuiteResult } from '../harness.js';
import { seededRandom as random } from '@loomdb/db/testing/data';

const MESSAGES = 100_000;
const ENTITIES = 10_000;
const PER_CONVERSATION = 50;
const CONVERSATIONS = MESSAGES / PER_CONVERSATION;
const DIMS = 384;
const QUERIES = 200;
const CHECKED = 50;
const T0 = Date.UTC(2026, 0, 1);
const STEP = 30_000;


function normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

const mid = (i: number) => `m${i}`;
const eid = (i: number) => `ent${i}`;
const cid = (i: number) => `conv${i}`;

/**
 * A memory graph shaped like the weaver writes it: conversations of 50
 * messages, each message mentioning 1–5 entities chosen with a heavy tail,
 * RELATED_TO both ways between co-mentioned entities (weight = count), and
 * message embeddings near the topic vectors of the entities they mention.
 */
function dataset() {
  const r = random(2026);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const topics = Array.from({ length: ENTITIES }, () => normalize(Float32Array.from({ length: DIMS }, gauss)));
  const mentions: number[][] = [];
  const related = new Map<number, number>();
  const vectors = new Float32Array(MESSAGES * DIMS);
  for (let i = 0; i < MESSAGES; i++) {
    const count = 1 + Math.floor(r() * 4.25);
    const set = new Set<number>();
    while (set.size < count) set.add(Math.floor(ENTITIES * r() ** 2));
    const list = [...set];
    mentions.push(list);
    for (const a of list) for (const b of list) if (a !== b) related.set(a * ENTITIES + b, (related.get(a * ENTITIES + b) ?? 0) + 1);
    const v = vectors.subarray(i * DIMS, (i + 1) * DIMS);
    for (const e of list) for (let d = 0; d < DIMS; d++) v[d]! += topics[e]![d]!;
    for (let d = 0; d < DIMS; d++) v[d]! += 0.6 * gauss() / Math.sqrt(DIMS / 16);
    normalize(v);
  }
  return { topics, mentions, related, vectors };
}

type Data = ReturnType<typeof dataset>;

const timed = (f: () => unknown): number => {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

function loadLoom(path: string, data: Data): { db: EmbeddedDB; seconds: number; edges: number } {
  const db = EmbeddedDB.open(path, { durability: 'relaxed', spaces: { [MESSAGE_SPACE]: { dimensions: DIMS, metric: 'cosine' } } });
  let edges = 0;
  const seconds = timed(() => {
    db.insertNodesBatch(Array.from({ length: CONVERSATIONS }, (_, c) => ({ id: cid(c), type: NodeTypes.Conversation, properties: { title: `conversation ${c}`, source: 'bench' } })));
    db.insertNodesBatch(Array.from({ length: ENTITIES }, (_, e) => ({ id: eid(e), type: NodeTypes.Entity, properties: { name: `Entity ${e}`, kind: 'topic', key: `topic:entity ${e}`, normalizedName: normalizeEntityName(`Entity ${e}`) } })));
    const CHUNK = 25_000;
    for (let s = 0; s < MESSAGES; s += CHUNK) {
      const nodes = [];
      for (let i = s; i < Math.min(MESSAGES, s + CHUNK); i++) {
        const properties = {
          conversationId: cid(Math.floor(i / PER_CONVERSATION)),
          role: i % 2 === 0 ? 'user' : 'assistant',
          content: `message ${i} about ${data.mentions[i]!.map((e) => `Entity ${e}`).join(', ')}`,
          timestamp: T0 + i * STEP,
          eventId: `ev${i}`,
          source: 'bench',
        };
        nodes.push({ id: mid(i), type: NodeTypes.Message, properties });
      }
      db.insertNodesBatch(nodes);
    }
    let batch: Array<{ type: string; from: string; to: string; weight?: number }> = [];
    const flush = () => {
      db.insertEdgesBatch(batch);
      edges += batch.length;
      batch = [];
    };
    const add = (e: { type: string; from: string; to: string; weight?: number }) => {
      batch.push(e);
      if (batch.length === 50_000) flush();
    };
    for (let i = 0; i < MESSAGES; i++) {
      add({ type: EdgeTypes.IN_CONVERSATION, from: mid(i), to: cid(Math.floor(i / PER_CONVERSATION)) });
      if (i % PER_CONVERSATION !== 0) add({ type: EdgeTypes.NEXT, from: mid(i - 1), to: mid(i) });
      for (const e of data.mentions[i]!) add({ type: EdgeTypes.MENTIONS, from: mid(i), to: eid(e) });
    }
    for (const [pair, weight] of data.related) add({ type: EdgeTypes.RELATED_TO, from: eid(Math.floor(pair / ENTITIES)), to: eid(pair % ENTITIES), weight });
    flush();
    for (let s = 0; s < MESSAGES; s += 10_000) {
      const items = [];
      for (let i = s; i < Math.min(MESSAGES, s + 10_000); i++) items.push({ nodeId: mid(i), vector: data.vectors.subarray(i * DIMS, (i + 1) * DIMS) });
      db.insertEmbeddingsBatch(items);
    }
    for (const index of MEMORY_INDEXES) db.createIndex(index);
    db.catchUpIndexes();
  });
  return { db, seconds, edges };
}

/**
 * The same data in SQLite (tables with the indexes an app would declare,
 * creation times copied from LoomDB so orders can be compared) and every
 * message vector in an hnswlib index labelled by message number.
 */
function loadGlued(path: string, data: Data, loom: EmbeddedDB) {
  const sql = new Database(`${path}.sqlite`);
  sql.pragma('journal_mode = WAL');
  sql.pragma('synchronous = NORMAL');
  sql.exec(`CREATE TABLE messages (id TEXT PRIMARY KEY, label INTEGER NOT NULL, conversation_id TEXT NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL,
              timestamp INTEGER NOT NULL, event_id TEXT NOT NULL, source TEXT NOT NULL, created_at INTEGER NOT NULL);
            CREATE INDEX messages_conversation ON messages (conversation_id, timestamp);
            CREATE INDEX messages_time ON messages (timestamp);
            CREATE INDEX messages_role_time ON messages (role, timestamp);
            CREATE TABLE entities (id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, created_at INTEGER NOT NULL);
            CREATE INDEX entities_name ON entities (name);
            CREATE TABLE edges (type TEXT NOT NULL, src TEXT NOT NULL, dst TEXT NOT NULL, weight REAL NOT NULL);
            CREATE INDEX edges_dst ON edges (dst, type, src);
            CREATE INDEX edges_src ON edges (src, type, dst);`);
  const seconds = timed(() => {
    const m = sql.prepare('INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const e = sql.prepare('INSERT INTO entities VALUES (?, ?, ?, ?, ?)');
    const g = sql.prepare('INSERT INTO edges VALUES (?, ?, ?, ?)');
    sql.transaction(() => {
      for (const n of loom.iterateNodes({ type: [NodeTypes.Message, NodeTypes.Entity] })) {
        const p = n.properties as Record<string, string | number>;
        if (n.type === NodeTypes.Message) m.run(n.id, Number(n.id.slice(1)), p.conversationId, p.role, p.content, p.timestamp, p.eventId, p.source, n.createdAt);
        else e.run(n.id, p.name, p.kind, p.key, n.createdAt);
      }
      for (let i = 0; i < MESSAGES; i++) {
        g.run(EdgeTypes.IN_CONVERSATION, mid(i), cid(Math.floor(i / PER_CONVERSATION)), 1);
        if (i % PER_CONVERSATION !== 0) g.run(EdgeTypes.NEXT, mid(i - 1), mid(i), 1);
        for (const x of data.mentions[i]!) g.run(EdgeTypes.MENTIONS, mid(i), eid(x), 1);
      }
      for (const [pair, weight] of data.related) g.run(EdgeTypes.RELATED_TO, eid(Math.floor(pair / ENTITIES)), eid(pair % ENTITIES), weight);
    })();
  });
  const hnsw = new hnswlib.HierarchicalNSW('cosine', DIMS);
  const hnswSeconds = timed(() => {
    hnsw.initIndex({ maxElements: MESSAGES, m: 16, efConstruction: 100, randomSeed: 7 });
    for (let i = 0; i < MESSAGES; i++) hnsw.addPoint(Array.from(data.vectors.subarray(i * DIMS, (i + 1) * DIMS)), i);
    hnsw.setEf(100);
  });
  return { sql, hnsw, seconds, hnswSeconds };
}

/** Exact cosine distance, in JS, to a vector read back from the hnswlib index (where the app keeps its vectors). */
function cosineTo(index: hnswlib.HierarchicalNSW, v: Float32Array, label: number): number {
  const x = index.getPoint(label);
  let dot = 0;
  let norm = 0;
  for (let d = 0; d < DIMS; d++) {
    dot += x[d]! * v[d]!;
    norm += x[d]! * x[d]!;
  }
  return 1 - dot / Math.sqrt(norm);
}

/** The k nearest labels among `labels`, exactly, ties by id. */
function exactTop(index: hnswlib.HierarchicalNSW, v: Float32Array, labels: Iterable<number>, k: number): Array<{ id: string; distance: number }> {
  const hits: Array<{ id: string; distance: number }> = [];
  for (const label of labels) hits.push({ id: mid(label), distance: cosineTo(index, v, label) });
  hits.sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return hits.slice(0, k);
}

/** Same ids in the same order, allowing swaps of neighbours whose distances differ by float rounding only. */
function sameHits(a: Array<{ id: string; distance?: number }>, b: Array<{ id: string; distance?: number }>): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => x.id === b[i]!.id || Math.abs((x.distance ?? 0) - (b[i]!.distance ?? 0)) < 1e-5);
}

/**
 * The converged query and each memory method: LoomDB (one plan, run in the
 * engine) against the same answers computed with better-sqlite3 + hnswlib
 * glued together in JavaScript, on the same data in the same run. Answers
 * are compared on the first queries of each case before timing.
 */
export async function querySuite(): Promise<SuiteResult> {
  const m: Measurement[] = [];
  const dir = scratchDir('query');
  const notes: string[] = [];
  try {
    const data = dataset();
    const { db: loom, seconds: loomLoad, edges } = loadLoom(`${dir}/loomdb`, data);
    console.log(`LoomDB loaded ${MESSAGES + ENTITIES + CONVERSATIONS} nodes, ${edges} edges, ${MESSAGES} embeddings in ${loomLoad.toFixed(1)} s`);
    const glued = loadGlued(`${dir}/glued`, data, loom);
    console.log(`SQLite loaded in ${glued.seconds.toFixed(1)} s, hnswlib built in ${glued.hnswSeconds.toFixed(1)} s`);
    const memory = new MemoryQueries(loom);
    const { sql, hnsw } = glued;

    // ---- queries, seeded ----
    const q = random(11);
    const noisy = (base: Float32Array) => normalize(Float32Array.from(base, (x) => x + (q() - 0.5) * 0.08));
    const span = MESSAGES * STEP;
    const converged = Array.from({ length: QUERIES }, () => {
      const x = 100 + Math.floor(q() * 1900);
      const from = T0 + Math.floor(q() * 0.9 * span);
      return { x, from, to: from + Math.floor(0.1 * span), v: noisy(data.topics[x]!) };
    });

    // messages by role in a time range that mention entity X within 2 hops, 10 most similar to v
    const loomConverged = (c: (typeof converged)[number]) =>
      query(loom)
        .type(NodeTypes.Message)
        .where('role', 'eq', 'user')
        .where('timestamp', 'gte', c.from)
        .where('timestamp', 'lte', c.to)
        .connectedTo(eid(c.x), { edgeTypes: [EdgeTypes.MENTIONS, EdgeTypes.RELATED_TO], direction: 'out', maxHops: 2 })
        .similarTo(c.v, { k: 10 })
        .execute();
    const sqlConverged = sql
      .prepare(
        `WITH anchors AS (SELECT ? AS id UNION SELECT src FROM edges WHERE dst = ? AND type = 'RELATED_TO')
         SELECT DISTINCT m.label FROM anchors a JOIN edges e ON e.dst = a.id AND e.type = 'MENTIONS' JOIN messages m ON m.id = e.src
         WHERE m.role = ? AND m.timestamp BETWEEN ? AND ?`,
      )
      .pluck();
    const gluedConverged = (c: (typeof converged)[number]) => exactTop(hnsw, c.v, sqlConverged.all(eid(c.x), eid(c.x), 'user', c.from, c.to) as number[], 10);

    // findSimilarMemories, narrowed to one entity's messages
    const entityQueries = Array.from({ length: QUERIES }, () => {
      const x = 50 + Math.floor(q() * 2000);
      return { name: `Entity ${x}`, v: noisy(data.topics[x]!) };
    });
    const sqlMentioning = sql
      .prepare(`SELECT m.label FROM entities x JOIN edges e ON e.dst = x.id AND e.type = 'MENTIONS' JOIN messages m ON m.id = e.src WHERE x.name = ? OR x.id = ?`)
      .pluck();
    const loomSimilarEntity = (e: (typeof entityQueries)[number]) => memory.findSimilarMemories(e.v, { k: 10, entity: e.name });
    const gluedSimilarEntity = (e: (typeof entityQueries)[number]) => exactTop(hnsw, e.v, sqlMentioning.all(e.name, e.name) as number[], 10);

    // findSimilarMemories over every message: both approximate (HNSW), held to recall against the exact answer
    const loomSimilarAll = (e: (typeof entityQueries)[number]) => memory.findSimilarMemories(e.v, { k: 10 });
    const exactSimilarAll = (e: (typeof entityQueries)[number]) => query(loom).type(NodeTypes.Message).similarTo(e.v, { k: 10, exact: true }).execute();
    const gluedSimilarAll = (e: (typeof entityQueries)[number]) => {
      const r = hnsw.searchKnn(Array.from(e.v), 10);
      return r.neighbors.map((label, i) => ({ id: mid(label), distance: r.distances[i]! }));
    };

    // getConversationContext(message, 5 before, 5 after, with entities)
    const contextIds = Array.from({ length: QUERIES }, () => Math.floor(q() * MESSAGES));
    const sqlConversationOf = sql.prepare('SELECT conversation_id FROM messages WHERE id = ?').pluck();
    const sqlConversation = sql.prepare('SELECT id FROM messages WHERE conversation_id = ? ORDER BY timestamp, id').pluck();
    const sqlMentioned = new Map<number, Database.Statement>();
    const mentionedBy = (n: number) => {
      let statement = sqlMentioned.get(n);
      if (!statement) {
        statement = sql.prepare(`SELECT DISTINCT x.id, x.name FROM edges e JOIN entities x ON x.id = e.dst WHERE e.type = 'MENTIONS' AND e.src IN (${Array(n).fill('?').join(',')}) ORDER BY x.name, x.id`);
        sqlMentioned.set(n, statement);
      }
      return statement;
    };
    const gluedContext = (i: number) => {
      const conversation = sqlConversationOf.get(mid(i)) as string;
      const all = sqlConversation.all(conversation) as string[];
      const at = all.indexOf(mid(i));
      const window = all.slice(Math.max(0, at - 5), at + 6);
      const entities = mentionedBy(window.length).all(...window) as Array<{ id: string }>;
      return [...window.map((id) => ({ id })), ...entities.map((x) => ({ id: x.id }))];
    };
    const loomContext = (i: number) => memory.getConversationContext(mid(i), { before: 5, after: 5, includeEntities: true });

    // searchByEntity(name, 1 hop, messages only, 10 newest)
    const sqlByEntity = sql.prepare(
      `SELECT m.id FROM entities x JOIN edges e ON e.dst = x.id AND e.type = 'MENTIONS' JOIN messages m ON m.id = e.src
       WHERE x.name = ? OR x.id = ? ORDER BY m.created_at DESC, m.id DESC LIMIT 10`,
    );
    const loomByEntity = (e: (typeof entityQueries)[number]) => memory.searchByEntity(e.name, { k: 10, hops: 1, types: [NodeTypes.Message] });
    const gluedByEntity = (e: (typeof entityQueries)[number]) => (sqlByEntity.all(e.name, e.name) as Array<{ id: string }>).map((r) => ({ id: r.id }));

    // getChatHistory(conversation, first 50 by timestamp)
    const conversations = Array.from({ length: QUERIES }, () => Math.floor(q() * CONVERSATIONS));
    const sqlHistory = sql.prepare('SELECT id, role, content, timestamp FROM messages WHERE conversation_id = ? ORDER BY timestamp, id LIMIT 50');
    const loomHistory = (c: number) => memory.getChatHistory(cid(c), { limit: 50 });
    const gluedHistory = (c: number) => (sqlHistory.all(cid(c)) as Array<{ id: string }>).map((r) => ({ id: r.id }));

    // ---- same answers first ----
    const hits = (items: Array<{ node: Node; distance?: number }>) => items.map((it) => ({ id: it.node.id, distance: it.distance }));
    const check = async <Q>(name: string, inputs: Q[], mine: (x: Q) => Promise<{ items: Array<{ node: Node; distance?: number }> }>, theirs: (x: Q) => Array<{ id: string; distance?: number }>) => {
      for (const input of inputs.slice(0, CHECKED)) {
        const [a, b] = [hits((await mine(input)).items), theirs(input)];
        if (!sameHits(a, b)) throw new Error(`${name}: answers differ for ${JSON.stringify(input).slice(0, 120)}: LoomDB ${JSON.stringify(a.map((x) => x.id))} vs glued ${JSON.stringify(b.map((x) => x.id))}`);
      }
      notes.push(`${name}: same answers on ${Math.min(CHECKED, inputs.length)} queries`);
    };
    await check('converged query', converged, loomConverged, gluedConverged);
    await check('findSimilarMemories (entity)', entityQueries, loomSimilarEntity, gluedSimilarEntity);
    await check('getConversationContext', contextIds, loomContext, gluedContext);
    await check('searchByEntity', entityQueries, loomByEntity, gluedByEntity);
    await check('getChatHistory', conversations, loomHistory, gluedHistory);
    const found = { loom: 0, glued: 0 };
    for (const e of entityQueries.slice(0, CHECKED)) {
      const exact = new Set(hits((await exactSimilarAll(e)).items).map((h) => h.id));
      found.loom += hits((await loomSimilarAll(e)).items).filter((h) => exact.has(h.id)).length;
      found.glued += gluedSimilarAll(e).filter((h) => exact.has(h.id)).length;
    }
    const recall = (n: number) => (n / (10 * CHECKED)).toFixed(3);
    notes.push(`findSimilarMemories (all messages): recall@10 against the exact answer (a plan with exact: true) on ${CHECKED} queries: LoomDB HNSW (M=16, efConstruction=128, ef=64 doubled for the type filter) ${recall(found.loom)}, hnswlib ${recall(found.glued)}`);
    const explain = await query(loom)
      .type(NodeTypes.Message)
      .where('role', 'eq', 'user')
      .where('timestamp', 'gte', converged[0]!.from)
      .where('timestamp', 'lte', converged[0]!.to)
      .connectedTo(eid(converged[0]!.x), { edgeTypes: [EdgeTypes.MENTIONS, EdgeTypes.RELATED_TO], direction: 'out', maxHops: 2 })
      .similarTo(converged[0]!.v, { k: 10 })
      .explain();
    console.log(JSON.stringify({ strategy: explain.strategy, stages: explain.stages }, null, 1));
    const all = await query(loom).type(NodeTypes.Message).similarTo(entityQueries[0]!.v, { k: 10 }).explain();
    console.log(JSON.stringify({ strategy: all.strategy, stages: all.stages }, null, 1));

    // ---- timing, interleaved ----
    const pick = <T>(xs: T[]) => (i: number) => xs[i % xs.length] as T;
    const cases: Array<[string, (i: number) => unknown, (i: number) => unknown]> = [
      ['converged query', (i) => loomConverged(pick(converged)(i)), (i) => gluedConverged(pick(converged)(i))],
      ['findSimilarMemories (entity)', (i) => loomSimilarEntity(pick(entityQueries)(i)), (i) => gluedSimilarEntity(pick(entityQueries)(i))],
      ['findSimilarMemories (all messages)', (i) => loomSimilarAll(pick(entityQueries)(i)), (i) => gluedSimilarAll(pick(entityQueries)(i))],
      ['getConversationContext', (i) => loomContext(pick(contextIds)(i)), (i) => gluedContext(pick(contextIds)(i))],
      ['searchByEntity', (i) => loomByEntity(pick(entityQueries)(i)), (i) => gluedByEntity(pick(entityQueries)(i))],
      ['getChatHistory', (i) => loomHistory(pick(conversations)(i)), (i) => gluedHistory(pick(conversations)(i))],
    ];
    for (const [name, mine, theirs] of cases) {
      const perRound = name.includes('all messages') ? 25 : QUERIES / 4;
      m.push(...(await measureInterleaved(name, [{ system: 'LoomDB', op: mine }, { system: 'better-sqlite3 + hnswlib', op: theirs }], 4, perRound, 20)));
    }
    loom.close();
    sql.close();
    return {
      suite: 'query',
      dataset: `seeded memory graph: ${MESSAGES.toLocaleString('en-US')} messages in ${CONVERSATIONS.toLocaleString('en-US')} conversations, ${ENTITIES.toLocaleString('en-US')} entities (mentions 1–5 per message, heavy-tailed), ${edges.toLocaleString('en-US')} edges (IN_CONVERSATION, NEXT, MENTIONS, RELATED_TO), ${DIMS}-d cosine embeddings near the mentioned entities' topics; LoomDB: one plan per call, native engine, space with the default HNSW index: the planner ranks few candidates exactly and searches the graph, filtered by the plan, when many; glued: better-sqlite3 (WAL, indexes on conversation, time, role+time, entity name and both edge ends) for filters and graph hops, vectors kept in hnswlib-node (M=16, efConstruction=100, ef=100): filtered kNN ranks the SQL candidates exactly with vectors read back by getPoint (same answers as LoomDB), unfiltered kNN is hnswlib's approximate search. ${notes.join('; ')}. Converged query: type Message, role = user, timestamp in a 10% window of the history, MENTIONS/RELATED_TO path to entity X within 2 hops, 10 nearest to v.`,
      measurements: m,
      comparisons: cases.map(([name]) => compare(m, name, 'LoomDB', 'better-sqlite3 + hnswlib', name === 'converged query' ? 3 : undefined)),
    };
  } finally {
    removeScratch(dir);
  }
}
