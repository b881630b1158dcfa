import { loomError } from './errors.js';
import type { JsonValue } from './types.js';

/**
 * Strings order bytewise in UTF-8, as in the native engine's keys.
 *
 * @example
 * ```ts
 * ['b', 'a', 'é'].sort(byteOrder); // [ 'a', 'b', 'é' ]
 * ```
 */
export const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * How `where` conditions order two property values, as the native engine
 * does: numbers numerically, strings bytewise, booleans false first;
 * `undefined` when the values are of different kinds (or not scalars), so
 * no range condition holds between them.
 *
 * @example
 * ```ts
 * compareJsonValues(1, 2); // negative
 * compareJsonValues('a', 1); // undefined: different kinds do not compare
 * ```
 */
export function compareJsonValues(a: JsonValue, b: JsonValue): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return byteOrder(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return undefined;
}

/**
 * Equality of property values for `eq`, `ne` and `in`: numbers by value, everything else as JSON.
 *
 * @example
 * ```ts
 * jsonValuesEqual({ a: [1, 2] }, { a: [1, 2] }); // true
 * ```
 */
export const jsonValuesEqual = (a: JsonValue, b: JsonValue): boolean =>
  typeof a === 'number' && typeof b === 'number' ? a === b : JSON.stringify(a) === JSON.stringify(b);

/**
 * Whether a property value (`undefined`: missing) satisfies `op operand`, as
 * the native engine's filters decide it: `eq ne in gt gte lt lte` (range
 * operators hold only between values of one kind), `contains` (substring,
 * or array element), `startsWith` and `exists`. A missing value passes
 * only `ne` and `exists: false`.
 *
 * @example
 * ```ts
 * valueSatisfies(20, 'gte', 18); // true
 * valueSatisfies(undefined, 'eq', 1); // false: a missing property fails
 * ```
 */
export function valueSatisfies(value: JsonValue | undefined, op: string, operand: JsonValue): boolean {
  if (op === 'exists') return (value !== undefined) === operand;
  if (value === undefined) return op === 'ne';
  const c = compareJsonValues(value, operand);
  switch (op) {
    case 'eq':
      return jsonValuesEqual(value, operand);
    case 'ne':
      return !jsonValuesEqual(value, operand);
    case 'in':
      return (operand as JsonValue[]).some((x) => jsonValuesEqual(value, x));
    case 'gt':
      return c !== undefined && c > 0;
    case 'gte':
      return c !== undefined && c >= 0;
    case 'lt':
      return c !== undefined && c < 0;
    case 'lte':
      return c !== undefined && c <= 0;
    case 'contains':
      if (typeof value === 'string') return typeof operand === 'string' && value.includes(operand);
      return Array.isArray(value) && value.some((x) => jsonValuesEqual(x, operand));
    case 'startsWith':
      return typeof value === 'string' && value.startsWith(operand as string);
    default:
      throw loomError('INTERNAL', `unknown condition operator ${op}`); // callers pass validated operators
  }
}
