import { guard } from './validate.js';
import { invalid, loomError, toLoomError } from './errors.js';
import { DatabaseOperations } from './operations.js';
import type { StorageOperations, StorageTransaction, TransactionOptions } from './storage.js';
import type { Edge, EdgeWalkOptions, Node, NodeWalkOptions } from './types.js';

/**
 * The inside of `db.transaction(tx => …)`: every read and write of
 * {@link EmbeddedDB}, atomic as a whole. Reads see the transaction's own
 * writes; nobody else sees them before it commits. A call that fails
 * changes nothing, and the transaction stays usable.
 *
 * `tx.transaction(inner => …)` nests as a savepoint: if `inner` throws, only
 * its writes are undone and the error propagates to the outer function.
 *
 * @example
 * ```ts
 * const id = db.transaction((tx: Transaction) => {
 *   const c = tx.insertNode({ type: 'Conversation', properties: { title: 'Trip' } });
 *   tx.insertEdge({ type: 'IN_CONVERSATION', from: messageId, to: c.id });
 *   return c.id; // both writes commit together, or neither on a throw
 * });
 * ```
 */
export class Transaction extends DatabaseOperations {
  #raw: StorageTransaction | null;
  /** Set when the database was closed while this transaction was open (it was rolled back). */
  #closed = false;

  /** @internal */
  constructor(raw: StorageTransaction) {
    super();
    this.#raw = raw;
  }

  /** @internal */
  protected target(): StorageOperations {
    if (this.#closed) throw closedInside();
    if (!this.#raw) throw invalid('the transaction has already ended; use the tx only inside its function');
    return this.#raw;
  }

  /**
   * The storage transaction underneath, for this package's batch helpers.
   * @internal
   */
  get storage(): StorageOperations {
    return this.target();
  }

  /** Runs `fn` in a savepoint: kept when it returns, undone when it throws (the error is rethrown unchanged). */
  transaction<T>(fn: (tx: Transaction) => T): T {
    const raw = this.target() as StorageTransaction;
    settle(() => raw.savepoint());
    let result: T;
    try {
      result = fn(this);
    } catch (e) {
      if (!this.#closed) settle(() => raw.endSavepoint(false));
      throw e;
    }
    if (this.#closed) throw closedInside();
    settle(() => raw.endSavepoint(true));
    return result;
  }

  /**
   * Whether the database was closed while this transaction was open (see {@link Transaction.abandon}).
   * @internal
   */
  get abandoned(): boolean {
    return this.#closed;
  }

  /**
   * Ends the transaction: commits (`commit`) or rolls back. Later calls on the tx throw.
   * @internal
   */
  end(commit: boolean): void {
    if (this.#closed && commit) throw closedInside();
    const raw = this.#raw;
    this.#raw = null;
    if (raw) settle(() => (commit ? raw.commit() : raw.rollback()));
  }

  /**
   * The database is closing: rolls back now; later calls on the tx, and
   * the end of its function, throw `CLOSED` (never a commit).
   * @internal
   */
  abandon(): void {
    const raw = this.#raw;
    this.#raw = null;
    this.#closed = true;
    try {
      raw?.rollback();
    } catch {
      // Closing goes on; the backend drops what was not committed.
    }
  }
}

function closedInside() {
  return loomError('CLOSED', 'the database was closed inside this transaction, which was rolled back: nothing it wrote was committed');
}

/** {@link prepareTransactionOptionsUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareTransactionOptions: typeof prepareTransactionOptionsUnguarded = (...args) => guard('options', () => prepareTransactionOptionsUnguarded(...args));

/** Checks `{ durability? }` (the signal of async transactions is checked by their caller). */
function prepareTransactionOptionsUnguarded(options: unknown, extra: readonly string[] = []): TransactionOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw invalid(`options must be an object, got ${options === null ? 'null' : typeof options}`);
  for (const key of Object.keys(options)) {
    if (key !== 'durability' && !extra.includes(key)) throw invalid(`options.${key} is not a transaction option (durability${extra.map((k) => `, ${k}`).join('')})`);
  }
  const { durability } = options as TransactionOptions;
  if (durability !== undefined && durability !== 'immediate' && durability !== 'relaxed') {
    throw invalid(`options.durability must be 'immediate' or 'relaxed', got ${String(durability)}`);
  }
  return durability === undefined ? {} : { durability };
}

function settle(op: () => void): void {
  try {
    op();
  } catch (e) {
    throw toLoomError(e);
  }
}

/**
 * Runs `fn` in `tx`: commits when it returns, rolls back when it throws and
 * rethrows the original error. A sync transaction cannot wait for promises.
 */
export function runTransaction<T>(tx: Transaction, fn: (tx: Transaction) => T): T {
  let result: T;
  try {
    result = fn(tx);
    if (result instanceof Promise) {
      result.catch(() => undefined);
      throw invalid('the transaction function returned a promise; a sync transaction cannot wait for it. Use AsyncEmbeddedDB.transaction');
    }
  } catch (e) {
    tx.end(false);
    throw e;
  }
  tx.end(true);
  return result;
}

type Promised<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never };
type SyncOnly = 'transaction' | 'end' | 'storage' | 'iterateNodes' | 'iterateEdges';

/**
 * The inside of `adb.transaction(async tx => …)`: the methods of
 * {@link Transaction}, returning promises. They run on the JavaScript thread,
 * which owns the transaction, so keep a transaction's work short; other
 * writers wait until it ends.
 *
 * @example
 * ```ts
 * await adb.transaction(async (tx: AsyncTransaction) => {
 *   const n = await tx.insertNode({ type: 'Note' });
 *   await tx.insertEmbedding(n.id, [0.1, 0.2, 0.3]);
 * });
 * ```
 */
export interface AsyncTransaction extends Promised<Omit<Transaction, SyncOnly>> {
  /** A savepoint: kept when `fn` resolves, undone when it rejects (the error is rethrown unchanged). */
  transaction<T>(fn: (tx: AsyncTransaction) => Promise<T> | T): Promise<T>;
  streamNodes(options?: NodeWalkOptions): AsyncGenerator<Node, void, undefined>;
  streamEdges(options?: EdgeWalkOptions): AsyncGenerator<Edge, void, undefined>;
}

const OPERATIONS = Object.getOwnPropertyNames(DatabaseOperations.prototype).filter(
  (name) => name !== 'constructor' && name !== 'run' && name !== 'iterateNodes' && name !== 'iterateEdges',
);

/** The async face of a sync transaction. Savepoints must nest: each is awaited before its parent ends. */
export function asyncTransaction(tx: Transaction): AsyncTransaction {
  const view: Record<string, unknown> = {};
  for (const name of OPERATIONS) {
    const method = (tx as unknown as Record<string, (...args: unknown[]) => unknown>)[name] as (...args: unknown[]) => unknown;
    view[name] = async (...args: unknown[]) => method.apply(tx, args);
  }
  const self = view as unknown as AsyncTransaction;
  let open = 0;
  view.transaction = async <T>(fn: (tx: AsyncTransaction) => Promise<T> | T): Promise<T> => {
    const raw = (tx as unknown as { target(): StorageTransaction }).target();
    settle(() => raw.savepoint());
    const depth = ++open;
    let result: T;
    try {
      result = await fn(self);
      if (open !== depth) throw invalid('a savepoint begun inside this one was not awaited; await every tx.transaction call');
    } catch (e) {
      for (; open >= depth; open--) if (!tx.abandoned) settle(() => raw.endSavepoint(false));
      throw e;
    }
    if (tx.abandoned) {
      open--;
      throw closedInside();
    }
    settle(() => raw.endSavepoint(true));
    open--;
    return result;
  };
  view.streamNodes = async function* (options?: NodeWalkOptions) {
    yield* tx.iterateNodes(options);
  };
  view.streamEdges = async function* (options?: EdgeWalkOptions) {
    yield* tx.iterateEdges(options);
  };
  return self;
}
