import { invalid, LoomError, loomError, toLoomError } from './errors.js';
import { checkCount, checkSeqs, prepareLease, preparePushItems, prepareQueueName } from './queue.js';
import type { LeaseOptions } from './prepared.js';
import type { LeasedQueueItem, PreparedWriteBatch, QueueItemInput, StorageBatchResult, StorageOperations } from './storage.js';
import type { EdgeInput, EdgeSelector, EmbeddingInput, NodeInput } from './types.js';
import { prepareEdgeSelector } from './walk.js';
import { checkId, describe, guard, prepareCounterEdges, prepareEdge, prepareEmbeddingBatch, prepareNode, preparePatch, requireObject } from './validate.js';

/**
 * Writes for one {@link DatabaseOperations.writeBatch} call, all optional.
 * They apply in this order, all of them or none: edge deletions, node
 * inserts, node updates, edge inserts, counter additions, embeddings, then
 * the queue's push, ack and lease.
 *
 * @example
 * ```ts
 * const batch: WriteBatch = {
 *   insertNodes: [{ id: 'm2', type: 'Message', properties: { content: 'hi' } }],
 *   insertEdges: [{ type: 'NEXT', from: 'm1', to: 'm2' }],
 *   queue: { name: 'inbox', ack: { holder: 'w1', seqs: [item.seq] } },
 * };
 * db.writeBatch(batch);
 * ```
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
    lease?: LeaseOptions;
  };
}

/**
 * Conditions of a write batch.
 *
 * @example
 * ```ts
 * const seen = db.changeSequence();
 * db.writeBatch(batch, { ifChangeSequence: seen, tag: 'w1/1' } satisfies WriteBatchOptions); // CONFLICT if the graph changed
 * ```
 */
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

/**
 * What a committed write batch reports.
 *
 * @example
 * ```ts
 * const { nodeIds, edgeIds }: WriteBatchResult = db.writeBatch({ insertNodes: [{ type: 'Note' }] });
 * ```
 */
export interface WriteBatchResult {
  /** Ids of `insertNodes`, in order (generated where absent). */
  nodeIds: string[];
  /** Ids of `insertEdges`, in order (generated where absent). */
  edgeIds: string[];
  /** Per pushed queue item: whether it was stored (`false`: its id was seen before). */
  pushed: boolean[];
  leased: LeasedQueueItem[];
  /**
   * The change sequence after this batch, for a later `ifChangeSequence`;
   * absent on a backend without `capabilities.writeBatch`.
   */
  changeSequence?: number;
}

/** `UNSUPPORTED`: what a backend without `capabilities.writeBatch` answers to conditions and `changeSequence`. */
export const noWriteBatches = (): LoomError =>
  loomError('UNSUPPORTED', 'this storage backend has no write batches (capabilities.writeBatch is false): no change sequence, conditions or tags');

/** Runs `fn` for the batch part `what`, naming that part in what it throws. */
function within<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = toLoomError(e);
    throw loomError(err.code, `${what}: ${err.message}`);
  }
}

/** Rejects keys of `value` other than `known`, naming `what`. */
function onlyKeys(what: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) if (!known.includes(key)) throw invalid(`${what}.${key} is not a field of ${what} (${known.join(', ')})`);
}

/**
 * Applies a validated batch through a backend's record-level calls, in the
 * order of {@link PreparedWriteBatch}: the write-batch path of backends
 * that keep their own atomicity (a savepoint, a copy) around it.
 */
export function applyWriteBatch(ops: StorageOperations, batch: PreparedWriteBatch): Pick<StorageBatchResult, 'pushed' | 'leased'> {
  batch.deleteEdges.forEach((selector, i) => within(`deleteEdges[${i}]`, () => ops.deleteEdges(selector)));
  if (batch.insertNodes.length > 0) within('insertNodes', () => ops.insertNodes(batch.insertNodes));
  batch.updateNodes.forEach(({ id, patch }, i) => within(`updateNodes[${i}]`, () => ops.updateNode(id, patch)));
  if (batch.insertEdges.length > 0) within('insertEdges', () => ops.insertEdges(batch.insertEdges));
  if (batch.addEdgeWeights.length > 0) within('addEdgeWeights', () => ops.addEdgeWeights(batch.addEdgeWeights));
  if (batch.insertEmbeddings.length > 0) within('insertEmbeddings', () => ops.insertEmbeddings(batch.insertEmbeddings));
  const result: Pick<StorageBatchResult, 'pushed' | 'leased'> = { pushed: [], leased: [] };
  if (batch.queue) {
    const { name, push, ack, lease } = batch.queue;
    const queue = `queue "${name}"`;
    if (!ops.queuePush || !ops.queueAck || !ops.queueLease) throw loomError('UNSUPPORTED', `${queue}: this storage backend has no durable queues (capabilities.durableQueue)`);
    if (push.length > 0) result.pushed = within(queue, () => ops.queuePush!(name, push));
    if (ack) within(queue, () => ops.queueAck!(name, ack.holder, ack.seqs));
    if (lease) result.leased = within(queue, () => ops.queueLease!(name, lease.holder, lease.max, lease.leaseMs));
  }
  return result;
}

const list = (what: string, value: unknown): unknown[] => {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(`${what} must be an array, got ${describe(value)}`);
  return value;
};

export function prepareWriteBatch(batch: unknown, options: unknown): { batch: PreparedWriteBatch; options: WriteBatchOptions } {
  return guard('batch', () => prepareWriteBatchFields(batch, options));
}

function prepareWriteBatchFields(batch: unknown, options: unknown): { batch: PreparedWriteBatch; options: WriteBatchOptions } {
  const b = requireObject('batch', batch) as WriteBatch;
  onlyKeys('batch', b, ['deleteEdges', 'insertNodes', 'updateNodes', 'insertEdges', 'addEdgeWeights', 'insertEmbeddings', 'queue']);
  const prepared: PreparedWriteBatch = {
    deleteEdges: list('batch.deleteEdges', b.deleteEdges).map((s, i) => within(`batch.deleteEdges[${i}]`, () => prepareEdgeSelector(s))),
    insertNodes: list('batch.insertNodes', b.insertNodes).map((n, i) => prepareNode(n, `batch.insertNodes[${i}]`)),
    updateNodes: list('batch.updateNodes', b.updateNodes).map((u, i) => {
      const o = requireObject(`batch.updateNodes[${i}]`, u);
      onlyKeys(`batch.updateNodes[${i}]`, o, ['id', 'properties']);
      return { id: checkId(`batch.updateNodes[${i}].id`, o.id), patch: within(`batch.updateNodes[${i}]`, () => preparePatch({ properties: o.properties })) };
    }),
    insertEdges: list('batch.insertEdges', b.insertEdges).map((e, i) => prepareEdge(e, `batch.insertEdges[${i}]`)),
    addEdgeWeights: prepareCounterEdges(list('batch.addEdgeWeights', b.addEdgeWeights), 'batch.addEdgeWeights'),
    insertEmbeddings: within('batch.insertEmbeddings', () => prepareEmbeddingBatch(b.insertEmbeddings ?? [])),
  };
  if (b.queue !== undefined) {
    const q = requireObject('batch.queue', b.queue) as NonNullable<WriteBatch['queue']>;
    onlyKeys('batch.queue', q, ['name', 'push', 'ack', 'lease']);
    prepared.queue = { name: within('batch.queue', () => prepareQueueName(q.name)), push: preparePushItems(q.push ?? [], 'batch.queue.push') };
    if (q.ack !== undefined) {
      const a = requireObject('batch.queue.ack', q.ack);
      onlyKeys('batch.queue.ack', a, ['holder', 'seqs']);
      prepared.queue.ack = { holder: checkId('batch.queue.ack.holder', a.holder), seqs: within('batch.queue.ack', () => checkSeqs(a.seqs)) };
    }
    if (q.lease !== undefined) prepared.queue.lease = prepareLease(q.lease, 'batch.queue.lease');
  }
  const o = requireObject('options', options ?? {}) as WriteBatchOptions;
  onlyKeys('options', o, ['ifChangeSequence', 'ifAfter', 'tag', 'durability']);
  if (o.ifChangeSequence !== undefined) checkCount('options.ifChangeSequence', o.ifChangeSequence, 0, Number.MAX_SAFE_INTEGER);
  const ifAfter = o.ifAfter === undefined ? undefined : checkId('options.ifAfter', o.ifAfter);
  const tag = o.tag === undefined ? undefined : checkId('options.tag', o.tag);
  if (o.durability !== undefined && o.durability !== 'immediate' && o.durability !== 'relaxed') {
    throw invalid(`options.durability must be 'immediate' or 'relaxed', got ${describe(o.durability)}`);
  }
  return { batch: prepared, options: { ifChangeSequence: o.ifChangeSequence, ifAfter, tag, durability: o.durability } };
}

/** Whether `options` asks for what only a backend with write batches can do. */
export const conditional = (options: WriteBatchOptions): boolean => options.ifChangeSequence !== undefined || options.ifAfter !== undefined || options.tag !== undefined;
