import type { JsonValue } from './types.js';

/** Strings order bytewise in UTF-8, as in the native engine's keys. */
export const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * How `where` conditions order two property values, as the native engine
 * does: numbers numerically, strings bytewise, booleans false first;
 * `undefined` when the values are of different kinds (or not scalars), so
 * no range condition holds between them.
 */
export function compareJsonValues(a: JsonValue, b: JsonValue): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return byteOrder(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return undefined;
}

/** Equality of property values for `eq`, `ne` and `in`: numbers by value, everything else as JSON. */
export const jsonValuesEqual = (a: JsonValue, b: JsonValue): boolean =>
  typeof a === 'number' && typeof b === 'number' ? a === b : JSON.stringify(a) === JSON.stringify(b);
