/**
 * What a plan means, record by record: conditions, result order and the
 * positions cursors hold. The generic executor runs on these; the native
 * engine implements the same rules in `plan.rs` (a differential test holds
 * them equal).
 *
 * @module
 */
import { byteOrder, compareJsonValues as compareScalars, LoomError, valueSatisfies, type JsonValue, type Node } from '@loomdb/db';
import type { Plan, PlanCondition, PlanOrder } from './plan.js';

/** Whether a property value (undefined: missing) satisfies a condition. */
export function holds(value: JsonValue | undefined, { op, value: operand }: PlanCondition): boolean {
  return valueSatisfies(value, op, operand as JsonValue);
}

/** Whether a node passes the plan's type, where and createdBetween parts. */
export function passesRecord(node: Node, plan: Pick<Plan, 'types' | 'where' | 'createdBetween'>): boolean {
  if (plan.types && !plan.types.includes(node.type)) return false;
  if (plan.createdBetween && (node.createdAt < plan.createdBetween.from || node.createdAt > plan.createdBetween.to)) return false;
  return (plan.where ?? []).every((c) => holds(node.properties[c.property], c));
}

/**
 * Where a result sits in its order: `rank` orders kinds of values (0
 * missing, 1 null, 2 boolean, 3 number, 4 string, 5 array or object, which
 * tie), `value` within a kind, `id` breaks ties.
 */
export interface Position {
  rank: number;
  value: JsonValue;
  id: string;
}

function rankOf(v: JsonValue | undefined): number {
  if (v === undefined) return 0;
  if (v === null) return 1;
  if (typeof v === 'boolean') return 2;
  if (typeof v === 'number') return 3;
  if (typeof v === 'string') return 4;
  return 5;
}

/** The default order of a plan. */
export const orderOf = (plan: Pick<Plan, 'orderBy' | 'similar' | 'matches'>): PlanOrder =>
  plan.orderBy ?? (plan.matches ? { key: 'score', direction: 'desc' } : { key: plan.similar ? 'distance' : 'createdAt', direction: 'asc' });

/** A result's position in `order`. */
export function positionOf(order: PlanOrder, item: { node: Node; distance?: number; score?: number }): Position {
  const id = item.node.id;
  if (order.key === 'score') return { rank: 3, value: item.score as number, id };
  if (order.key === 'distance') return { rank: 3, value: item.distance as number, id };
  if (order.key === 'createdAt') return { rank: 3, value: item.node.createdAt, id };
  const v = item.node.properties[order.property as string];
  const rank = rankOf(v);
  return { rank, value: rank === 0 || rank === 5 ? null : (v as JsonValue), id };
}

/** Compares positions in ascending order. */
export function comparePositions(a: Position, b: Position): number {
  return a.rank - b.rank || (a.rank === 5 ? 0 : (compareScalars(a.value, b.value) ?? 0)) || byteOrder(a.id, b.id);
}

// ---- cursors: opaque, tied to the query they came from ----

/** The parts of a plan that fix its result list (not the page size, position or projection). */
function fingerprint(plan: Plan): string {
  const { after: _after, limit: _limit, select: _select, ...query } = plan;
  const text = JSON.stringify(query);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

export function encodeCursor(plan: Plan, position: Position): string {
  return Buffer.from(JSON.stringify({ v: 1, q: fingerprint(plan), p: position })).toString('base64url');
}

/** The position a cursor holds; `INVALID_ARGUMENT` for a foreign or damaged cursor. */
export function decodeCursor(plan: Plan): Position | undefined {
  const cursor = plan.after;
  if (cursor === undefined) return undefined;
  const bad = () => new LoomError('INVALID_ARGUMENT', `plan.after ${JSON.stringify(cursor.slice(0, 60))} is not a cursor of a LoomDB query`);
  let parsed: { v?: unknown; q?: unknown; p?: Partial<Position> };
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const p = parsed?.p;
  if (parsed?.v !== 1 || typeof p !== 'object' || p === null || !Number.isInteger(p.rank) || typeof p.id !== 'string' || !('value' in p)) throw bad();
  if (parsed.q !== fingerprint(plan)) throw new LoomError('INVALID_ARGUMENT', 'plan.after is a cursor of another query (different filters, similarity or order)');
  return { rank: p.rank as number, value: p.value as JsonValue, id: p.id };
}
