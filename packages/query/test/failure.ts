import { LoomError } from '@loomdb/db';
import { expect } from 'vitest';

/** Runs `fn` (sync or async) and returns the LoomError it throws; fails the test when it throws none. */
export async function failure(fn: () => unknown): Promise<LoomError> {
  try {
    await fn();
  } catch (e) {
    expect(LoomError.is(e)).toBe(true);
    return e as LoomError;
  }
  throw new Error('expected a LoomError');
}
