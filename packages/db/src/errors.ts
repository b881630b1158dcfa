/** Every code a {@link LoomError} can carry. Stable: programs branch on them. */
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

export type LoomErrorCode = (typeof LOOM_ERROR_CODES)[number];

const BRAND = Symbol.for('@loomdb/db/LoomError');

/**
 * The one error type LoomDB throws. `code` is stable; `message` names the
 * offending value or path. Each code also has a subclass (`NotFoundError`, …)
 * for `instanceof`, and `LoomError.is(e)` recognises errors made by another
 * copy of this package.
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

export const NotFoundError = subclass('NOT_FOUND', 'NotFoundError');
export const AlreadyExistsError = subclass('ALREADY_EXISTS', 'AlreadyExistsError');
export const InvalidArgumentError = subclass('INVALID_ARGUMENT', 'InvalidArgumentError');
export const DimensionMismatchError = subclass('DIMENSION_MISMATCH', 'DimensionMismatchError');
export const LockedError = subclass('LOCKED', 'LockedError');
export const ReadOnlyError = subclass('READ_ONLY', 'ReadOnlyError');
export const ClosedError = subclass('CLOSED', 'ClosedError');
export const ConflictError = subclass('CONFLICT', 'ConflictError');
export const BackpressureError = subclass('BACKPRESSURE', 'BackpressureError');
export const CorruptionError = subclass('CORRUPTION', 'CorruptionError');
export const IoError = subclass('IO', 'IoError');
export const UnsupportedError = subclass('UNSUPPORTED', 'UnsupportedError');
export const AbortedError = subclass('ABORTED', 'AbortedError');
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

/** What an operation stopped by `signal` fails with: `ABORTED`, the signal's reason as `cause` and in the message. */
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
