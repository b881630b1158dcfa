/**
 * Every code a {@link LoomError} can carry. Stable: programs branch on them.
 *
 * @example
 * ```ts
 * if ((LOOM_ERROR_CODES as readonly string[]).includes(code)) console.log('a LoomDB error code');
 * ```
 */
export const LOOM_ERROR_CODES = [
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'INVALID_ARGUMENT',
  'DIMENSION_MISMATCH',
  'LOCKED',
  'READ_ONLY',
  'CLOSED',
  'CONFLICT',
  'BACKPRESSURE',
  'CORRUPTION',
  'IO',
  'UNSUPPORTED',
  'ABORTED',
  'INTERNAL',
] as const;

/**
 * A `LoomError` code.
 *
 * @example
 * ```ts
 * const code: LoomErrorCode = 'NOT_FOUND';
 * ```
 */
export type LoomErrorCode = (typeof LOOM_ERROR_CODES)[number];

const BRAND = Symbol.for('@loomdb/db/LoomError');

/**
 * The one error type LoomDB throws. `code` is stable; `message` names the
 * offending value or path. Each code also has a subclass (`NotFoundError`, …)
 * for `instanceof`, and `LoomError.is(e)` recognises errors made by another
 * copy of this package.
 *
 * @example
 * ```ts
 * try {
 *   db.insertEdge({ type: 'KNOWS', from: 'nobody', to: 'nobody-else' });
 * } catch (e) {
 *   if (LoomError.is(e) && e.code === 'NOT_FOUND') console.log(e.message); // names the missing id
 * }
 * ```
 */
export class LoomError extends Error {
  readonly code: LoomErrorCode;

  constructor(code: LoomErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'LoomError';
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for any LoomError, including ones from a duplicate package copy. */
  static is(value: unknown): value is LoomError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === LoomError) return LoomError.is(value);
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

function subclass<C extends LoomErrorCode>(code: C, name: string) {
  const Class = class extends LoomError {
    constructor(message: string, options?: { cause?: unknown }) {
      super(code, message, options);
      this.name = name;
    }
    static override [Symbol.hasInstance](value: unknown): boolean {
      return LoomError.is(value) && value.code === code;
    }
  };
  Object.defineProperty(Class, 'name', { value: name });
  return Class;
}

/**
 * The `LoomError` subclass for `NOT_FOUND`: a write names a node or edge that does not exist. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   db.insertEdge({ type: 'KNOWS', from: 'ghost', to: 'ada' });
 * } catch (e) {
 *   if (e instanceof NotFoundError) console.log(e.code); // 'NOT_FOUND'
 * }
 * ```
 */
export const NotFoundError = subclass('NOT_FOUND', 'NotFoundError');
/**
 * The `LoomError` subclass for `ALREADY_EXISTS`: an id is taken, or a restore target is not empty. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   db.insertNode({ id: 'ada', type: 'Person' }) // a second time;
 * } catch (e) {
 *   if (e instanceof AlreadyExistsError) console.log(e.code); // 'ALREADY_EXISTS'
 * }
 * ```
 */
export const AlreadyExistsError = subclass('ALREADY_EXISTS', 'AlreadyExistsError');
/**
 * The `LoomError` subclass for `INVALID_ARGUMENT`: bad input; the message names the argument. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   db.searchVectors([NaN, 0, 0]);
 * } catch (e) {
 *   if (e instanceof InvalidArgumentError) console.log(e.code); // 'INVALID_ARGUMENT'
 * }
 * ```
 */
export const InvalidArgumentError = subclass('INVALID_ARGUMENT', 'InvalidArgumentError');
/**
 * The `LoomError` subclass for `DIMENSION_MISMATCH`: a vector of the wrong length for its space. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   db.insertEmbedding(nodeId, [1, 2]) // in a 3-d space;
 * } catch (e) {
 *   if (e instanceof DimensionMismatchError) console.log(e.code); // 'DIMENSION_MISMATCH'
 * }
 * ```
 */
export const DimensionMismatchError = subclass('DIMENSION_MISMATCH', 'DimensionMismatchError');
/**
 * The `LoomError` subclass for `LOCKED`: another writer or process holds what the call needs, past `busyTimeoutMs`. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   db.compact() // while another process has the database open;
 * } catch (e) {
 *   if (e instanceof LockedError) console.log(e.code); // 'LOCKED'
 * }
 * ```
 */
export const LockedError = subclass('LOCKED', 'LockedError');
/**
 * The `LoomError` subclass for `READ_ONLY`: a write on a handle opened with `readOnly: true`. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   EmbeddedDB.open(path, { readOnly: true }).insertNode({ type: 'Note' });
 * } catch (e) {
 *   if (e instanceof ReadOnlyError) console.log(e.code); // 'READ_ONLY'
 * }
 * ```
 */
export const ReadOnlyError = subclass('READ_ONLY', 'ReadOnlyError');
/**
 * The `LoomError` subclass for `CLOSED`: a call on a closed handle. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   db.close(); db.getNode('ada');
 * } catch (e) {
 *   if (e instanceof ClosedError) console.log(e.code); // 'CLOSED'
 * }
 * ```
 */
export const ClosedError = subclass('CLOSED', 'ClosedError');
/**
 * The `LoomError` subclass for `CONFLICT`: a conditional write whose condition no longer holds, or a queue step by a holder that lost its lease. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   db.writeBatch(batch, { ifChangeSequence: staleSequence });
 * } catch (e) {
 *   if (e instanceof ConflictError) console.log(e.code); // 'CONFLICT'
 * }
 * ```
 */
export const ConflictError = subclass('CONFLICT', 'ConflictError');
/**
 * The `LoomError` subclass for `BACKPRESSURE`: a full inbox refuses more work. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   await weaver.submitEvent(event) // with maxPending reached;
 * } catch (e) {
 *   if (e instanceof BackpressureError) console.log(e.code); // 'BACKPRESSURE'
 * }
 * ```
 */
export const BackpressureError = subclass('BACKPRESSURE', 'BackpressureError');
/**
 * The `LoomError` subclass for `CORRUPTION`: damaged data: a bad checksum, page structure or backup. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   EmbeddedDB.restore('./damaged-backup', './memory.loomdb');
 * } catch (e) {
 *   if (e instanceof CorruptionError) console.log(e.code); // 'CORRUPTION'
 * }
 * ```
 */
export const CorruptionError = subclass('CORRUPTION', 'CorruptionError');
/**
 * The `LoomError` subclass for `IO`: the operating system refused a read or write. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   EmbeddedDB.open('/proc/not-a-database');
 * } catch (e) {
 *   if (e instanceof IoError) console.log(e.code); // 'IO'
 * }
 * ```
 */
export const IoError = subclass('IO', 'IoError');
/**
 * The `LoomError` subclass for `UNSUPPORTED`: the backend or format cannot do this. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   EmbeddedDB.open(path, { storage: 'memory' }).backup('./b');
 * } catch (e) {
 *   if (e instanceof UnsupportedError) console.log(e.code); // 'UNSUPPORTED'
 * }
 * ```
 */
export const UnsupportedError = subclass('UNSUPPORTED', 'UnsupportedError');
/**
 * The `LoomError` subclass for `ABORTED`: an `AbortSignal` stopped the call; nothing was written. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   await adb.insertNodesBatch(nodes, { signal: AbortSignal.abort() });
 * } catch (e) {
 *   if (e instanceof AbortedError) console.log(e.code); // 'ABORTED'
 * }
 * ```
 */
export const AbortedError = subclass('ABORTED', 'AbortedError');
/**
 * The `LoomError` subclass for `INTERNAL`: a bug in LoomDB (a Rust panic becomes this, never a crash); please report it. `instanceof` works across duplicate package copies.
 *
 * @example
 * ```ts
 * try {
 *   // any call, should LoomDB itself fail;
 * } catch (e) {
 *   if (e instanceof InternalError) console.log(e.code); // 'INTERNAL'
 * }
 * ```
 */
export const InternalError = subclass('INTERNAL', 'InternalError');

const BY_CODE: Record<LoomErrorCode, new (message: string, options?: { cause?: unknown }) => LoomError> = {
  NOT_FOUND: NotFoundError,
  ALREADY_EXISTS: AlreadyExistsError,
  INVALID_ARGUMENT: InvalidArgumentError,
  DIMENSION_MISMATCH: DimensionMismatchError,
  LOCKED: LockedError,
  READ_ONLY: ReadOnlyError,
  CLOSED: ClosedError,
  CONFLICT: ConflictError,
  BACKPRESSURE: BackpressureError,
  CORRUPTION: CorruptionError,
  IO: IoError,
  UNSUPPORTED: UnsupportedError,
  ABORTED: AbortedError,
  INTERNAL: InternalError,
};

/** Creates the subclass instance for `code`. */
export function loomError(code: LoomErrorCode, message: string, cause?: unknown): LoomError {
  return new BY_CODE[code](message, cause === undefined ? undefined : { cause });
}

/**
 * Turns anything thrown below the public API into a LoomError: native engine
 * errors keep their code; anything else is `INTERNAL`, with the original as
 * `cause`.
 */
export function toLoomError(error: unknown): LoomError {
  if (LoomError.is(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && (LOOM_ERROR_CODES as readonly string[]).includes(code)) {
    return loomError(code as LoomErrorCode, message);
  }
  return loomError('INTERNAL', `unexpected failure: ${message}`, error);
}

/**
 * What an operation stopped by `signal` fails with: `ABORTED`, the signal's reason as `cause` and in the message.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * controller.abort();
 * const error = abortedError(controller.signal); // a LoomError with the signal's reason
 * ```
 */
export function abortedError(signal: AbortSignal): LoomError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? reason.message : String(reason);
  return loomError('ABORTED', `the operation was aborted: ${why}`, reason);
}

/** Throws {@link abortedError} when `signal` has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

export function invalid(message: string): LoomError {
  return loomError('INVALID_ARGUMENT', message);
}
