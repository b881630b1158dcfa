import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDB, type OpenOptions } from '@loomdb/db';
import type { MessageEvent } from '@loomdb/weaver';

const dirs: string[] = [];

/** A fresh native database in a temp dir (relaxed: these tests are not about durability). */
export function freshDb(options: OpenOptions = {}): EmbeddedDB {
  const dir = mkdtempSync(join(tmpdir(), 'loomdb-weaver-'));
  dirs.push(dir);
  return EmbeddedDB.open(join(dir, 'db'), { durability: 'relaxed', ...options });
}

export function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'loomdb-weaver-'));
  dirs.push(dir);
  return join(dir, 'db');
}

export function removeTemps(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

const sortKeys = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(sortKeys)
    : value && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sortKeys(v)]))
      : value;

/**
 * The graph with generated ids replaced by natural keys (messages by event
 * id, entities by key, conversations by id), sorted: two databases holding
 * the same memory give equal snapshots.
 */
export function snapshot(db: EmbeddedDB) {
  const nodes = [...db.iterateNodes()];
  const name = new Map(
    nodes.map((n) => [n.id, n.type === 'Message' ? `M:${n.properties.eventId}` : n.type === 'Entity' ? `E:${n.properties.key}` : `${n.type}:${n.id}`]),
  );
  const embeddings = nodes.filter((n) => n.type === 'Message').map((n) => `${name.get(n.id)} ${db.getEmbedding(n.id) ? 'embedded' : 'missing'}`);
  return {
    nodes: nodes.map((n) => `${name.get(n.id)} ${JSON.stringify(sortKeys(n.properties))}`).sort(),
    edges: [...db.iterateEdges()].map((e) => {
      // A RELATED_TO edge runs from the smaller generated id, which differs between databases: name its ends in order.
      const [from, to] = [name.get(e.from) as string, name.get(e.to) as string];
      const ends = e.type === 'RELATED_TO' && to < from ? [to, from] : [from, to];
      return `${ends[0]} -${e.type}(${e.weight})-> ${ends[1]}`;
    }).sort(),
    embeddings: embeddings.sort(),
    stats: db.stats().spaces.map((s) => [s.name, s.embeddings]),
  };
}

/** The event ids along a conversation's NEXT chain, from its first message. */
export function chain(db: EmbeddedDB, conversationId: string): string[] {
  const messages = [...db.iterateNodes({ type: 'Message', where: { conversationId } })];
  const first = messages.filter((m) => db.degree(m.id, { direction: 'in', edgeTypes: ['NEXT'] }) === 0);
  if (first.length !== 1) throw new Error(`conversation ${conversationId} has ${first.length} chain starts`);
  const out: string[] = [];
  for (let at = first[0]; at; ) {
    out.push(at.properties.eventId as string);
    const next = db.neighbors(at.id, { direction: 'out', edgeTypes: ['NEXT'] });
    if (next.length > 1) throw new Error(`message ${at.properties.eventId} has ${next.length} NEXT edges`);
    at = next[0]?.node;
    if (out.length > messages.length) throw new Error('NEXT chain has a cycle');
  }
  return out;
}

const WORDS = ['Ada Lovelace', 'Grace Hopper', '#rust', '#lmdb', '@linus', 'https://loomdb.dev/docs', 'insert_nodes_batch', 'WeaverController', 'New York', 'ada@example.com'];

/** `n` message events over `conversations` conversations, in timestamp order, each mentioning two or three entities. */
export function messages(n: number, conversations = 3, prefix = 'e'): MessageEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    type: 'message' as const,
    conversationId: `c${i % conversations}`,
    role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
    content: `Message ${i}: ask ${WORDS[i % WORDS.length]} and ${WORDS[(i * 3 + 1) % WORDS.length]} about ${WORDS[(i * 7 + 2) % WORDS.length]}.`,
    timestamp: 1_700_000_000_000 + i * 1000,
    source: 'test',
  }));
}
