import { invalid, loomError, toLoomError } from './errors.js';
import type { LeaseOptions } from './prepared.js';
import type { DeadLetter, LeasedQueueItem, QueueItemInput, QueueStats, StorageOperations, StorageQueues } from './storage.js';
import { checkId, checkString, checkWellFormed, describe, requireObject, guard } from './validate.js';

/**
 * Longest queue name in UTF-8 bytes.
 *
 * @example
 * ```ts
 * const name = 'weaver-inbox'; // at most MAX_QUEUE_NAME_BYTES bytes
 * db.queue(name);
 * ```
 */
export const MAX_QUEUE_NAME_BYTES = 64;
/**
 * Most items one lease call hands out.
 *
 * @example
 * ```ts
 * db.queue('inbox').lease({ holder: 'w1', max: Math.min(1000, MAX_LEASE), leaseMs: 30_000 });
 * ```
 */
export const MAX_LEASE = 100_000;

export const checkCount = (what: string, value: unknown, min: number, max: number): number => {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalid(`${what} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value as number;
};

export function checkSeqs(seqs: unknown): number[] {
  if (!Array.isArray(seqs)) throw invalid(`seqs must be an array, got ${describe(seqs)}`);
  return seqs.map((s, i) => checkCount(`seqs[${i}]`, s, 1, Number.MAX_SAFE_INTEGER));
}

export function prepareQueueName(name: unknown): string {
  const n = checkString('queue name', name, MAX_QUEUE_NAME_BYTES);
  if (n.includes('\0')) throw invalid(`queue name must not contain NUL, got ${describe(n)}`);
  return n;
}

/** {@link preparePushItemsUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const preparePushItems: typeof preparePushItemsUnguarded = (...args) => guard(() => String(args[1] ?? 'items'), () => preparePushItemsUnguarded(...args));

/** Validates items to push; `what` names the list in errors. */
function preparePushItemsUnguarded(items: unknown, what = 'items'): QueueItemInput[] {
  if (!Array.isArray(items)) throw invalid(`${what} must be an array, got ${describe(items)}`);
  return items.map((item, i) => {
    const o = requireObject(`${what}[${i}]`, item);
    if (typeof o.payload !== 'string') throw invalid(`${what}[${i}].payload must be a string, got ${describe(o.payload)}`);
    return { id: checkId(`${what}[${i}].id`, o.id), payload: checkWellFormed(`${what}[${i}].payload`, o.payload) };
  });
}

/** {@link prepareLeaseUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareLease: typeof prepareLeaseUnguarded = (...args) => guard(() => String(args[1] ?? 'options'), () => prepareLeaseUnguarded(...args));

/** Validates lease options; `what` names them in errors. */
function prepareLeaseUnguarded(options: unknown, what = 'options'): LeaseOptions {
  const o = requireObject(what, options);
  return {
    holder: checkId(`${what}.holder`, o.holder),
    max: checkCount(`${what}.max`, o.max, 1, MAX_LEASE),
    leaseMs: checkCount(`${what}.leaseMs`, o.leaseMs, 1, 2 ** 31),
  };
}

/**
 * A durable queue stored in the database (`capabilities.durableQueue`):
 * items pushed are on disk when `push` returns, each id is stored once
 * ever, and consumers take items with leases. From `db.queue(name)`; from
 * `tx.queue(name)` its calls join the transaction, so acknowledging items
 * commits together with the work they caused.
 *
 * @example
 * ```ts
 * const inbox = db.queue('inbox');
 * inbox.push([{ id: 'e1', payload: JSON.stringify(event) }]);
 * const [item] = inbox.lease({ holder: 'worker-1', max: 10, leaseMs: 30_000 });
 * db.transaction((tx) => {
 *   tx.insertNode({ type: 'Event', properties: JSON.parse(item.payload) });
 *   tx.queue('inbox').ack('worker-1', [item.seq]);
 * });
 * ```
 */
export class DurableQueue {
  readonly name: string;
  readonly #target: () => StorageOperations;

  /** @internal */
  constructor(target: () => StorageOperations, name: string) {
    this.#target = target;
    this.name = name;
  }

  #run<T>(op: (q: StorageQueues) => T): T {
    const target = this.#target();
    if (typeof target.queuePush !== 'function') throw loomError('UNSUPPORTED', 'this storage backend has no durable queues (capabilities.durableQueue)');
    try {
      return op(target as StorageQueues);
    } catch (e) {
      throw toLoomError(e);
    }
  }

  /** Appends the items whose ids the queue has never seen; returns for each whether it was stored. */
  push(items: ReadonlyArray<{ id: string; payload: string }>): boolean[] {
    const prepared = preparePushItems(items);
    return this.#run((q) => q.queuePush(this.name, prepared));
  }

  /** Leases up to `max` of the oldest available items to `holder` for `leaseMs`. */
  lease(options: LeaseOptions): LeasedQueueItem[] {
    const { holder, max, leaseMs } = prepareLease(options);
    return this.#run((q) => q.queueLease(this.name, holder, max, leaseMs));
  }

  /** Marks leased items done. `CONFLICT` (and nothing changes) unless `holder` holds every one. */
  ack(holder: string, seqs: number[]): void {
    const h = checkId('holder', holder);
    const s = checkSeqs(seqs);
    this.#run((q) => q.queueAck(this.name, h, s));
  }

  /** Gives leased items back for another attempt, leasable again after `delayMs` (default 0). */
  release(holder: string, seqs: number[], options: { delayMs?: number } = {}): void {
    const h = checkId('holder', holder);
    const s = checkSeqs(seqs);
    const delayMs = checkCount('options.delayMs', requireObject('options', options).delayMs ?? 0, 0, 2 ** 31);
    this.#run((q) => q.queueRelease(this.name, h, s, delayMs));
  }

  /** Moves a leased item to the dead letters with the reason. */
  deadLetter(holder: string, seq: number, error: string): void {
    const h = checkId('holder', holder);
    const [s] = checkSeqs([seq]) as [number];
    if (typeof error !== 'string') throw invalid(`error must be a string, got ${describe(error)}`);
    this.#run((q) => q.queueDeadLetter(this.name, h, s, error));
  }

  stats(): QueueStats {
    return this.#run((q) => q.queueStats(this.name));
  }

  /** The oldest dead letters (default 100). */
  deadLetters(limit = 100): DeadLetter[] {
    const n = checkCount('limit', limit, 1, MAX_LEASE);
    return this.#run((q) => q.queueDeadLetters(this.name, n));
  }
}
