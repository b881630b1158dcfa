import { invalid, LoomError, loomError } from './errors.js';
import { MAX_LEASE, checkCount, checkSeqs, prepareQueueName } from './queue.js';
import type { LeasedQueueItem, PreparedWriteBatch, QueueItemInput } from './storage.js';
import type { EdgeInput, EdgeSelector, EmbeddingInput, NodeInput } from './types.js';
import { prepareEdgeSelector } from './walk.js';
import { checkId, describe, prepareEdge, prepareNode, preparePatch, requireObject } from './validate.js';
import { prepareEmbeddingBatch } from './operations.js';

/**
 * Writes for one {@link DatabaseOperations.writeBatch} call, all optional.
 * They apply in this order, all of them or none: edge deletions, node
 * inserts, node updates, edge inserts, counter additions, embeddings, then
 * the queue's push, ack and lease.
 */
export interface WriteBatch {
  deleteEdges?: EdgeSelector[];
  insertNodes?: NodeInput[];
  /** Shallow merges, as `updateNode` does (a `null` value deletes its key). */
  updateNodes?: Array<{ id: string; properties: NodeInput['properties'] }>;
  insertEdges?: EdgeInput[];
  /** Counter edges, as `addEdgeWeights` takes them. */
  addEdgeWeights?: Array<EdgeInput & { id: string }>;
  insertEmbeddings?: EmbeddingInput[];
  /** Steps on one durable queue, committed with the writes (`capabilities.durableQueue`). */
  queue?: {
    name: string;
    push?: QueueItemInput[];
    ack?: { holder: string; seqs: number[] };
    lease?: { holder: string; max: number; leaseMs: number };
  };
}

export interface WriteBatchOptions {
  /**
   * Write only if no node, edge or embedding changed since
   * `changeSequence()` returned this number: otherwise `CONFLICT`, and
   * nothing is written. Queue steps do not count as changes. For writes
   * planned from reads made outside a transaction.
   */
  ifChangeSequence?: number;
  /**
   * Write only if the last change to the graph is the batch tagged this
   * (it committed, and no node, edge or embedding was written after it):
   * otherwise `CONFLICT`. For a batch planned on top of one not yet
   * committed, whose resulting change sequence is not known yet.
   */
  ifAfter?: string;
  /** A name for this batch, unique to the writer, for a later batch's `ifAfter`. */
  tag?: string;
  /** The commit's durability instead of the database's (ignored inside a transaction). */
  durability?: 'immediate' | 'relaxed';
}

export interface WriteBatchResult {
  /** Ids of `insertNodes`, in order (generated where absent). */
  nodeIds: string[];
  /** Ids of `insertEdges`, in order (generated where absent). */
  edgeIds: string[];
  /** Per pushed queue item: whether it was stored (`false`: its id was seen before). */
  pushed: boolean[];
  leased: LeasedQueueItem[];
  /** The change sequence after this batch: pass it as the next batch's `ifChangeSequence`. */
  changeSequence: number;
}

const list = (what: string, value: unknown): unknown[] => {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(`${what} must be an array, got ${describe(value)}`);
  return value;
};

/** Runs a validator whose messages name its own argument, naming the batch part instead. */
function within<T>(what: string, prepare: () => T): T {
  try {
    return prepare();
  } catch (e) {
    if (LoomError.is(e)) throw loomError(e.code, `${what}: ${e.message}`);
    throw e;
  }
}

export function prepareWriteBatch(batch: unknown, options: unknown): { batch: PreparedWriteBatch; options: WriteBatchOptions } {
  const b = requireObject('batch', batch) as WriteBatch;
  const known = ['deleteEdges', 'insertNodes', 'updateNodes', 'insertEdges', 'addEdgeWeights', 'insertEmbeddings', 'queue'];
  for (const key of Object.keys(b)) if (!known.includes(key)) throw invalid(`batch.${key} is not a write batch part (${known.join(', ')})`);
  const prepared: PreparedWriteBatch = {
    deleteEdges: list('batch.deleteEdges', b.deleteEdges).map((s, i) => within(`batch.deleteEdges[${i}]`, () => prepareEdgeSelector(s))),
    insertNodes: list('batch.insertNodes', b.insertNodes).map((n, i) => prepareNode(n, `batch.insertNodes[${i}]`)),
    updateNodes: list('batch.updateNodes', b.updateNodes).map((u, i) => {
      const o = requireObject(`batch.updateNodes[${i}]`, u);
      return { id: checkId(`batch.updateNodes[${i}].id`, o.id), patch: within(`batch.updateNodes[${i}]`, () => preparePatch({ properties: o.properties })) };
    }),
    insertEdges: list('batch.insertEdges', b.insertEdges).map((e, i) => prepareEdge(e, `batch.insertEdges[${i}]`)),
    addEdgeWeights: list('batch.addEdgeWeights', b.addEdgeWeights).map((e, i) => {
      if (requireObject(`batch.addEdgeWeights[${i}]`, e).id === undefined) throw invalid(`batch.addEdgeWeights[${i}].id is required: counter edges are found by id`);
      return prepareEdge(e, `batch.addEdgeWeights[${i}]`);
    }),
    insertEmbeddings: within('batch.insertEmbeddings', () => prepareEmbeddingBatch(b.insertEmbeddings ?? [])),
  };
  if (b.queue !== undefined) {
    const q = requireObject('batch.queue', b.queue) as NonNullable<WriteBatch['queue']>;
    const name = within('batch.queue', () => prepareQueueName(q.name));
    prepared.queue = {
      name,
      push: list('batch.queue.push', q.push).map((item, i) => {
        const o = requireObject(`batch.queue.push[${i}]`, item);
        if (typeof o.payload !== 'string') throw invalid(`batch.queue.push[${i}].payload must be a string, got ${describe(o.payload)}`);
        return { id: checkId(`batch.queue.push[${i}].id`, o.id), payload: o.payload };
      }),
    };
    if (q.ack !== undefined) {
      const a = requireObject('batch.queue.ack', q.ack);
      prepared.queue.ack = { holder: checkId('batch.queue.ack.holder', a.holder), seqs: within('batch.queue.ack', () => checkSeqs(a.seqs)) };
    }
    if (q.lease !== undefined) {
      const l = requireObject('batch.queue.lease', q.lease);
      prepared.queue.lease = {
        holder: checkId('batch.queue.lease.holder', l.holder),
        max: checkCount('batch.queue.lease.max', l.max, 1, MAX_LEASE),
        leaseMs: checkCount('batch.queue.lease.leaseMs', l.leaseMs, 1, 2 ** 31),
      };
    }
  }
  const o = requireObject('options', options ?? {}) as WriteBatchOptions;
  const optionNames = ['ifChangeSequence', 'ifAfter', 'tag', 'durability'];
  for (const key of Object.keys(o)) if (!optionNames.includes(key)) throw invalid(`options.${key} is not a write batch option (${optionNames.join(', ')})`);
  if (o.ifChangeSequence !== undefined) checkCount('options.ifChangeSequence', o.ifChangeSequence, 0, Number.MAX_SAFE_INTEGER);
  const ifAfter = o.ifAfter === undefined ? undefined : checkId('options.ifAfter', o.ifAfter);
  const tag = o.tag === undefined ? undefined : checkId('options.tag', o.tag);
  if (o.durability !== undefined && o.durability !== 'immediate' && o.durability !== 'relaxed') {
    throw invalid(`options.durability must be 'immediate' or 'relaxed', got ${describe(o.durability)}`);
  }
  return { batch: prepared, options: { ifChangeSequence: o.ifChangeSequence, ifAfter, tag, durability: o.durability } };
}
