import { LoomError, MIN_COSINE_NORM, type DatabaseOperations, type EdgeInput, type ExtractedEntity, type HopOptions, type Node, type Properties, type Transaction, type WriteBatch } from '@loomdb/db';
import { v7 as uuidv7 } from 'uuid';
import { EdgeTypes, MESSAGE_SPACE, NodeTypes, normalizeEntityName } from '@loomdb/query/memory';
import type { ConversationEvent, EntityEvent, ForgetEvent, MessageEvent } from './events.js';

/** An event ready to write: messages come with their entities and vector. */
export type PreparedEvent =
  | { event: MessageEvent; entities: ExtractedEntity[]; vector: Float32Array }
  | { event: ConversationEvent | EntityEvent | ForgetEvent };

/** A message's place in its conversation's NEXT chain. */
interface ChainLink {
  nodeId: string;
  timestamp: number;
  eventId: string;
}

/** NEXT order: by timestamp, ties by event id, so any arrival order gives one chain. */
const chainOrder = (a: ChainLink, b: ChainLink) => a.timestamp - b.timestamp || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);

const linkOf = (n: Node): ChainLink => ({ nodeId: n.id, timestamp: n.properties.timestamp as number, eventId: n.properties.eventId as string });

/** Consecutive pairs of `links`, as `from\0to` → [from, to]. */
function pairs(links: ChainLink[]): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (let i = 1; i < links.length; i++) {
    const a = (links[i - 1] as ChainLink).nodeId;
    const b = (links[i] as ChainLink).nodeId;
    out.set(`${a}\0${b}`, [a, b]);
  }
  return out;
}

/**
 * The id of the RELATED_TO edge between entities `a` < `b`: co-mention is
 * symmetric, so each pair has one edge, from the smaller node id.
 */
const relatedId = (a: string, b: string) => `rel:${a}:${b}`;

/** RELATED_TO weight changes, by edge id. */
type RelatedCounts = Map<string, EdgeInput & { id: string; weight: number }>;

/** Adds `delta` to the count of every pair {a, b}, a ≠ b, with a or b in `added` and both in `all`. */
function countPairs(counts: RelatedCounts, all: Iterable<string>, added: ReadonlySet<string>, delta: number): void {
  const list = [...new Set(all)].sort();
  for (let i = 0; i < list.length; i++) {
    const a = list[i] as string;
    for (let j = i + 1; j < list.length; j++) {
      const b = list[j] as string;
      if (added.has(a) || added.has(b)) {
        const id = relatedId(a, b);
        const count = counts.get(id);
        if (count) count.weight += delta;
        else counts.set(id, { id, type: EdgeTypes.RELATED_TO, from: a, to: b, weight: delta });
      }
    }
  }
}

const NEXT_OUT: HopOptions = { direction: 'out', edgeTypes: [EdgeTypes.NEXT] };
const MENTIONS_OUT: HopOptions = { direction: 'out', edgeTypes: [EdgeTypes.MENTIONS] };
/** Keys per `in` lookup of entities. */
const LOOKUP_CHUNK = 1000;

/** The reads the writer plans from: a database or a transaction. */
export type Reader = Pick<DatabaseOperations, 'getNode' | 'iterateNodes' | 'listNodes' | 'neighbors' | 'degree'>;

/** A write batch with every part present, filled while planning. */
type Writes = Required<Omit<WriteBatch, 'queue'>>;

/**
 * What a planned batch writes that the next plan reads: for planning the
 * next batch while this one is still committing. The next plan takes these
 * over the reads, so it holds whether the reads see this batch or not.
 */
export interface Pending {
  /** Conversations the batch creates or updates: id → properties after it. */
  conversations: Map<string, Properties>;
  /** Entities it creates or mentions: key → node id. */
  entities: Map<string, string>;
  /** The last message of each NEXT chain it extends. */
  tails: Map<string, ChainLink>;
}

/**
 * Thrown by `plan` when a batch depends on what the pending batch writes
 * in a way its summary does not cover (a message older than that batch's,
 * an entity event naming a message): plan it once that batch has committed.
 */
export class NeedsCommitted extends Error {}

/** What planning carries from call to call. */
interface Planning {
  reader: Reader;
  /** The batch still committing, if any (see {@link Pending}). */
  pending: Pending | null;
  /** Tails this plan sets. */
  tails: Map<string, ChainLink | null>;
  /** This plan's own summary, for the plan after it. */
  next: Pending;
}

/**
 * Turns prepared events into the memory vocabulary's writes. It reads
 * everything it depends on (through a transaction, or through the database
 * with the batch then written only if the graph is unchanged), so it is
 * correct whatever other weavers wrote before; it only remembers, per
 * conversation, the last message of the NEXT chain it saw, and checks that
 * it is still last before trusting it.
 */
export class MemoryWriter {
  readonly #tails = new Map<string, ChainLink>();

  /**
   * Writes `batch` (in inbox order, any events) through `tx`. Returns what
   * to remember once `tx` has committed. Throws, writing nothing of the
   * failing call, when an event cannot be written.
   */
  write(tx: Transaction, batch: readonly PreparedEvent[]): () => void {
    const p = this.#planning(tx, null);
    let run: PreparedEvent[] = [];
    const flush = () => {
      if (run.length > 0) tx.writeBatch(this.#planRun(p, run));
      run = [];
    };
    for (const prepared of batch) {
      if (prepared.event.type === 'forget') {
        flush();
        this.#forget(tx, prepared.event, p.tails);
      } else {
        run.push(prepared);
      }
    }
    flush();
    return this.#remembering(p.tails);
  }

  /**
   * The writes of `batch`, which has no `forget` events (they read what
   * they delete), planned from `reader`, what to remember once they are
   * committed, and their summary for planning the batch after. With
   * `pending`, the summary of a batch still committing, this plan reads
   * through it; it may then throw {@link NeedsCommitted}. Commit the writes
   * only if nothing else changed since the reads (`ifChangeSequence`).
   */
  plan(reader: Reader, batch: readonly PreparedEvent[], pending: Pending | null = null): { writes: WriteBatch; remember: () => void; pending: Pending } {
    if (!MemoryWriter.plannable(batch)) throw new LoomError('INVALID_ARGUMENT', 'a planned batch cannot hold forget events; write it through a transaction');
    if (pending && batch.some((p) => p.event.type === 'entity' && p.event.messageId !== undefined)) throw new NeedsCommitted();
    const p = this.#planning(reader, pending);
    const writes = this.#planRun(p, batch);
    return { writes, remember: this.#remembering(p.tails), pending: p.next };
  }

  #planning(reader: Reader, pending: Pending | null): Planning {
    return { reader, pending, tails: new Map(), next: { conversations: new Map(), entities: new Map(), tails: new Map() } };
  }

  /** Whether `plan` can take this batch. */
  static plannable(batch: readonly PreparedEvent[]): boolean {
    return batch.every((p) => p.event.type !== 'forget');
  }

  #remembering(tails: Map<string, ChainLink | null>): () => void {
    return () => {
      for (const [cid, tail] of tails) {
        if (tail) this.#tails.set(cid, tail);
        else this.#tails.delete(cid);
      }
    };
  }

  /** Messages, conversations and explicit entities: one write batch. */
  #planRun(p: Planning, run: readonly PreparedEvent[]): Writes {
    const w: Writes = { deleteEdges: [], insertNodes: [], updateNodes: [], insertEdges: [], addEdgeWeights: [], insertEmbeddings: [] };
    const messages = run.filter((p): p is Extract<PreparedEvent, { entities: ExtractedEntity[] }> => p.event.type === 'message');
    const created = this.#conversations(p, run, w);
    const byConversation = new Map<string, ChainLink[]>();
    const messageNodes = new Map<string, string>();
    for (const { event: m, vector } of messages) {
      const nodeId = uuidv7();
      w.insertNodes.push({
        id: nodeId,
        type: NodeTypes.Message,
        properties: {
          conversationId: m.conversationId,
          role: m.role,
          content: m.content,
          timestamp: m.timestamp,
          eventId: m.id,
          source: m.source ?? 'unknown',
          ...(m.metadata ? { metadata: m.metadata as Properties } : {}),
        },
      });
      messageNodes.set(m.id, nodeId);
      w.insertEdges.push({ type: EdgeTypes.IN_CONVERSATION, from: nodeId, to: m.conversationId });
      // A text without words embeds to the zero vector, which has no direction: a cosine space refuses it.
      if (hasDirection(vector)) w.insertEmbeddings.push({ nodeId, vector, space: MESSAGE_SPACE });
      const links = byConversation.get(m.conversationId) ?? [];
      links.push({ nodeId, timestamp: m.timestamp, eventId: m.id });
      byConversation.set(m.conversationId, links);
    }
    for (const [cid, fresh] of byConversation) this.#chain(p, cid, fresh, created.has(cid), w);
    this.#mentions(p, messages, run, messageNodes, w);
    return w;
  }

  /** Creates missing conversations and updates title, source and start time; returns the ids created. */
  #conversations(p: Planning, run: readonly PreparedEvent[], w: Writes): Set<string> {
    const props = new Map<string, { before: Properties | null; after: Properties }>();
    const of = (cid: string) => {
      let entry = props.get(cid);
      if (!entry) {
        const planned = p.pending?.conversations.get(cid);
        const node = planned ? { type: NodeTypes.Conversation, properties: planned } : p.reader.getNode(cid);
        if (node && node.type !== NodeTypes.Conversation) {
          throw new LoomError('INVALID_ARGUMENT', `conversationId "${cid}" names a ${node.type} node, not a ${NodeTypes.Conversation}`);
        }
        entry = { before: node?.properties ?? null, after: { ...(node?.properties ?? {}) } };
        props.set(cid, entry);
      }
      return entry.after;
    };
    const earliest = (p: Properties, t: number | undefined) => {
      if (t !== undefined && (p.startedAt === undefined || t < (p.startedAt as number))) p.startedAt = t;
    };
    for (const { event: e } of run) {
      if (e.type === 'message') {
        const p = of(e.conversationId);
        earliest(p, e.timestamp);
        if (e.title !== undefined && p.title === undefined) p.title = e.title;
        if (e.source !== undefined && p.source === undefined) p.source = e.source;
      }
    }
    // Explicit conversation events win over titles carried by messages.
    for (const { event: e } of run) {
      if (e.type === 'conversation') {
        const p = of(e.conversationId);
        earliest(p, e.timestamp);
        if (e.title !== undefined) p.title = e.title;
        if (e.source !== undefined) p.source = e.source;
        if (e.metadata) p.metadata = { ...((p.metadata as Properties | undefined) ?? {}), ...(e.metadata as Properties) };
      }
    }
    const created = new Set<string>();
    for (const [id, { before, after }] of props) {
      p.next.conversations.set(id, after);
      if (before === null) {
        w.insertNodes.push({ id, type: NodeTypes.Conversation, properties: after });
        created.add(id);
      } else if (JSON.stringify(before) !== JSON.stringify(after)) {
        w.updateNodes.push({ id, properties: after });
      }
    }
    return created;
  }

  /** Splices new messages into the conversation's NEXT chain, wherever their timestamps fall. */
  #chain(p: Planning, cid: string, fresh: ChainLink[], isNew: boolean, w: Writes): void {
    fresh.sort(chainOrder);
    const planned = p.pending?.tails.get(cid);
    const tail = p.tails.has(cid) ? p.tails.get(cid) : (planned ?? this.#tails.get(cid));
    let existing: ChainLink[];
    if (isNew) {
      existing = [];
    } else if (tail && chainOrder(tail, fresh[0] as ChainLink) <= 0 && (tail === planned || this.#stillLast(p.reader, tail))) {
      existing = [tail];
    } else {
      // Older messages arrived: read the whole chain, which the pending batch may be extending.
      if (p.pending?.conversations.has(cid)) throw new NeedsCommitted();
      const freshIds = new Set(fresh.map((l) => l.nodeId));
      existing = [...p.reader.iterateNodes({ type: NodeTypes.Message, where: { conversationId: cid } })].filter((n) => !freshIds.has(n.id)).map(linkOf).sort(chainOrder);
    }
    const all = [...existing, ...fresh].sort(chainOrder);
    const before = pairs(existing);
    const after = pairs(all);
    for (const [k, [from, to]] of before) if (!after.has(k)) w.deleteEdges.push({ type: EdgeTypes.NEXT, from, to });
    for (const [k, [from, to]] of after) if (!before.has(k)) w.insertEdges.push({ type: EdgeTypes.NEXT, from, to });
    const last = all[all.length - 1] as ChainLink;
    p.tails.set(cid, last);
    p.next.tails.set(cid, last);
  }

  /** Whether the remembered tail still exists and has no NEXT (node ids are never reused, so it is still in its conversation). */
  #stillLast(reader: Reader, tail: ChainLink): boolean {
    try {
      return reader.degree(tail.nodeId, NEXT_OUT) === 0;
    } catch (e) {
      if (LoomError.is(e) && e.code === 'NOT_FOUND') return false; // forgotten meanwhile
      throw e;
    }
  }

  /** Entities (merged by key), MENTIONS edges, and RELATED_TO weights for every pair newly co-mentioned. */
  #mentions(
    p: Planning,
    messages: ReadonlyArray<{ event: MessageEvent; entities: ExtractedEntity[] }>,
    run: readonly PreparedEvent[],
    messageNodes: ReadonlyMap<string, string>,
    w: Writes,
  ): void {
    /** Per message node: the entities it mentioned before this run (key → node id), and those it gains. */
    const touched = new Map<string, { before: Map<string, string>; added: Map<string, ExtractedEntity> }>();
    messages.forEach(({ event, entities }) => {
      touched.set(messageNodes.get(event.id) as string, { before: new Map(), added: new Map(entities.map((e) => [e.key, e])) });
    });
    const loose: ExtractedEntity[] = [];
    for (const { event: e } of run) {
      if (e.type !== 'entity') continue;
      const entity = { name: e.name, kind: e.kind, key: e.key ?? `${e.kind}:${e.name.toLowerCase()}` };
      if (e.messageId === undefined) {
        loose.push(entity);
        continue;
      }
      const nodeId = messageNodes.get(e.messageId) ?? this.#messageByEvent(p.reader, e.messageId)?.id;
      if (!nodeId) throw new LoomError('NOT_FOUND', `entity event "${e.id}": message "${e.messageId}" has not been written yet`);
      let t = touched.get(nodeId);
      if (!t) {
        const before = new Map(p.reader.neighbors(nodeId, MENTIONS_OUT).map((n) => [n.node.properties.key as string, n.node.id] as const));
        t = { before, added: new Map() };
        touched.set(nodeId, t);
      }
      if (!t.before.has(entity.key)) t.added.set(entity.key, entity);
    }
    const wanted = new Map<string, ExtractedEntity>();
    for (const { added } of touched.values()) for (const [k, e] of added) if (!wanted.has(k)) wanted.set(k, e);
    for (const e of loose) if (!wanted.has(e.key)) wanted.set(e.key, e);
    const ids = this.#entities(p, wanted, w);
    const counts: RelatedCounts = new Map();
    for (const [message, { before, added }] of touched) {
      const addedIds = new Set([...added.keys()].map((k) => ids.get(k) as string));
      for (const id of addedIds) w.insertEdges.push({ type: EdgeTypes.MENTIONS, from: message, to: id });
      countPairs(counts, [...before.values(), ...addedIds], addedIds, 1);
    }
    w.addEdgeWeights.push(...counts.values());
  }

  /** Node ids of the entities with these keys, planning the missing ones. */
  #entities(p: Planning, wanted: ReadonlyMap<string, ExtractedEntity>, w: Writes): Map<string, string> {
    const ids = new Map<string, string>();
    const unknown: string[] = [];
    for (const k of wanted.keys()) {
      const planned = p.pending?.entities.get(k);
      if (planned) ids.set(k, planned);
      else unknown.push(k);
    }
    for (let i = 0; i < unknown.length; i += LOOKUP_CHUNK) {
      const chunk = unknown.slice(i, i + LOOKUP_CHUNK);
      for (const n of p.reader.iterateNodes({ type: NodeTypes.Entity, where: { key: { in: chunk } } })) ids.set(n.properties.key as string, n.id);
    }
    for (const k of unknown) {
      if (ids.has(k)) continue;
      const { name, kind, key } = wanted.get(k) as ExtractedEntity;
      const id = uuidv7();
      w.insertNodes.push({ id, type: NodeTypes.Entity, properties: { name, kind, key, normalizedName: normalizeEntityName(name) } });
      ids.set(k, id);
    }
    for (const [k, id] of ids) p.next.entities.set(k, id);
    return ids;
  }

  #messageByEvent(reader: Reader, eventId: string): Node | undefined {
    return reader.listNodes({ type: NodeTypes.Message, where: { eventId }, limit: 1 }).items[0];
  }

  /** Removes messages, their edges and embeddings, and entities they alone mentioned. */
  #forget(tx: Transaction, e: ForgetEvent, tails: Map<string, ChainLink | null>): void {
    const targets =
      e.conversationId !== undefined
        ? [...tx.iterateNodes({ type: NodeTypes.Message, where: { conversationId: e.conversationId } })]
        : [...tx.iterateNodes({ type: NodeTypes.Message, where: { eventId: e.messageId as string } })];
    const counts: RelatedCounts = new Map();
    const entities = new Set<string>();
    const relink: EdgeInput[] = [];
    for (const m of targets) {
      const mentioned = tx.neighbors(m.id, MENTIONS_OUT).map((n) => n.node.id);
      countPairs(counts, mentioned, new Set(mentioned), -1);
      for (const id of mentioned) entities.add(id);
      if (e.messageId !== undefined) {
        const prev = tx.neighbors(m.id, { direction: 'in', edgeTypes: [EdgeTypes.NEXT] })[0];
        const next = tx.neighbors(m.id, NEXT_OUT)[0];
        if (prev && next) relink.push({ type: EdgeTypes.NEXT, from: prev.node.id, to: next.node.id });
      }
      tails.set(m.properties.conversationId as string, null);
    }
    if (targets.length > 0) tx.deleteNodes(targets.map((m) => m.id));
    if (relink.length > 0) tx.insertEdgesBatch(relink);
    if (counts.size > 0) tx.addEdgeWeights([...counts.values()]);
    const orphans = [...entities].filter((id) => tx.degree(id, { direction: 'in', edgeTypes: [EdgeTypes.MENTIONS] }) === 0);
    if (orphans.length > 0) tx.deleteNodes(orphans);
    if (e.conversationId !== undefined) {
      tails.set(e.conversationId, null);
      if (tx.getNode(e.conversationId)?.type === NodeTypes.Conversation) tx.deleteNode(e.conversationId);
    }
  }
}

/** Whether a cosine space accepts `v` (its norm is at least {@link MIN_COSINE_NORM}). */
function hasDirection(v: Float32Array): boolean {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] as number) * (v[i] as number);
  return Math.sqrt(sum) >= MIN_COSINE_NORM;
}
