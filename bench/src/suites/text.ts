import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EmbeddedDB, hashingEmbed } from '@loomdb/db';
import { MemoryQueries, MESSAGE_SPACE, MESSAGE_SPACE_SPEC, MESSAGE_TEXT_INDEX, MESSAGE_TEXT_INDEX_SPEC, NodeTypes } from '@loomdb/query';
import { seededRandom } from '@loomdb/db/testing/data';
import { BENCH_ROOT, compare, measure, measureInterleaved, removeScratch, scratchDir, type Measurement, type SuiteResult } from '../harness.js';

const MESSAGES = Number(process.env.LOOMDB_TEXT_MESSAGES ?? 100_000);
const PER_CONVERSATION = 50;
const QUERIES = 1_000;
const ROUNDS = 5;
const K = 10;
const OVERLAP_TARGET = 0.9;
const FIND_P50_TARGET_MS = 2;
const T0 = Date.UTC(2025, 0, 1);
/** LoomDB's index for the FTS5 comparison: the closest tokenization to porter unicode61 remove_diacritics 2. */
const CMP_INDEX = 'fts5like';

/**
 * `count` chat messages recombined from the hand-written sentences of
 * data/chat-ner.jsonl: each message is 1 to 4 fragments (a whole sentence, or
 * a run of 3 to 9 of its words), seeded, so the corpus has real chat
 * vocabulary and word order but few duplicate messages.
 */
export function chatCorpus(count: number, seed = 16): { messages: string[]; vocabulary: string[] } {
  const sentences = readFileSync(join(BENCH_ROOT, 'data', 'chat-ner.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const words = sentences.map((s) => s.split(/\s+/u).filter(Boolean));
  const next = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const messages: string[] = [];
  for (let i = 0; i < count; i++) {
    const parts: string[] = [];
    const fragments = 1 + Math.floor(next() * 4);
    for (let f = 0; f < fragments; f++) {
      const w = pick(words);
      if (w.length <= 9 || next() < 0.3) parts.push(w.join(' '));
      else {
        const len = 3 + Math.floor(next() * 7);
        const start = Math.floor(next() * (w.length - len + 1));
        parts.push(w.slice(start, start + len).join(' '));
      }
    }
    messages.push(parts.join(' '));
  }
  const vocabulary = [...new Set(sentences.flatMap((s) => s.toLowerCase().match(/\p{L}{3,}/gu) ?? []))].sort();
  return { messages, vocabulary };
}

/** 2 to 4 distinct corpus words per query, seeded. */
export function textQueries(vocabulary: readonly string[], count: number, seed = 61): string[] {
  const next = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const n = 2 + Math.floor(next() * 3);
    const words = new Set<string>();
    while (words.size < n) words.add(vocabulary[Math.floor(next() * vocabulary.length)] as string);
    return [...words].join(' ');
  });
}

/** FTS5's implicit operator is AND; LoomDB ranks any-term matches, so FTS5 is asked the OR of the quoted terms. */
export const fts5Query = (q: string) =>
  q
    .split(/\s+/u)
    .filter(Boolean)
    .map((w) => `"${w.replaceAll('"', '""')}"`)
    .join(' OR ');

/** The commit the measured build came from, and whether packages/ had uncommitted edits then (others work in the same tree). */
export function sourceState(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: BENCH_ROOT, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', '../packages').length > 0;
    let native = '';
    try {
      native = `, native binary built ${statSync(join(BENCH_ROOT, '..', 'packages', 'core-native', 'index.node')).mtime.toISOString()}`;
    } catch {
      // not a checkout with the binary beside the sources
    }
    return `HEAD ${git('rev-parse', '--short', 'HEAD')} when the run started${dirty ? ' (uncommitted edits under packages/)' : ''}${native}`;
  } catch {
    return 'source commit unknown';
  }
}

const messageId = (i: number) => `m${i}`;
const conversationId = (i: number) => `c${Math.floor(i / PER_CONVERSATION)}`;

/**
 * Top-k agreement per query: strict |ours ∩ FTS5| ÷ max(sizes); tie-aware
 * also counts one of ours whose FTS5 bm25() equals FTS5's k-th score.
 * Averaged over queries where either side returns anything.
 */
function agreement(
  queries: readonly string[],
  ftsQueries: readonly string[],
  fts: (q: string) => Array<{ rowid: number; s: number }>,
  ftsScore: (q: string, rowid: number) => number | undefined,
  ours: (q: string) => Array<{ id: string }>,
): { queries: number; strict: number; tieAware: number; empty: number } {
  let strict = 0;
  let tieAware = 0;
  let counted = 0;
  let empty = 0;
  for (const [qi, q] of queries.entries()) {
    const fq = ftsQueries[qi] as string;
    const gold = fts(fq);
    const hits = ours(q);
    if (gold.length === 0) {
      empty++;
      if (hits.length === 0) continue;
    }
    counted++;
    const ids = new Set(gold.map((r) => messageId(r.rowid)));
    const last = gold.at(-1)?.s ?? 0;
    let s = 0;
    let t = 0;
    for (const h of hits) {
      if (ids.has(h.id)) {
        s++;
        t++;
      } else if (gold.length === K) {
        const score = ftsScore(fq, Number(h.id.slice(1)));
        if (score !== undefined && Math.abs(score - last) <= 1e-9 * Math.max(1, Math.abs(last))) t++;
      }
    }
    const denom = Math.max(gold.length, hits.length, 1);
    strict += s / denom;
    tieAware += t / denom;
  }
  return { queries: counted, strict: strict / counted, tieAware: tieAware / counted, empty };
}

const seconds = (f: () => unknown): number => {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

/**
 * Full-text search: SQLite FTS5 (better-sqlite3, porter unicode61
 * remove_diacritics 2, bm25()) against LoomDB's text index ({ stopWords:
 * false }) on 100k recombined chat messages; plus findSimilarMemories on the
 * same weaver-shaped messages with hashing vectors and the default text index.
 */
export async function text(): Promise<SuiteResult> {
  const m: Measurement[] = [];
  const source = sourceState();
  const dir = scratchDir('text');
  const { messages, vocabulary } = chatCorpus(MESSAGES);
  const queries = textQueries(vocabulary, QUERIES);
  const props = (i: number) => ({
    conversationId: conversationId(i),
    role: i % 2 === 0 ? 'user' : 'assistant',
    content: messages[i] as string,
    timestamp: T0 + i * 60_000,
    eventId: `ev${i}`,
    source: 'bench',
  });
  const build: Record<string, number> = {};
  const overlap: Record<string, { queries: number; strict: number; tieAware: number; empty: number }> = {};
  const findSimilar: Record<string, { p50ms: number; p99ms: number; opsPerSec: number }> = {};
  try {
    // ---- build: insert 100k + index ----
    const sqlite = new Database(join(dir, 'fts5.db'));
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.exec(
      `CREATE VIRTUAL TABLE messages USING fts5(content, id UNINDEXED, conversation_id UNINDEXED, role UNINDEXED, timestamp UNINDEXED, event_id UNINDEXED, source UNINDEXED, tokenize='porter unicode61 remove_diacritics 2')`,
    );
    const insert = sqlite.prepare('INSERT INTO messages (rowid, content, id, conversation_id, role, timestamp, event_id, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    build['FTS5 (insert, index kept as rows arrive)'] = seconds(() =>
      sqlite.transaction(() => {
        for (let i = 0; i < MESSAGES; i++) {
          const p = props(i);
          insert.run(i, p.content, messageId(i), p.conversationId, p.role, p.timestamp, p.eventId, p.source);
        }
      })(),
    );

    const loom = EmbeddedDB.open(join(dir, 'loomdb'), { durability: 'relaxed' });
    const CHUNK = 10_000;
    const insertSeconds = seconds(() => {
      for (let s = 0; s < MESSAGES; s += CHUNK) {
        loom.insertNodesBatch(Array.from({ length: Math.min(CHUNK, MESSAGES - s) }, (_, j) => ({ id: messageId(s + j), type: NodeTypes.Message, properties: props(s + j) })));
      }
    });
    const indexSeconds = seconds(() => loom.createTextIndex(CMP_INDEX, { types: [NodeTypes.Message], fields: ['content'], stopWords: false }));
    build['LoomDB insertNodesBatch'] = insertSeconds;
    build['LoomDB createTextIndex'] = indexSeconds;
    build['LoomDB (insert, then createTextIndex)'] = insertSeconds + indexSeconds;

    // LoomDB with the index open before the writes (kept in each write transaction).
    const live = EmbeddedDB.open(join(dir, 'loomdb-live'), { durability: 'relaxed', textIndexes: { [CMP_INDEX]: { types: [NodeTypes.Message], fields: ['content'], stopWords: false } } });
    build['LoomDB (insert, index kept as rows arrive)'] = seconds(() => {
      for (let s = 0; s < MESSAGES; s += CHUNK) {
        live.insertNodesBatch(Array.from({ length: Math.min(CHUNK, MESSAGES - s) }, (_, j) => ({ id: messageId(s + j), type: NodeTypes.Message, properties: props(s + j) })));
      }
    });
    live.close();
    // The same with FTS5, index made after the rows (an external-content table rebuilt from a plain table).
    sqlite.exec('CREATE TABLE plain (id INTEGER PRIMARY KEY, content TEXT)');
    const plainInsert = sqlite.prepare('INSERT INTO plain VALUES (?, ?)');
    const plainLoad = seconds(() =>
      sqlite.transaction(() => {
        for (let i = 0; i < MESSAGES; i++) plainInsert.run(i, messages[i]);
      })(),
    );
    const rebuild = seconds(() => {
      sqlite.exec(`CREATE VIRTUAL TABLE later USING fts5(content, content='plain', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')`);
      sqlite.exec(`INSERT INTO later(later) VALUES ('rebuild')`);
    });
    build['FTS5 (insert into a table, then rebuild an external-content index)'] = plainLoad + rebuild;
    sqlite.exec('DROP TABLE later; DROP TABLE plain;');

    // ---- text search: queries/s, systems interleaved ----
    const search = sqlite.prepare<[string, number], { rowid: number; s: number }>('SELECT rowid, bm25(messages) AS s FROM messages WHERE messages MATCH ? ORDER BY s LIMIT ?');
    const ftsQueries = queries.map(fts5Query);
    let sink = 0;
    m.push(
      ...(await measureInterleaved(
        `searchText k=${K}`,
        [
          { system: 'LoomDB', op: (i) => (sink += loom.searchText(queries[i % QUERIES] as string, { k: K, index: CMP_INDEX }).length) },
          { system: 'FTS5', op: (i) => (sink += search.all(ftsQueries[i % QUERIES] as string, K).length) },
        ],
        ROUNDS,
        QUERIES / ROUNDS,
        100,
      )),
    );

    // ---- top-10 overlap with FTS5 ORDER BY bm25() ----
    // Strict: |LoomDB top 10 ∩ FTS5 top 10| / |FTS5 top 10|. Tie-aware also counts a LoomDB hit whose
    // FTS5 score equals FTS5's 10th (ties at the cut are ordered arbitrarily by both).
    const scoreOf = sqlite.prepare<[string, number], { s: number }>('SELECT bm25(messages) AS s FROM messages WHERE messages MATCH ? AND rowid = ?');
    overlap[`${MESSAGES.toLocaleString('en-US')} messages`] = agreement(queries, ftsQueries, (q) => search.all(q, K), (q, rowid) => scoreOf.get(q, rowid)?.s, (q) => loom.searchText(q, { k: K, index: CMP_INDEX }));

    // ---- findSimilarMemories at 100k: weaver-shaped messages, hashing vectors, text index default ----
    loom.createSpace(MESSAGE_SPACE, MESSAGE_SPACE_SPEC);
    for (let s = 0; s < MESSAGES; s += CHUNK) {
      loom.insertEmbeddingsBatch(Array.from({ length: Math.min(CHUNK, MESSAGES - s) }, (_, j) => ({ nodeId: messageId(s + j), vector: hashingEmbed(messages[s + j] as string, MESSAGE_SPACE_SPEC.dimensions), space: MESSAGE_SPACE })));
    }
    loom.createTextIndex(MESSAGE_TEXT_INDEX, MESSAGE_TEXT_INDEX_SPEC);
    loom.catchUpIndexes(); // warm: the p50 is of the graph path (the first-query suite measures a cold start)
    const memory = new MemoryQueries(loom);
    // Baseline for the text mode: the same index asked directly.
    const direct = await measure('LoomDB searchText (index default, stop words on)', `findSimilarMemories k=${K}`, QUERIES, (i) => {
      sink += loom.searchText(queries[i % QUERIES] as string, { k: K, index: MESSAGE_TEXT_INDEX, filter: { type: NodeTypes.Message } }).length;
    }, 100);
    m.push(direct);
    findSimilar['searchText on the same index (baseline, not findSimilarMemories)'] = { p50ms: direct.p50us / 1000, p99ms: direct.p99us / 1000, opsPerSec: direct.opsPerSec };
    for (const mode of ['hybrid', 'text', 'vector'] as const) {
      const x = await measure(`LoomDB findSimilarMemories (${mode})`, `findSimilarMemories k=${K}`, QUERIES, async (i) => {
        sink += (await memory.findSimilarMemories(queries[i % QUERIES] as string, { k: K, mode })).items.length;
      }, 100);
      m.push(x);
      findSimilar[mode] = { p50ms: x.p50us / 1000, p99ms: x.p99us / 1000, opsPerSec: x.opsPerSec };
    }
    loom.close();
    sqlite.close();
    if (sink === 0) throw new Error('searches returned nothing');

    // ---- overlap on a 10k subset (fresh databases holding only the first 10k messages) ----
    const SUB = Math.min(10_000, MESSAGES);
    if (SUB < MESSAGES) {
      const subLoom = EmbeddedDB.open(join(dir, 'loomdb-10k'), { durability: 'relaxed', textIndexes: { [CMP_INDEX]: { types: [NodeTypes.Message], fields: ['content'], stopWords: false } } });
      subLoom.insertNodesBatch(Array.from({ length: SUB }, (_, i) => ({ id: messageId(i), type: NodeTypes.Message, properties: props(i) })));
      const subSqlite = new Database(join(dir, 'fts5-10k.db'));
      subSqlite.exec(`CREATE VIRTUAL TABLE messages USING fts5(content, tokenize='porter unicode61 remove_diacritics 2')`);
      const ins = subSqlite.prepare('INSERT INTO messages (rowid, content) VALUES (?, ?)');
      subSqlite.transaction(() => {
        for (let i = 0; i < SUB; i++) ins.run(i, messages[i]);
      })();
      const subSearch = subSqlite.prepare<[string, number], { rowid: number; s: number }>('SELECT rowid, bm25(messages) AS s FROM messages WHERE messages MATCH ? ORDER BY s LIMIT ?');
      const subScore = subSqlite.prepare<[string, number], { s: number }>('SELECT bm25(messages) AS s FROM messages WHERE messages MATCH ? AND rowid = ?');
      overlap[`${SUB.toLocaleString('en-US')} messages (first 10k, own index statistics)`] = agreement(queries, ftsQueries, (q) => subSearch.all(q, K), (q, rowid) => subScore.get(q, rowid)?.s, (q) => subLoom.searchText(q, { k: K, index: CMP_INDEX }));
      subLoom.close();
      subSqlite.close();
    }
  } finally {
    removeScratch(dir);
  }

  const f2 = (n: number) => n.toFixed(2);
  const f3 = (n: number) => n.toFixed(3);
  const ftsBuild = build['FTS5 (insert, index kept as rows arrive)'] as number;
  const sections = [
    `Source: ${source}.`,
    '',
    '## Index build (insert every message and index it)',
    '',
    '| system | seconds | messages/s | × FTS5 time (lower is better) |',
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(build).map(([k, v]) => `| ${k} | ${f2(v)} | ${Math.round(MESSAGES / v).toLocaleString('en-US')} | ${f2(v / ftsBuild)}× |`),
    '',
    `## Top-${K} agreement with FTS5 \`ORDER BY bm25()\` (target ≥ ${OVERLAP_TARGET})`,
    '',
    `Per query: |LoomDB top ${K} ∩ FTS5 top ${K}| ÷ max(sizes), averaged over queries where either returns anything. Tie-aware also counts a LoomDB hit whose FTS5 bm25() equals FTS5's ${K}th score (equal scores at the cut are ordered arbitrarily).`,
    '',
    '| corpus | queries | strict overlap | tie-aware overlap | queries FTS5 found nothing for | target |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...Object.entries(overlap).map(([k, v]) => `| ${k} | ${v.queries} | ${f3(v.strict)} | ${f3(v.tieAware)} | ${v.empty} | ≥ ${OVERLAP_TARGET} strict ${v.strict >= OVERLAP_TARGET ? '(met)' : '(missed)'} |`),
    '',
    `## findSimilarMemories at ${MESSAGES.toLocaleString('en-US')} messages (target p50 ≤ ${FIND_P50_TARGET_MS} ms, default hybrid mode)`,
    '',
    '| mode | p50 ms | p99 ms | calls/s | target |',
    '| --- | ---: | ---: | ---: | --- |',
    ...Object.entries(findSimilar).map(([k, v]) => `| ${k} | ${f3(v.p50ms)} | ${f3(v.p99ms)} | ${Math.round(v.opsPerSec).toLocaleString('en-US')} | ${k === 'hybrid' ? `≤ ${FIND_P50_TARGET_MS} ms ${v.p50ms <= FIND_P50_TARGET_MS ? '(met)' : '(missed)'}` : 'reported'} |`),
    '',
  ];
  return {
    suite: 'text',
    dataset: `${MESSAGES.toLocaleString('en-US')} chat messages recombined (seeded, mulberry32 seed 16) from the ${'228'} hand-written sentences of data/chat-ner.jsonl: 1–4 fragments each (a sentence or a 3–9-word run of one), in conversations of ${PER_CONVERSATION}, weaver-shaped Message nodes (conversationId, role, content, timestamp, eventId, source); ${QUERIES.toLocaleString('en-US')} queries of 2–4 distinct words of the sentences' vocabulary (seed 61), asked ${ROUNDS} rounds interleaved. FTS5: better-sqlite3, tokenize='porter unicode61 remove_diacritics 2', WAL, synchronous=NORMAL, one transaction, asked the OR of the quoted terms, ORDER BY bm25() LIMIT ${K}. LoomDB: native engine, durability relaxed, insertNodesBatch in 10k batches, text index { stopWords: false } (Snowball English stemmer, no stop words). findSimilarMemories: the same messages with hashing-embedder vectors (space default, 384-d cosine) and the text index default (${JSON.stringify(MESSAGE_TEXT_INDEX_SPEC)}, stop words on), the same queries`,
    measurements: m,
    comparisons: [compare(m, `searchText k=${K}`, 'LoomDB', 'FTS5')],
    sections,
    data: { source, build, overlap, findSimilar, messages: MESSAGES, queries: QUERIES, sampleMessages: messages.slice(0, 5), sampleQueries: queries.slice(0, 10) },
  };
}
