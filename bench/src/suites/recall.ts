import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EmbeddedDB, hashingEmbed, LoomError, type Embedder, type LoomPlugin } from '@loomdb/db';
import { createLocalEmbedder, defaultModel, type LocalEmbedder } from '@loomdb/embed-local';
import { ensureMessageSpace, MemoryQueries, MESSAGE_SPACE, MESSAGE_SPACE_SPEC, MESSAGE_TEXT_INDEX, MESSAGE_TEXT_INDEX_SPEC, NodeTypes, query } from '@loomdb/query';
import { removeScratch, scratchDir, type SuiteResult } from '../harness.js';
import { jsonFiles, loadConversation, loadPersona, LOCOMO_DIR, LOCOMO_HOW_TO_GET, REALMEM_DIR, REALMEM_HOW_TO_GET, type Message } from './recall-data.js';
import { fts5Query, sourceState } from './text.js';

/** RealMem: messages retrieved per query before they are grouped into sessions. */
const CANDIDATES = 200;
/** LoCoMo: turns returned per query, as an assistant asks for them (`findSimilarMemories(q, { k: 10 })`). */
const TURNS = 10;
const RRF_K = 60;
const KS = [5, 10] as const;
/**
 * Other hybrid text weights, run on RealMem (the set the default was chosen
 * on) beside the default. LOOMDB_RECALL_SWEEP=0 skips them.
 */
const SWEEP_WEIGHTS = process.env.LOOMDB_RECALL_SWEEP === '0' ? [] : [0.4, 0.5, 0.6, 0.8];

const TEXT = 'LoomDB text (searchText)';
const VECTOR_HASHING = 'LoomDB vector (hashing, exact)';
const VECTOR_MINILM = 'LoomDB vector (all-MiniLM-L6-v2, exact)';
const HYBRID_HASHING = 'LoomDB hybrid (findSimilarMemories, hashing)';
const HYBRID_MINILM = 'LoomDB hybrid (findSimilarMemories, all-MiniLM-L6-v2)';
const FTS5 = 'SQLite FTS5 bm25';
const RRF_HASHING = 'FTS5 + exact dense (hashing), RRF k=60 (JS)';
const RRF_MINILM = 'FTS5 + exact dense (all-MiniLM-L6-v2), RRF k=60 (JS)';
/** Each hybrid default and the peers that use the same vectors (FTS5 uses none). */
const SAME_EMBEDDER_PEERS: Record<string, string[]> = { [HYBRID_HASHING]: [FTS5, RRF_HASHING], [HYBRID_MINILM]: [FTS5, RRF_MINILM] };

/**
 * Registers the suite's one MiniLM embedder as `local` (what a space filled by
 * @loomdb/embed-local records: `local:<model>@<checksum>`), so a database
 * whose message space holds its vectors embeds query texts with it, through
 * the same model processes that embedded the messages.
 */
const sharedLocalEmbedder = (embedder: LocalEmbedder): LoomPlugin => ({
  name: 'bench-shared-local-embedder',
  register(registry) {
    registry.registerEmbedder('local', (options) => {
      const variant = options.variant;
      if (variant !== undefined && `local:${String(variant)}` !== embedder.id) throw new LoomError('CONFLICT', `space records local:${String(variant)}, the bench's embedder is ${embedder.id}`);
      return embedder;
    });
  },
});

/** Ids in the order they first appear in a ranked list mapped through `groupOf` (RealMem: a session ranks where its first message does). */
const groupsOf = (ids: readonly string[], groupOf: Map<string, string>): string[] => {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const id of ids) {
    const s = groupOf.get(id);
    if (s !== undefined && !seen.has(s)) {
      seen.add(s);
      out.push(s);
    }
  }
  return out;
};

/** RealMem's metrics: recall_any@k, recall_all@k, nDCG@k with binary relevance (ideal = min(|gold|, k) hits). */
export function score(ranked: readonly string[], gold: readonly string[]): Record<string, number> {
  const g = new Set(gold);
  const out: Record<string, number> = {};
  for (const k of KS) {
    const top = ranked.slice(0, k);
    out[`recall_any@${k}`] = top.some((s) => g.has(s)) ? 1 : 0;
    out[`recall_all@${k}`] = gold.every((s) => top.includes(s)) ? 1 : 0;
    let dcg = 0;
    top.forEach((s, i) => {
      if (g.has(s)) dcg += 1 / Math.log2(i + 2);
    });
    let ideal = 0;
    for (let i = 0; i < Math.min(g.size, k); i++) ideal += 1 / Math.log2(i + 2);
    out[`ndcg@${k}`] = ideal ? dcg / ideal : 0;
  }
  return out;
}

const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
};
const normalize = (v: Float32Array) => {
  const n = Math.sqrt(dot(v, v)) || 1;
  return v.map((x) => x / n);
};

/** Metric sums and query counts per system and corpus, and wall time per system. */
class Tally {
  readonly sums = new Map<string, Map<string, Record<string, number>>>();
  readonly counts = new Map<string, number>();
  readonly seconds = new Map<string, number>();

  /** One more query asked of `corpus`. */
  count(corpus: string): void {
    this.counts.set(corpus, (this.counts.get(corpus) ?? 0) + 1);
  }

  add(system: string, corpus: string, s: Record<string, number>): void {
    let byCorpus = this.sums.get(system);
    if (!byCorpus) this.sums.set(system, (byCorpus = new Map()));
    const acc = byCorpus.get(corpus) ?? {};
    for (const [k, v] of Object.entries(s)) acc[k] = (acc[k] ?? 0) + v;
    byCorpus.set(corpus, acc);
  }

  async timed<T>(system: string, f: () => T | Promise<T>): Promise<T> {
    const t0 = process.hrtime.bigint();
    const r = await f();
    this.seconds.set(system, (this.seconds.get(system) ?? 0) + Number(process.hrtime.bigint() - t0) / 1e9);
    return r;
  }

  /** Mean of each metric per system and corpus; ms/query over all of a system's queries. */
  rows(corpora: readonly string[]): Array<{ system: string; corpus: string; queries: number; msPerQuery: number } & Record<string, number | string>> {
    const all = corpora.reduce((a, c) => a + (this.counts.get(c) ?? 0), 0);
    const out = [];
    for (const [system, byCorpus] of this.sums) {
      for (const corpus of corpora) {
        const s = byCorpus.get(corpus);
        const n = this.counts.get(corpus) ?? 0;
        if (!s || !n) continue;
        out.push({ system, corpus, queries: n, ...Object.fromEntries(Object.entries(s).map(([m, v]) => [m, v / n])), msPerQuery: ((this.seconds.get(system) ?? 0) * 1000) / all });
      }
    }
    return out;
  }
}

/**
 * Every system compared, over one group's messages (a RealMem persona or a
 * LoCoMo conversation): LoomDB with hashing vectors in the message space,
 * LoomDB with all-MiniLM-L6-v2 vectors there (with a model installed), both
 * with the message text index; SQLite FTS5; FTS5 + exact dense vectors glued
 * with RRF in JS. Messages are in time order, so "before t" is a prefix.
 */
class Systems {
  private constructor(
    private readonly messages: Message[],
    private readonly db: EmbeddedDB,
    private readonly memory: MemoryQueries,
    private readonly hashing: Float32Array[],
    private readonly mini: { db: EmbeddedDB; memory: MemoryQueries; cached: MemoryQueries; vectors: Float32Array[]; queries: Float32Array[] } | null,
    private readonly sqlite: Database.Database,
    private readonly ftsBefore: Database.Statement<[string, number, number], { rowid: number }> = sqlite.prepare('SELECT rowid FROM messages WHERE messages MATCH ? AND rowid < ? ORDER BY bm25(messages) LIMIT ?'),
  ) {}

  static async open(dir: string, messages: Message[], queryTexts: string[], minilm: LocalEmbedder | null): Promise<Systems> {
    const nodes = messages.map((m) => ({ id: m.id, type: NodeTypes.Message, properties: { conversationId: m.session, role: m.role, content: m.content, timestamp: m.timestamp, eventId: m.id, source: 'bench' } }));
    const db = EmbeddedDB.open(join(dir, 'hashing'), { durability: 'relaxed', textIndexes: { [MESSAGE_TEXT_INDEX]: MESSAGE_TEXT_INDEX_SPEC }, spaces: { [MESSAGE_SPACE]: MESSAGE_SPACE_SPEC } });
    db.insertNodesBatch(nodes);
    const hashing = messages.map((m) => hashingEmbed(m.content, MESSAGE_SPACE_SPEC.dimensions));
    db.insertEmbeddingsBatch(messages.map((m, i) => ({ nodeId: m.id, vector: hashing[i] as Float32Array, space: MESSAGE_SPACE })));

    // The MiniLM database records the model in its message space (ensureMessageSpace), so findSimilarMemories embeds
    // the query text with it; `cached` is the same database answering from the query vectors computed here (the sweep).
    let mini: Systems['mini'] = null;
    if (minilm) {
      const vectors = await minilm.embed(messages.map((m) => m.content));
      const queries = await minilm.embed(queryTexts);
      const miniDb = EmbeddedDB.open(join(dir, 'minilm'), { durability: 'relaxed', textIndexes: { [MESSAGE_TEXT_INDEX]: MESSAGE_TEXT_INDEX_SPEC }, plugins: [sharedLocalEmbedder(minilm)] });
      if (ensureMessageSpace(miniDb, 'local') !== minilm) throw new Error('recall: the MiniLM database does not use the suite embedder');
      miniDb.insertNodesBatch(nodes);
      miniDb.insertEmbeddingsBatch(messages.map((m, i) => ({ nodeId: m.id, vector: vectors[i] as Float32Array, space: MESSAGE_SPACE })));
      const known = new Map(queryTexts.map((t, i) => [t, queries[i] as Float32Array]));
      const embedder: Embedder = {
        dimensions: minilm.dimensions,
        id: minilm.id,
        embed: (texts) => (texts.every((t) => known.has(t)) ? Promise.resolve(texts.map((t) => known.get(t) as Float32Array)) : minilm.embed(texts)),
      };
      mini = { db: miniDb, memory: new MemoryQueries(miniDb), cached: new MemoryQueries(miniDb, { embedder }), vectors: vectors.map(normalize), queries: queries.map(normalize) };
    }

    // FTS5: rowid = the message's index, so "before t" is rowid < the first index at t.
    const sqlite = new Database(':memory:');
    sqlite.exec(`CREATE VIRTUAL TABLE messages USING fts5(content, tokenize='porter unicode61 remove_diacritics 2')`);
    const ins = sqlite.prepare('INSERT INTO messages (rowid, content) VALUES (?, ?)');
    sqlite.transaction(() => messages.forEach((m, i) => ins.run(i, m.content)))();
    return new Systems(messages, db, new MemoryQueries(db), hashing.map(normalize), mini, sqlite);
  }

  /** The default text weight of hybrid search, as the engine reports using it (`explain()`'s fuse stage). */
  async defaultTextWeight(text: string): Promise<number> {
    const e = await query(this.db).type(NodeTypes.Message).matches(text).similarTo(text, { k: 1 }).explain();
    const fuse = e.stages.find((s) => s.stage === 'fuse');
    const w = Number(/text weight ([\d.]+)/.exec(fuse?.detail ?? '')?.[1]);
    if (!Number.isFinite(w)) throw new Error(`recall: no text weight in explain()'s stages: ${JSON.stringify(e.stages)}`);
    return w;
  }

  /** Each system's ranked message ids for query `qi` (`before`: only messages earlier than this time), timed into `tally`. */
  async rank(qi: number, text: string, k: number, before: number | undefined, tally: Tally): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const limit = before === undefined ? this.messages.length : this.messages.findIndex((m) => m.timestamp >= before);
    const rows = limit < 0 ? this.messages.length : limit;
    const filter = before === undefined ? { type: NodeTypes.Message } : { type: NodeTypes.Message, where: { timestamp: { lt: before } } };
    const span = before === undefined ? {} : { until: before - 1 };
    const qv = normalize(hashingEmbed(text, MESSAGE_SPACE_SPEC.dimensions));

    out.set(TEXT, await tally.timed(TEXT, () => this.db.searchText(text, { k, filter }).map((h) => h.id)));
    out.set(VECTOR_HASHING, await tally.timed(VECTOR_HASHING, () => this.db.searchVectors(qv, { k, exact: true, filter }).map((h) => h.id)));
    out.set(HYBRID_HASHING, await tally.timed(HYBRID_HASHING, async () => (await this.memory.findSimilarMemories(text, { k, ...span })).items.map((it) => it.node.id)));
    if (this.mini) {
      const mini = this.mini;
      out.set(HYBRID_MINILM, await tally.timed(HYBRID_MINILM, async () => (await mini.memory.findSimilarMemories(text, { k, ...span })).items.map((it) => it.node.id)));
      const mq = mini.queries[qi] as Float32Array;
      out.set(VECTOR_MINILM, await tally.timed(VECTOR_MINILM, () => mini.db.searchVectors(mq, { k, exact: true, filter }).map((h) => h.id)));
      out.set(RRF_MINILM, await tally.timed(RRF_MINILM, () => this.rrf(text, mq, mini.vectors, rows, k)));
    }
    out.set(FTS5, await tally.timed(FTS5, () => this.fts(text, rows, k).map((r) => this.messages[r]!.id)));
    out.set(RRF_HASHING, await tally.timed(RRF_HASHING, () => this.rrf(text, qv, this.hashing, rows, k)));
    return out;
  }

  /** findSimilarMemories at text weight `w`, per embedder (the MiniLM one from precomputed query vectors). */
  async sweep(text: string, k: number, before: number | undefined, w: number): Promise<Map<string, string[]>> {
    const span = before === undefined ? {} : { until: before - 1 };
    const out = new Map([['hashing', (await this.memory.findSimilarMemories(text, { k, textWeight: w, ...span })).items.map((it) => it.node.id)]]);
    if (this.mini) out.set('all-MiniLM-L6-v2', (await this.mini.cached.findSimilarMemories(text, { k, textWeight: w, ...span })).items.map((it) => it.node.id));
    return out;
  }

  /** FTS5's bm25 order over the first `rows` messages: the OR of the query's words. */
  private fts(text: string, rows: number, k: number): number[] {
    const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    if (words.length === 0) return [];
    return this.ftsBefore
      .all(fts5Query([...new Set(words)].join(' ')), rows, k)
      .map((r) => r.rowid);
  }

  /** Brute-force cosine top `k` over the first `rows` unit vectors. */
  private exact(q: Float32Array, vectors: Float32Array[], rows: number, k: number): number[] {
    const sims: Array<[number, number]> = [];
    for (let i = 0; i < rows; i++) sims.push([i, dot(q, vectors[i] as Float32Array)]);
    return sims
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, k)
      .map(([i]) => i);
  }

  /** FTS5 top CANDIDATES and exact dense top CANDIDATES, 1/(60 + rank) summed, the best `k`. */
  private rrf(text: string, q: Float32Array, vectors: Float32Array[], rows: number, k: number): string[] {
    const fused = new Map<number, number>();
    for (const ranked of [this.fts(text, rows, CANDIDATES), this.exact(q, vectors, rows, CANDIDATES)]) ranked.forEach((row, r) => fused.set(row, (fused.get(row) ?? 0) + 1 / (RRF_K + r + 1)));
    return [...fused.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, k)
      .map(([row]) => this.messages[row]!.id);
  }

  close(): void {
    this.sqlite.close();
    this.db.close();
    this.mini?.db.close();
  }
}

type Row = ReturnType<Tally['rows']>[number];
const f3 = (x: unknown) => (typeof x === 'number' ? x.toFixed(3) : String(x));
const f2 = (x: number) => x.toFixed(2);
const METRICS = ['recall_any@5', 'recall_any@10', 'recall_all@5', 'recall_all@10', 'ndcg@10'];

const resultTable = (rows: Row[], corpora: readonly string[], metrics: string[], headers: string[]): string[] => [
  `| corpus | system | queries | ${headers.join(' | ')} | ms/query |`,
  `| --- | --- | ---: | ${headers.map(() => '---:').join(' | ')} | ---: |`,
  ...corpora.flatMap((c) => rows.filter((r) => r.corpus === c).map((r) => `| ${c} | ${r.system} | ${r.queries} | ${metrics.map((m) => f3(r[m])).join(' | ')} | ${f3(r.msPerQuery)} |`)),
];

interface Target {
  set: string;
  corpus: string;
  hybrid: string;
  recall10: number;
  peers: Array<{ peer: string; recall10: number; ratio: number; sameEmbedder: boolean }>;
  bestSame: string;
  ratio: number;
  met: boolean;
}

/** The done-when per corpus and hybrid: recall@10 vs each peer; met when ≥ the best peer using the same vectors (or none). */
function targets(set: string, rows: Row[], corpora: readonly string[]): Target[] {
  const out: Target[] = [];
  for (const corpus of corpora) {
    const peers = rows.filter((r) => r.corpus === corpus && !r.system.startsWith('LoomDB'));
    for (const [hybrid, same] of Object.entries(SAME_EMBEDDER_PEERS)) {
      const h = rows.find((r) => r.system === hybrid && r.corpus === corpus)?.['recall_any@10'] as number | undefined;
      if (h === undefined) continue;
      const vs = peers.map((p) => ({ peer: p.system, recall10: p['recall_any@10'] as number, ratio: h / (p['recall_any@10'] as number), sameEmbedder: same.includes(p.system) }));
      const best = vs.filter((v) => v.sameEmbedder).reduce((a, b) => (b.recall10 > a.recall10 ? b : a));
      out.push({ set, corpus, hybrid, recall10: h, peers: vs, bestSame: best.peer, ratio: best.ratio, met: best.ratio >= 1 });
    }
  }
  return out;
}

const targetTable = (ts: Target[]): string[] => {
  const peerNames = [...new Set(ts.flatMap((t) => t.peers.map((p) => p.peer)))];
  return [
    `| set, corpus | hybrid default | recall@10 | ${peerNames.join(' | ')} | best same-vector peer | hybrid ÷ it | met |`,
    `| --- | --- | ---: | ${peerNames.map(() => '---:').join(' | ')} | --- | ---: | --- |`,
    ...ts.map((t) => {
      const cells = peerNames.map((n) => {
        const p = t.peers.find((x) => x.peer === n);
        return p ? `${f3(p.recall10)} → ${f2(p.ratio)}×${p.sameEmbedder ? '' : ' (other vectors)'}` : '';
      });
      return `| ${t.set}, ${t.corpus} | ${t.hybrid} | ${f3(t.recall10)} | ${cells.join(' | ')} | ${t.bestSame} | ${f2(t.ratio)}× | ${t.ratio >= 1.1 ? 'yes (≥ 1.1× aim too)' : t.met ? 'yes (below the 1.1× aim)' : 'no'} |`;
    }),
  ];
};

type RealMemCorpus = 'all sessions (RealMem protocol)' | 'history only (sessions before the query)';
const REALMEM_CORPORA: RealMemCorpus[] = ['all sessions (RealMem protocol)', 'history only (sessions before the query)'];
const LOCOMO_CORPUS = 'all turns of the conversation';

/**
 * Retrieval recall on two public labelled sets of long conversations, each
 * group its own database (retrieval never crosses personas or
 * conversations): RealMem (session recall, the set LoomDB's defaults are
 * chosen on) and LoCoMo (turn recall, held out: only checks them), for
 * LoomDB text, vector, hybrid (findSimilarMemories) and SQLite FTS5 bm25 and
 * FTS5 + exact dense vectors fused with RRF in JS.
 */
export async function recall(): Promise<SuiteResult> {
  if (!existsSync(REALMEM_DIR)) throw new Error(`recall: no RealMem data at ${REALMEM_DIR}. ${REALMEM_HOW_TO_GET}`);
  const personaFiles = jsonFiles(REALMEM_DIR);
  if (personaFiles.length === 0) throw new Error(`recall: no persona files in ${REALMEM_DIR}. ${REALMEM_HOW_TO_GET}`);
  const locomoFiles = existsSync(LOCOMO_DIR) ? jsonFiles(LOCOMO_DIR) : [];
  const source = sourceState();
  let minilm: LocalEmbedder | null = null;
  let minilmNote: string;
  try {
    const model = defaultModel();
    minilm = createLocalEmbedder({ model, batchSize: 64 });
    minilmNote = `all-MiniLM-L6-v2 rows: model "${model}" from the LoomDB model cache (\`npm run models\`), @loomdb/embed-local, embedder id ${minilm.id}`;
  } catch (err) {
    minilmNote = `Not run: the all-MiniLM-L6-v2 rows (\`npm run models\`): ${(err as Error).message}`;
  }
  const dir = scratchDir('recall');
  const realmem = new Tally();
  const locomo = new Tally();
  // embedder → weight → tally of the sweep (RealMem)
  const sweep = new Map<string, Map<number, Tally>>();
  const perPersona: Array<{ persona: string; sessions: number; messages: number; queries: number; historyQueries: number }> = [];
  const perConversation: Array<{ conversation: string; messages: number; queries: number }> = [];
  let textWeight = NaN;
  let goldInOwnOrLater = 0;
  let goldTotal = 0;
  try {
    for (const [pi, file] of personaFiles.entries()) {
      const p = loadPersona(file);
      const messages = p.sessions.flatMap((s) => s.messages);
      const sessionOf = new Map(messages.map((m) => [m.id, m.session]));
      const sessionIndex = new Map(p.sessions.map((s, i) => [s.id, i]));
      const systems = await Systems.open(join(dir, `realmem-${pi}`), messages, p.queries.map((q) => q.text), minilm);
      if (pi === 0) textWeight = await systems.defaultTextWeight(p.queries[0]!.text);
      let historyQueries = 0;
      for (const [qi, q] of p.queries.entries()) {
        for (const g of q.gold) {
          goldTotal++;
          if ((sessionIndex.get(g) ?? -1) >= q.session) goldInOwnOrLater++;
        }
        for (const corpus of REALMEM_CORPORA) {
          const history = corpus !== REALMEM_CORPORA[0];
          const gold = history ? q.gold.filter((g) => (sessionIndex.get(g) ?? Infinity) < q.session) : q.gold;
          if (gold.length === 0 || (history && q.session === 0)) continue;
          if (history) historyQueries++;
          realmem.count(corpus);
          const before = history ? p.sessions[q.session]!.start : undefined;
          for (const [system, ids] of await systems.rank(qi, q.text, CANDIDATES, before, realmem)) realmem.add(system, corpus, score(groupsOf(ids, sessionOf), gold));
          for (const w of SWEEP_WEIGHTS) {
            for (const [embedder, ids] of await systems.sweep(q.text, CANDIDATES, before, w)) {
              let byW = sweep.get(embedder);
              if (!byW) sweep.set(embedder, (byW = new Map()));
              let t = byW.get(w);
              if (!t) byW.set(w, (t = new Tally()));
              t.count(corpus);
              t.add(embedder, corpus, score(groupsOf(ids, sessionOf), gold));
            }
          }
        }
      }
      perPersona.push({ persona: p.name, sessions: p.sessions.length, messages: messages.length, queries: p.queries.length, historyQueries });
      systems.close();
      console.log(`recall: RealMem ${p.name}: ${p.sessions.length} sessions, ${messages.length} messages, ${p.queries.length} queries`);
    }
    for (const [ci, file] of locomoFiles.entries()) {
      const c = loadConversation(file);
      const systems = await Systems.open(join(dir, `locomo-${ci}`), c.messages, c.queries.map((q) => q.text), minilm);
      for (const [qi, q] of c.queries.entries()) {
        locomo.count(LOCOMO_CORPUS);
        for (const [system, ids] of await systems.rank(qi, q.text, TURNS, undefined, locomo)) locomo.add(system, LOCOMO_CORPUS, score(ids, q.gold));
      }
      perConversation.push({ conversation: c.name, messages: c.messages.length, queries: c.queries.length });
      systems.close();
      console.log(`recall: LoCoMo ${c.name}: ${c.messages.length} turns, ${c.queries.length} questions`);
    }
  } finally {
    await minilm?.close();
    removeScratch(dir);
  }

  const realmemRows = realmem.rows(REALMEM_CORPORA);
  const locomoRows = locomo.rows([LOCOMO_CORPUS]);
  const target = [...targets('RealMem', realmemRows, REALMEM_CORPORA), ...targets('LoCoMo (held out)', locomoRows, [LOCOMO_CORPUS])];
  const sweepRows = [...sweep].flatMap(([embedder, byW]) =>
    [...byW].flatMap(([w, t]) => t.rows(REALMEM_CORPORA).map((r) => ({ embedder, textWeight: w, corpus: r.corpus, recall5: r['recall_any@5'] as number, recall10: r['recall_any@10'] as number, ndcg10: r['ndcg@10'] as number }))),
  );
  for (const r of realmemRows) {
    const embedder = r.system === HYBRID_HASHING ? 'hashing' : r.system === HYBRID_MINILM ? 'all-MiniLM-L6-v2' : null;
    if (embedder) sweepRows.push({ embedder, textWeight, corpus: r.corpus, recall5: r['recall_any@5'] as number, recall10: r['recall_any@10'] as number, ndcg10: r['ndcg@10'] as number });
  }
  sweepRows.sort((a, b) => a.embedder.localeCompare(b.embedder) || a.corpus.localeCompare(b.corpus) || a.textWeight - b.textWeight);
  const queries = perPersona.reduce((a, p) => a + p.queries, 0);
  const sections = [
    `Source: ${source}.`,
    '',
    '## Target: hybrid default vs the peers, on every set',
    '',
    `Issue #16's done-when: the hybrid default's recall@10 ≥ the best single peer on every set (aim ≥ 1.1×). Each hybrid row is findSimilarMemories as shipped (mode hybrid, text weight ${textWeight}, the engine's default as explain() reports it); each cell is a peer's recall@10 → hybrid ÷ peer. A hybrid is held to the peers that use the same vectors (FTS5 uses none; "other vectors" marks the RRF peer built on the other embedder, shown for comparison). The default weight was chosen on RealMem (the sweep below); LoCoMo was not looked at to choose it.`,
    '',
    ...targetTable(target),
    '',
    ...target.map((t) => `- ${t.set}, ${t.corpus}, ${t.hybrid}: recall@10 ${f3(t.recall10)}, ${f2(t.ratio)}× the best same-vector peer (${t.bestSame}); vs SQLite FTS5 bm25 ${f2(t.peers.find((x) => x.peer === FTS5)?.ratio ?? NaN)}×: ${t.met ? 'met' : 'not met'}.`),
    '',
    '## RealMem: session recall',
    '',
    `Per query the systems rank messages (${CANDIDATES} candidates), a session ranks where its first message does; recall_any@k: a gold session in the top k (RealMem's recall_any), recall_all@k: every gold session there, nDCG@10 with binary relevance. Each persona is its own database. "All sessions" is RealMem's own protocol (the corpus is every session of the persona, the query's own and later ones included); "history only" keeps the sessions before the query's, gold restricted to those (what a memory holds when the question is asked). ms/query is wall time per query and system over both corpora, on 2 cores.`,
    '',
    ...resultTable(realmemRows, REALMEM_CORPORA, METRICS, ['recall@5 (any)', 'recall@10 (any)', 'recall_all@5', 'recall_all@10', 'nDCG@10']),
    '',
    `Gold sessions at or after the query's own session: ${goldInOwnOrLater} of ${goldTotal}.`,
    '',
    ...(locomoRows.length
      ? [
          '## LoCoMo (held out): turn recall',
          '',
          `Per question each system returns ${TURNS} turns of that conversation (findSimilarMemories(q, { k: ${TURNS} }), as an assistant calls it; RRF fuses FTS5 and dense top ${CANDIDATES} each); recall@k: a turn of the question's evidence in the top k; nDCG@10 with binary relevance. Categories 1–4 (category 5, adversarial, has no answer to find). A turn is stored as "<speaker>: <text>".`,
          '',
          ...resultTable(locomoRows, [LOCOMO_CORPUS], ['recall_any@5', 'recall_any@10', 'ndcg@10'], ['recall@5', 'recall@10', 'nDCG@10']),
          '',
          '| conversation | turns | questions |',
          '| --- | ---: | ---: |',
          ...perConversation.map((c) => `| ${c.conversation} | ${c.messages} | ${c.queries} |`),
          '',
        ]
      : ['## LoCoMo (held out)', '', `Not run: no LoCoMo data at ${LOCOMO_DIR}. ${LOCOMO_HOW_TO_GET}.`, '']),
    ...(SWEEP_WEIGHTS.length
      ? [
          '## RealMem: hybrid text weight (what the default was chosen from)',
          '',
          `findSimilarMemories with options.textWeight set, same databases and queries (MiniLM query vectors are the ones computed for the rows above). Rows at ${textWeight} are the default rows above.`,
          '',
          '| embedder | corpus | text weight | recall@5 (any) | recall@10 (any) | nDCG@10 |',
          '| --- | --- | ---: | ---: | ---: | ---: |',
          ...sweepRows.map((r) => `| ${r.embedder} | ${r.corpus} | ${r.textWeight}${r.textWeight === textWeight ? ' (default)' : ''} | ${f3(r.recall5)} | ${f3(r.recall10)} | ${f3(r.ndcg10)} |`),
          '',
        ]
      : []),
    `${minilmNote}. ${HYBRID_MINILM}: a second database per group with the same messages and text index, whose message space "default" holds the MiniLM vectors and records the model (ensureMessageSpace(db, 'local')), so findSimilarMemories embeds the query text itself; its ms/query includes embedding the query, as a caller pays it. ${VECTOR_MINILM} (searchVectors exact on that database) and the MiniLM RRF (brute force in JS) use the same vectors and exclude embedding.`,
    '',
    '| persona | sessions | messages | queries | history-only queries |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...perPersona.map((p) => `| ${p.persona} | ${p.sessions} | ${p.messages} | ${p.queries} | ${p.historyQueries} |`),
    '',
  ];
  return {
    suite: 'recall',
    dataset: `RealMem (Apache-2.0; zhiyuan5986/RealMemBench, arXiv 2601.06966): ${personaFiles.length} personas, ${perPersona.reduce((a, p) => a + p.sessions, 0).toLocaleString('en-US')} sessions, ${perPersona.reduce((a, p) => a + p.messages, 0).toLocaleString('en-US')} messages, ${queries.toLocaleString('en-US')} queries (user turns whose next assistant turn names the sessions its memory came from, deduplicated by text as RealMem's compute_auto_metrics_for_realmem.py does); LoCoMo (snap-research/locomo, held out): ${perConversation.length} conversations, ${perConversation.reduce((a, c) => a + c.messages, 0).toLocaleString('en-US')} turns, ${perConversation.reduce((a, c) => a + c.queries, 0).toLocaleString('en-US')} questions. LoomDB: one native database per group, Message nodes (conversationId = session), text index default ${JSON.stringify(MESSAGE_TEXT_INDEX_SPEC)} (stop words on), hashing vectors in space default (384-d cosine); text = searchText, vector = searchVectors exact, hybrid = MemoryQueries.findSimilarMemories (default mode); with a model installed, a second database per group whose message space default holds all-MiniLM-L6-v2 vectors. FTS5: better-sqlite3, porter unicode61 remove_diacritics 2, OR of the query's words, ORDER BY bm25(). RRF: FTS5 top ${CANDIDATES} and brute-force cosine top ${CANDIDATES} over the same hashing (or MiniLM) vectors, 1/(60 + rank) summed, in JS`,
    measurements: [],
    comparisons: [],
    sections,
    data: { source, textWeight, target, realmem: realmemRows, locomo: locomoRows, sweep: sweepRows, perPersona, perConversation, goldInOwnOrLater, goldTotal, candidates: CANDIDATES, turns: TURNS },
  };
}
