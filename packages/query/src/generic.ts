/**
 * The generic executor: runs a plan on any backend through the record-level
 * reads every LoomDB database offers (`traverse`, `listNodes`,
 * `searchVectors`, `getNode`, `stats`). Backends without `nativeQuery` run
 * plans here; results equal the native engine's.
 *
 * @module
 */
import { LoomError, type ListPage, type Node, type NodeListOptions, type Reached, type SearchHit, type SearchOptions, type Stats, type TraverseOptions, type Vector, type Where } from '@loomdb/db';
import type { ExecutablePlan, Execution, QueryItem, Stage } from './executor.js';
import type { PlanGraphFilter } from './plan.js';
import { comparePositions, passesRecord, positionOf } from './semantics.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * The reads the generic executor needs; `EmbeddedDB` and `AsyncEmbeddedDB` both have them.
 *
 * @example
 * ```ts
 * // EmbeddedDB and AsyncEmbeddedDB are RecordSources; so is anything with their read methods.
 * const source: RecordSource = db;
 * await executeGeneric(source, plan);
 * ```
 */
export interface RecordSource {
  getNode(id: string): MaybePromise<Node | null>;
  listNodes(options: NodeListOptions): MaybePromise<ListPage<Node>>;
  traverse(startId: string, options: TraverseOptions): MaybePromise<Reached[]>;
  searchVectors(vector: Vector, options: SearchOptions): MaybePromise<SearchHit[]>;
  stats(): MaybePromise<Stats>;
}

const REVERSE = { out: 'in', in: 'out', both: 'both' } as const;
const PAGE = 10_000;

/** Conditions `listNodes` can apply itself (the rest are tested here). */
const PUSHED = new Set(['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte']);

interface Reach {
  anchors: number;
  hops: Map<string, number>;
  nodes: Map<string, Node>;
}

/** The ids of a graph filter's anchors that exist. */
async function anchorsOf(db: RecordSource, g: PlanGraphFilter): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const id of g.anchors ?? []) if (await db.getNode(id)) ids.add(id);
  if (g.anchorMatch) for await (const node of scan(db, g.anchorMatch)) if (passesRecord(node, g.anchorMatch)) ids.add(node.id);
  return ids;
}

/** Nodes within `maxHops` of any anchor, walking edges backwards from them; anchors excluded. */
async function reach(db: RecordSource, g: PlanGraphFilter): Promise<Reach> {
  const hops = new Map<string, number>();
  const nodes = new Map<string, Node>();
  const anchors = await anchorsOf(db, g);
  for (const anchor of anchors) {
    const walk = await db.traverse(anchor, { direction: REVERSE[g.direction], edgeTypes: g.edgeTypes, maxDepth: g.maxHops });
    for (const { node, depth } of walk) {
      if (!(hops.get(node.id)! <= depth)) hops.set(node.id, depth);
      nodes.set(node.id, node);
    }
  }
  for (const anchor of anchors) {
    hops.delete(anchor);
    nodes.delete(anchor);
  }
  return { anchors: anchors.size, hops, nodes };
}

/** Nodes of the types whose pushable conditions hold, a page at a time (the rest is for the caller to test). */
async function* scan(db: RecordSource, plan: Pick<ExecutablePlan, 'types' | 'where'>): AsyncGenerator<Node> {
  const where: Where = {};
  for (const c of plan.where ?? []) {
    const ops = (where[c.property] ?? {}) as Record<string, unknown>;
    if (PUSHED.has(c.op) && !(c.op in ops)) where[c.property] = { ...ops, [c.op]: c.value } as Where[string];
  }
  let cursor: string | undefined;
  do {
    const page = await db.listNodes({ type: plan.types, where, limit: PAGE, cursor });
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor);
}

/**
 * Runs `plan` through `db`'s record-level reads.
 *
 * @example
 * ```ts
 * const plan: ExecutablePlan = { version: PLAN_VERSION, types: ['Note'], order: { key: 'createdAt', direction: 'asc' }, limit: 10 };
 * const { items, strategy } = await executeGeneric(db, plan); // the same results as the native engine
 * ```
 */
export async function executeGeneric(db: RecordSource, plan: ExecutablePlan): Promise<Execution> {
  const stages: Stage[] = [];
  const stats = await db.stats();
  let clock = performance.now();
  const lap = (stage: string, actual: number, estimated: number | null, detail?: string) => {
    const now = performance.now();
    stages.push({ stage, detail, estimated, actual, timeMs: now - clock });
    clock = now;
  };

  const averageDegree = stats.nodes === 0 ? 0 : stats.edges / stats.nodes;
  const reaches: Reach[] = [];
  for (const g of plan.graph ?? []) {
    const r = await reach(db, g);
    const estimate = Math.min(stats.nodes, Math.round(r.anchors * Math.max(1, averageDegree) ** g.maxHops));
    lap(g.negate ? 'graph-exclude' : 'graph', r.hops.size, estimate, `${r.anchors} anchor(s), ${g.direction}, ≤${g.maxHops} hops`);
    reaches.push(r);
  }
  const positive = (plan.graph ?? []).map((g, i) => [g, reaches[i]!] as const).filter(([g]) => !g.negate);
  const first = positive[0]?.[1];
  const passes = (node: Node) =>
    passesRecord(node, plan) && (plan.graph ?? []).every((g, i) => reaches[i]!.hops.has(node.id) !== g.negate);
  const item = (node: Node, distance?: number): QueryItem => {
    const it: QueryItem = { node };
    if (distance !== undefined) it.distance = distance;
    if (first) it.hops = first.hops.get(node.id) as number;
    return it;
  };

  let items: QueryItem[];
  let source: string;
  const filtered = plan.types !== undefined || (plan.where ?? []).length > 0 || plan.createdBetween !== undefined || (plan.graph ?? []).length > 0;
  const similar = plan.similar;
  if (similar?.embeddedBy !== undefined) {
    const recorded = stats.spaces.find((s) => s.name === similar.space)?.embedder;
    if (recorded !== similar.embeddedBy) {
      throw new LoomError('CONFLICT', `the text was embedded by "${similar.embeddedBy}" but space "${similar.space}" records the embedder ${recorded === undefined ? 'none' : `"${recorded}"`}`);
    }
  }
  if (similar && !filtered) {
    // Nothing to filter: the backend's own search over the whole space.
    source = 'vector-search';
    const hits = await db.searchVectors(similar.vector, { space: similar.space, k: similar.k, ...(similar.exact ? { exact: true } : {}) });
    items = [];
    for (const hit of hits) {
      const node = await db.getNode(hit.id);
      if (node) items.push(item(node, hit.distance));
    }
    lap('knn', items.length, Math.min(similar.k, stats.nodes), `space ${similar.space}, k=${similar.k}`);
  } else {
    let candidates: Iterable<Node> | AsyncIterable<Node>;
    if (positive.length > 0) {
      source = 'graph';
      candidates = positive.map(([, r]) => r).reduce((a, b) => (b.nodes.size < a.nodes.size ? b : a)).nodes.values();
    } else {
      source = 'scan';
      candidates = scan(db, plan);
    }
    const kept: Node[] = [];
    for await (const node of candidates) if (passes(node)) kept.push(node);
    lap('filter', kept.length, null, source === 'scan' ? 'listNodes pages' : 'graph candidates');
    if (similar) {
      const byId = new Map(kept.map((n) => [n.id, n]));
      const hits = byId.size === 0 ? [] : await db.searchVectors(similar.vector, { space: similar.space, k: similar.k, filter: { ids: [...byId.keys()] } });
      items = hits.map((h) => item(byId.get(h.id) as Node, h.distance));
      lap('knn', items.length, Math.min(similar.k, kept.length), `space ${similar.space}, k=${similar.k}, exact over the filtered set`);
    } else {
      items = kept.map((n) => item(n));
    }
  }
  if (similar?.maxDistance !== undefined) items = items.filter((it) => (it.distance as number) <= (similar.maxDistance as number));

  const sign = plan.order.direction === 'desc' ? -1 : 1;
  const keyed = items.map((it) => ({ it, at: positionOf(plan.order, it) }));
  keyed.sort((a, b) => sign * comparePositions(a.at, b.at));
  const start = plan.position ? keyed.filter((k) => sign * comparePositions(k.at, plan.position!) > 0) : keyed;
  const page = start.slice(0, plan.limit ?? start.length).map((k) => k.it);
  lap('order', page.length, null, `${plan.order.key === 'property' ? plan.order.property : plan.order.key} ${plan.order.direction}`);
  const strategy = [source, ...(similar ? [source === 'vector-search' ? 'knn' : 'exact-knn'] : []), 'order'].join(' → ');
  return { items: page, more: start.length > page.length, strategy, stages };
}
