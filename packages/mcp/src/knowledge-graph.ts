import { createHash } from 'node:crypto';
import { LoomError, type AsyncEmbeddedDB, type Edge, type EmbeddedDB, type Node } from '@loomdb/db';

/**
 * The reference memory server's knowledge graph (entities with observations,
 * named relations between them) kept as LoomDB nodes and edges, so that
 * several server processes share one database and see each other's writes.
 *
 * Node ids and edge ids are derived from the entity name and the relation's
 * (from, to, relationType) triple: two processes creating the same entity at
 * once collide on the id inside the write transaction instead of storing a
 * duplicate, and open_nodes is a point read per name.
 *
 * @example
 * ```ts
 * const { items } = await query(db).type(KNOWLEDGE_ENTITY).execute();
 * ```
 */

export const KNOWLEDGE_ENTITY = 'KnowledgeEntity';
/**
 * Edge type of knowledge-graph relations.
 *
 * @example
 * ```ts
 * const related = db.neighbors(nodeId, { direction: 'out', edgeTypes: [KNOWLEDGE_RELATION] });
 * ```
 */
export const KNOWLEDGE_RELATION = 'KNOWLEDGE_RELATION';
/** The largest page listNodes returns. */
const SCAN_PAGE = 10_000;

/**
 * A knowledge-graph entity.
 *
 * @example
 * ```ts
 * const ada: Entity = { name: 'Ada Lovelace', entityType: 'person', observations: ['wrote the first program'] };
 * await context.graph.createEntities([ada]);
 * ```
 */
export interface Entity {
  name: string;
  entityType: string;
  observations: string[];
}

/**
 * A knowledge-graph relation.
 *
 * @example
 * ```ts
 * const r: Relation = { from: 'Ada Lovelace', to: 'Analytical Engine', relationType: 'wrote_about' };
 * await context.graph.createRelations([r]);
 * ```
 */
export interface Relation {
  from: string;
  to: string;
  relationType: string;
}

/**
 * Entities and relations.
 *
 * @example
 * ```ts
 * const { entities, relations }: KnowledgeGraph = await context.graph.readGraph();
 * ```
 */
export interface KnowledgeGraph {
  entities: Entity[];
  relations: Relation[];
}

const digest = (s: string) => createHash('sha256').update(s).digest('base64url');
/** Any name fits: ids are at most 256 bytes, names are not bounded. */
export const entityId = (name: string) => `kg:e:${digest(name)}`;
export const relationId = (r: Relation) => `kg:r:${digest(JSON.stringify([r.from, r.to, r.relationType]))}`;

function toEntity(node: Node): Entity {
  const p = node.properties;
  return { name: String(p.name), entityType: String(p.entityType), observations: (p.observations as string[] | undefined) ?? [] };
}

function toRelation(edge: Edge): Relation {
  const p = edge.properties;
  return { from: String(p.from), to: String(p.to), relationType: String(p.relationType) };
}

let lastSeq = 0;
/**
 * A creation order that is total within a process and follows the clock
 * across processes (µs since epoch, bumped on ties; below 2^53 until the year
 * 2255). createdAt alone ties within a millisecond, and results list records
 * in the order they were created, as the reference server does.
 */
function nextSeq(): number {
  lastSeq = Math.max(Date.now() * 1_000, lastSeq + 1);
  return lastSeq;
}

const entityProperties = (e: Entity) => ({ name: e.name, entityType: e.entityType, observations: e.observations, seq: nextSeq() });

/** An entity as search_nodes compares it. */
interface Searchable {
  node: Node;
  name: string;
  entityType: string;
  observations: string[];
}

/** Observations keep their order; a repeated one is stored once, as the reference server's add_observations does. */
const unique = (values: readonly string[]) => [...new Set(values)];

/**
 * Writes are synchronous transactions on an `EmbeddedDB`: an async
 * transaction would hold the writer lock across awaits, and a synchronous
 * write of this process's weaver (another handle) landing then would wait
 * for that lock with the JavaScript thread blocked — a self-deadlock that
 * only the busy timeout ends. Reads go through the `AsyncEmbeddedDB`, off
 * the JavaScript thread.
 *
 * @example
 * ```ts
 * const { graph } = await openContext({ path: './memory.loomdb' });
 * await graph.createEntities([{ name: 'Ada', entityType: 'person', observations: ['mathematician'] }]);
 * const found = await graph.searchNodes('mathematician');
 * ```
 */
export class KnowledgeGraphStore {
  readonly #db: AsyncEmbeddedDB;
  readonly #writer: EmbeddedDB;
  #scan?: { seq: number; entities: Searchable[] };

  constructor(db: AsyncEmbeddedDB, writer: EmbeddedDB) {
    this.#db = db;
    this.#writer = writer;
  }

  /** The entities whose names were new (the rest are left as they are), as the reference server returns them. */
  async createEntities(entities: Entity[]): Promise<Entity[]> {
    return this.#writer.transaction((tx) => {
      const created: Entity[] = [];
      const seen = new Set<string>();
      for (const e of entities) {
        if (seen.has(e.name)) continue;
        seen.add(e.name);
        if (tx.getNode(entityId(e.name))) continue;
        const entity = { name: e.name, entityType: e.entityType, observations: e.observations };
        tx.insertNode({ id: entityId(e.name), type: KNOWLEDGE_ENTITY, properties: entityProperties(entity) });
        created.push(entity);
      }
      return created;
    });
  }

  /**
   * The relations that were new. A LoomDB edge needs both ends, so a relation
   * naming an entity that does not exist is NOT_FOUND and nothing of the call
   * is written (the reference server would store it dangling); with
   * `skipDangling` (the importer) such a relation is left out instead.
   */
  async createRelations(relations: Relation[], options: { skipDangling?: boolean } = {}): Promise<Relation[]> {
    return this.#writer.transaction((tx) => {
      const created: Relation[] = [];
      next: for (const r of relations) {
        const id = relationId(r);
        if (tx.getEdge(id)) continue;
        for (const name of [r.from, r.to]) {
          if (tx.getNode(entityId(name))) continue;
          if (options.skipDangling) continue next;
          throw new LoomError('NOT_FOUND', `Entity with name ${name} not found (relation ${r.from} -${r.relationType}-> ${r.to}); create it first`);
        }
        const relation = { from: r.from, to: r.to, relationType: r.relationType };
        tx.insertEdge({ id, type: KNOWLEDGE_RELATION, from: entityId(r.from), to: entityId(r.to), properties: { ...relation, seq: nextSeq() } });
        created.push(relation);
      }
      return created;
    });
  }

  async addObservations(additions: Array<{ entityName: string; contents: string[] }>): Promise<Array<{ entityName: string; addedObservations: string[] }>> {
    return this.#writer.transaction((tx) => {
      const results: Array<{ entityName: string; addedObservations: string[] }> = [];
      for (const a of additions) {
        const node = tx.getNode(entityId(a.entityName));
        if (!node) throw new LoomError('NOT_FOUND', `Entity with name ${a.entityName} not found`);
        const observations = toEntity(node).observations;
        const added = unique(a.contents).filter((c) => !observations.includes(c));
        tx.updateNode(node.id, { properties: { observations: [...observations, ...added] } });
        results.push({ entityName: a.entityName, addedObservations: added });
      }
      return results;
    });
  }

  /** Deleting an entity deletes its relations too (LoomDB deletes a node's edges with it). Absent names are ignored. */
  async deleteEntities(names: string[]): Promise<void> {
    this.#writer.transaction((tx) => {
      for (const name of names) tx.deleteNode(entityId(name));
    });
  }

  async deleteObservations(deletions: Array<{ entityName: string; observations: string[] }>): Promise<void> {
    this.#writer.transaction((tx) => {
      for (const d of deletions) {
        const node = tx.getNode(entityId(d.entityName));
        if (!node) continue;
        const kept = toEntity(node).observations.filter((o) => !d.observations.includes(o));
        tx.updateNode(node.id, { properties: { observations: kept } });
      }
    });
  }

  async deleteRelations(relations: Relation[]): Promise<void> {
    this.#writer.transaction((tx) => {
      for (const r of relations) tx.deleteEdge(relationId(r));
    });
  }

  /** Every entity and relation, each in the order it was created. */
  async readGraph(): Promise<KnowledgeGraph> {
    const entities: Entity[] = [];
    for await (const node of this.#entities()) entities.push(toEntity(node));
    const relations: Relation[] = [];
    for await (const edge of this.#db.streamEdges({ type: KNOWLEDGE_RELATION })) relations.push(toRelation(edge));
    return { entities, relations };
  }

  /**
   * Entities whose name, type or an observation contains `query`, ignoring
   * case (the reference server's match), and the relations touching them.
   */
  async searchNodes(query: string): Promise<KnowledgeGraph> {
    const q = query.toLowerCase();
    const nodes = (await this.#searchable())
      .filter((e) => e.name.includes(q) || e.entityType.includes(q) || e.observations.some((o) => o.includes(q)))
      .map((e) => e.node);
    return this.#withRelations(nodes);
  }

  /**
   * Every entity with its fields lowercased, scanned again only when the
   * database changed (in any process: the change sequence is the file's):
   * a substring match has no index to use, so repeated searches reuse the scan.
   */
  async #searchable(): Promise<Searchable[]> {
    const seq = await this.#db.changeSequence();
    if (this.#scan?.seq === seq) return this.#scan.entities;
    const entities: Searchable[] = [];
    for await (const node of this.#entities()) {
      const e = toEntity(node);
      entities.push({ node, name: e.name.toLowerCase(), entityType: e.entityType.toLowerCase(), observations: e.observations.map((o) => o.toLowerCase()) });
    }
    // Tagged with the sequence read before the scan: a write during it only makes the next search scan again.
    this.#scan = { seq, entities };
    return entities;
  }

  /** Every entity in creation order, in the largest pages a list call takes (a scan's cost is mostly per call). */
  async *#entities(): AsyncGenerator<Node> {
    let cursor: string | undefined;
    do {
      const page = await this.#db.listNodes({ type: KNOWLEDGE_ENTITY, limit: SCAN_PAGE, ...(cursor ? { cursor } : {}) });
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** The named entities that exist (in creation order) and the relations touching them. */
  async openNodes(names: string[]): Promise<KnowledgeGraph> {
    const nodes: Node[] = [];
    for (const name of unique(names)) {
      const node = await this.#db.getNode(entityId(name));
      if (node) nodes.push(node);
    }
    nodes.sort(byCreation);
    return this.#withRelations(nodes);
  }

  /** Relations with at least one end among `nodes`, read from their adjacency (not a scan of every relation). */
  async #withRelations(nodes: Node[]): Promise<KnowledgeGraph> {
    const edges = new Map<string, Edge>();
    for (const node of nodes) {
      for (const { edge } of await this.#db.neighbors(node.id, { direction: 'both', edgeTypes: [KNOWLEDGE_RELATION] })) edges.set(edge.id, edge);
    }
    return { entities: nodes.map(toEntity), relations: [...edges.values()].sort(byCreation).map(toRelation) };
  }

  async counts(): Promise<{ entities: number; relations: number; observations: number }> {
    const entities = await this.#searchable();
    let relations = 0;
    for await (const _ of this.#db.streamEdges({ type: KNOWLEDGE_RELATION })) relations++;
    return { entities: entities.length, relations, observations: entities.reduce((n, e) => n + e.observations.length, 0) };
  }
}

/** Creation order (see {@link nextSeq}). */
function byCreation(a: Node | Edge, b: Node | Edge): number {
  return Number(a.properties.seq) - Number(b.properties.seq) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
