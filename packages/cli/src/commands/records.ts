import { defaultDbPath, EmbeddedDB, LoomError, MIN_COSINE_NORM, type Condition, type Edge, type ExportedRecord, type Node, type SpaceStats, type Where } from '@loomdb/db';
import { fromPlan } from '@loomdb/query';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { paint, type ProgramIO } from '../output.js';
import type { Common } from './maintenance.js';

/**
 * Version of the NDJSON export layout (its first line says so).
 *
 * @example
 * ```ts
 * const [first] = readFileSync('./export.ndjson', 'utf8').split('\n');
 * console.log(JSON.parse(first!).version === EXPORT_VERSION);
 * ```
 */
export const EXPORT_VERSION = 1;

const WHERE = /^([^=!<>]+)(=|!=|>=|<=|>|<)(.*)$/;
const OPS: Record<string, string> = { '=': 'eq', '!=': 'ne', '>': 'gt', '>=': 'gte', '<': 'lt', '<=': 'lte' };

/** A value on the command line: JSON when it parses (numbers, true, "quoted"), else the text itself. */
function literal(text: string): Condition {
  try {
    return JSON.parse(text) as Condition;
  } catch {
    return text;
  }
}

/**
 * `property<op>value` terms (ops `= != > >= < <=`) into a `where` object.
 *
 * @example
 * ```ts
 * parseWhere(['role=user', 'timestamp>=1700000000000']); // { role: { eq: 'user' }, timestamp: { gte: 1700000000000 } }
 * ```
 */
export function parseWhere(terms: string[]): Where {
  const where: Record<string, Record<string, unknown>> = {};
  for (const term of terms) {
    const m = WHERE.exec(term);
    if (!m) throw new LoomError('INVALID_ARGUMENT', `--where "${term}" is not property=value (or != > >= < <=)`);
    const [, property = '', op = '=', value = ''] = m;
    (where[property.trim()] ??= {})[OPS[op] ?? 'eq'] = literal(value);
  }
  return where as Where;
}

export async function query(
  io: ProgramIO,
  o: Common & { type?: string[]; where?: string[]; limit: number; orderBy: 'createdAt' | 'id'; desc?: boolean; plan?: string },
): Promise<void> {
  if (o.plan !== undefined) return runPlan(io, o.plan, o);
  const where = parseWhere(o.where ?? []);
  const db = EmbeddedDB.open(o.path, { readOnly: true });
  try {
    const page = db.listNodes({ type: o.type, where, limit: o.limit, orderBy: o.orderBy, direction: o.desc ? 'desc' : 'asc' });
    if (o.json) return io.out(JSON.stringify(page, null, 2));
    for (const n of page.items) io.out(`${paint('bold', n.id)}  ${n.type}  ${JSON.stringify(n.properties)}`);
    io.out(paint('dim', `${page.items.length} node${page.items.length === 1 ? '' : 's'}${page.nextCursor ? ' (more: raise --limit)' : ''}`));
  } finally {
    db.close();
  }
}

/** Runs a `@loomdb/query` plan (`query.toPlan()` saved as JSON) and prints its items. */
async function runPlan(io: ProgramIO, file: string, o: Common): Promise<void> {
  let plan: unknown;
  try {
    plan = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new LoomError('INVALID_ARGUMENT', `--plan ${file} is not a readable JSON file: ${reason}`);
  }
  const db = EmbeddedDB.open(o.path, { readOnly: true });
  try {
    const result = await fromPlan(db, plan).execute();
    if (o.json) return io.out(JSON.stringify(result, null, 2));
    for (const { node, distance, hops } of result.items) {
      const extra = [distance === undefined ? '' : `distance ${distance.toFixed(4)}`, hops === undefined ? '' : `hops ${hops}`].filter(Boolean).join('  ');
      io.out(`${paint('bold', node.id)}  ${node.type}  ${JSON.stringify(node.properties)}${extra ? `  ${paint('dim', extra)}` : ''}`);
    }
    io.out(paint('dim', `${result.items.length} node${result.items.length === 1 ? '' : 's'}${result.nextCursor ? ' (more: raise the plan limit)' : ''}`));
  } finally {
    db.close();
  }
}

export async function search(io: ProgramIO, o: Common & { vector?: string; text?: string; space: string; k: number; type?: string[] }): Promise<void> {
  if ((o.vector === undefined) === (o.text === undefined)) throw new LoomError('INVALID_ARGUMENT', 'search needs exactly one of --vector <json array> or --text <words>');
  let vector: number[] | Float32Array | undefined;
  if (o.vector !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(o.vector);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed)) throw new LoomError('INVALID_ARGUMENT', `--vector must be a JSON array of numbers, got ${o.vector}`);
    vector = parsed as number[];
  }
  const db = EmbeddedDB.open(o.path, { readOnly: true });
  try {
    if (vector === undefined) {
      // The embedder that filled the space (a model's id names its weights), else the built-in hashing one.
      const space = db.stats().spaces.find((s) => s.name === o.space);
      const embedder = db.embedder(space?.embedder ?? 'hashing');
      if (space && space.dimensions !== embedder.dimensions) {
        throw new LoomError('DIMENSION_MISMATCH', `--text embeds with ${space.embedder ?? 'the built-in hashing embedder'} (${embedder.dimensions}-d), but space "${o.space}" has ${space.dimensions} dimensions; pass --vector`);
      }
      [vector] = await embedder.embed([o.text as string]);
    }
    const hits = db.searchVectors(vector!, { space: o.space, k: o.k, filter: o.type ? { type: o.type } : undefined });
    const rows = hits.map((h) => ({ ...h, node: db.getNode(h.id) }));
    if (o.json) return io.out(JSON.stringify(rows, null, 2));
    for (const r of rows) io.out(`${r.distance.toFixed(4)}  ${paint('bold', r.id)}  ${r.node?.type ?? '?'}  ${JSON.stringify(r.node?.properties ?? {})}`);
  } finally {
    db.close();
  }
}

/** Nodes and edges merged in creation order (an edge after its endpoints), so an import keeps every time. */
function* inCreationOrder(nodes: Iterator<Node>, edges: Iterator<Edge>): Generator<ExportedRecord> {
  let n = nodes.next();
  let e = edges.next();
  while (!n.done || !e.done) {
    if (!n.done && (e.done || n.value.createdAt <= e.value.createdAt)) {
      yield { node: n.value };
      n = nodes.next();
    } else if (!e.done) {
      yield { edge: e.value };
      e = edges.next();
    }
  }
}

/**
 * Writes NDJSON: a header line (`{ kind: "loomdb-export", version, spaces,
 * indexes }`), every node and edge in creation order (`{ node }`, `{ edge }`),
 * every embedding (`{ embedding: { nodeId, space, vector } }`) and an end
 * line with the counts, so a truncated file is refused on import.
 */
export async function exportDb(io: ProgramIO, o: Common & { out?: string }): Promise<void> {
  const db = EmbeddedDB.open(o.path, { readOnly: true });
  const toStdout = o.out === undefined || o.out === '-';
  const outPath = toStdout ? '-' : resolve(o.out as string);
  const stream = toStdout ? process.stdout : createWriteStream(outPath, { flags: 'wx' });
  const counts = { nodes: 0, edges: 0, embeddings: 0 };
  let buffer = '';
  const flush = async () => {
    const chunk = buffer;
    buffer = '';
    if (chunk && !stream.write(chunk)) await once(stream, 'drain');
  };
  const line = async (value: unknown) => {
    buffer += `${JSON.stringify(value)}\n`;
    if (buffer.length > 1 << 20) await flush();
  };
  let created = false;
  try {
    if (!toStdout) {
      await once(stream, 'open');
      created = true;
    }
    const stats = db.stats();
    const indexes = stats.indexes.filter((i) => i.kind === 'property').map((i) => ({ type: i.type, property: i.property }));
    await line({ kind: 'loomdb-export', version: EXPORT_VERSION, formatVersion: stats.formatVersion, spaces: stats.spaces.map(({ embeddings: _count, graph: _health, ...spec }) => spec), indexes });
    for (const record of inCreationOrder(db.iterateNodes(), db.iterateEdges())) {
      await line(record);
      if ('node' in record) counts.nodes++;
      else counts.edges++;
    }
    for (const space of stats.spaces) {
      for (const node of db.iterateNodes()) {
        const vector = db.getEmbedding(node.id, { space: space.name });
        if (vector) {
          await line({ embedding: { nodeId: node.id, space: space.name, vector: Array.from(vector) } });
          counts.embeddings++;
        }
      }
    }
    await line({ kind: 'end', ...counts });
    await flush();
    if (!toStdout) {
      stream.end();
      await once(stream, 'finish');
    }
  } catch (e) {
    if (!toStdout) stream.destroy();
    // Remove only a file this export created, never one that was there.
    if (created) rmSync(outPath, { force: true });
    throw e;
  } finally {
    db.close();
  }
  const summary = { path: db.path, out: outPath, ...counts };
  const report = toStdout ? (io.err ?? ((l: string) => process.stderr.write(`${l}\n`))) : io.out;
  if (o.json) report(JSON.stringify(summary, null, 2));
  else report(`exported ${counts.nodes} nodes, ${counts.edges} edges, ${counts.embeddings} embeddings from ${db.path}`);
}

type Header = { kind: 'loomdb-export'; version: number; spaces: Array<Omit<SpaceStats, 'embeddings' | 'graph'>>; indexes: Array<{ type: string; property: string }> };

const BATCH = 5000;

/**
 * Builds a new database at --path from an export: written into a working
 * directory beside it and moved into place only when the whole file has
 * loaded, so a failed import leaves nothing behind.
 */
export async function importDb(io: ProgramIO, file: string, o: Common): Promise<void> {
  const target = resolve(o.path ?? defaultDbPath());
  if (existsSync(target) && readdirSync(target).length > 0) {
    throw new LoomError('ALREADY_EXISTS', `import target ${target} is not empty; import builds a new database`);
  }
  const staging = join(dirname(target), `.${basename(target)}.importing-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const lines = createInterface({ input: file === '-' ? process.stdin : createReadStream(resolve(file)), crlfDelay: Infinity });
  let db: EmbeddedDB | undefined;
  const counts = { nodes: 0, edges: 0, embeddings: 0 };
  let ended: { nodes: number; edges: number; embeddings: number } | undefined;
  let records: ExportedRecord[] = [];
  let embeddings: Array<{ nodeId: string; space: string; vector: number[] }> = [];
  const flush = () => {
    if (records.length) db?.importRecords(records);
    if (embeddings.length) db?.insertEmbeddingsBatch(embeddings);
    records = [];
    embeddings = [];
  };
  let header: Header | undefined;
  const cosine = new Set<string>();
  let n = 0;
  try {
    for await (const text of lines) {
      n++;
      if (text.trim() === '') continue;
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new LoomError('INVALID_ARGUMENT', `${file} line ${n} is not JSON`);
      }
      if (ended) throw new LoomError('INVALID_ARGUMENT', `${file} line ${n} comes after the end line`);
      if (!header) {
        if (value.kind !== 'loomdb-export' || value.version !== EXPORT_VERSION) {
          throw new LoomError('INVALID_ARGUMENT', `${file} does not start with a loomdb export header (version ${EXPORT_VERSION})`);
        }
        header = value as unknown as Header;
        for (const s of header.spaces) if ((s as { metric?: string }).metric === 'cosine') cosine.add(s.name);
        db = EmbeddedDB.open(staging, { spaces: Object.fromEntries(header.spaces.map(({ name, ...spec }) => [name, spec])) });
        continue;
      }
      if ('node' in value || 'edge' in value) {
        records.push(value as unknown as ExportedRecord);
        if ('node' in value) counts.nodes++;
        else counts.edges++;
      } else if ('embedding' in value) {
        const embedding = value.embedding as { nodeId: string; space: string; vector: number[] };
        // A zero vector in a cosine space (older versions stored them: distance 1 to everything) is refused now; leave it out.
        if (!(cosine.has(embedding.space) && Array.isArray(embedding.vector) && norm(embedding.vector) < MIN_COSINE_NORM)) embeddings.push(embedding);
        counts.embeddings++;
      } else if (value.kind === 'end') {
        ended = value as unknown as typeof counts;
      } else {
        throw new LoomError('INVALID_ARGUMENT', `${file} line ${n} is not a node, edge, embedding or end line`);
      }
      if (records.length + embeddings.length >= BATCH) flush();
    }
    if (!header || !db) throw new LoomError('INVALID_ARGUMENT', `${file} is empty`);
    if (!ended || ended.nodes !== counts.nodes || ended.edges !== counts.edges || ended.embeddings !== counts.embeddings) {
      throw new LoomError('CORRUPTION', `${file} is truncated: its end line is missing or its counts differ from the records read`);
    }
    flush();
    for (const index of header.indexes) db.createIndex(index);
    db.close();
    db = undefined;
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
  } catch (e) {
    db?.close();
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  if (o.json) io.out(JSON.stringify({ path: target, ...counts }, null, 2));
  else io.out(`${paint('green', 'imported')} ${counts.nodes} nodes, ${counts.edges} edges, ${counts.embeddings} embeddings into ${target}`);
}

function norm(v: unknown[]): number {
  let sum = 0;
  for (const x of v) sum += typeof x === 'number' ? x * x : 1;
  return Math.sqrt(sum);
}
