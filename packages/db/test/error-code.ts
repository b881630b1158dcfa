import { LoomError } from '@loomdb/db';

/** The code of the LoomError `f` throws; anything else thrown, or nothing, fails the test. */
export function errorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (LoomError.is(e)) return e.code;
    throw e;
  }
  throw new Error('expected a LoomError');
}
