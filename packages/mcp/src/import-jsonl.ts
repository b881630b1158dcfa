import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { LoomError } from '@loomdb/db';
import { entityId, relationId, type Entity, type KnowledgeGraphStore, type Relation } from './knowledge-graph.js';
import type { AsyncEmbeddedDB } from '@loomdb/db';

/**
 * What an import did.
 *
 * @example
 * ```ts
 * const { entities, relations, verified }: ImportReport = await importMemoryFile(context.db, context.graph, './memory.json');
 * ```
 */
export interface ImportReport {
  entities: { inFile: number; created: number; merged: number };
  relations: { inFile: number; created: number; existing: number; dangling: number };
  /** Every entity and every relation with both ends was found in the database afterwards. */
  verified: true;
}

const BATCH = 1_000;

/**
 * The entities and relations of a reference-server memory file (one JSON object a line), each name or triple once, first wins.
 *
 * @example
 * ```ts
 * const { entities, relations } = await readMemoryFile('./memory.json');
 * console.log(entities.length, relations.length);
 * ```
 */
export async function readMemoryFile(file: string): Promise<{ entities: Entity[]; relations: Relation[] }> {
  const entities = new Map<string, Entity>();
  const relations = new Map<string, Relation>();
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    let item: Record<string, unknown>;
    try {
      item = JSON.parse(line);
    } catch (e) {
      throw new LoomError('INVALID_ARGUMENT', `${file}:${n} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (item.type === 'entity') {
      const { name, entityType, observations } = item;
      if (typeof name !== 'string' || typeof entityType !== 'string' || !Array.isArray(observations) || !observations.every((o) => typeof o === 'string')) {
        throw new LoomError('INVALID_ARGUMENT', `${file}:${n}: an entity needs name, entityType (strings) and observations (strings)`);
      }
      if (!entities.has(name)) entities.set(name, { name, entityType, observations });
    } else if (item.type === 'relation') {
      const { from, to, relationType } = item;
      if (typeof from !== 'string' || typeof to !== 'string' || typeof relationType !== 'string') {
        throw new LoomError('INVALID_ARGUMENT', `${file}:${n}: a relation needs from, to and relationType (strings)`);
      }
      const r = { from, to, relationType };
      relations.set(relationId(r), r);
    } else {
      throw new LoomError('INVALID_ARGUMENT', `${file}:${n}: type must be "entity" or "relation", got ${JSON.stringify(item.type)}`);
    }
  }
  return { entities: [...entities.values()], relations: [...relations.values()] };
}

/**
 * Imports a memory file of @modelcontextprotocol/server-memory. Entities
 * that already exist get the file's observations they lack; relations whose
 * entity is in neither the file nor the database cannot be an edge and are
 * counted as dangling. Afterwards every record is looked up again.
 *
 * @example
 * ```ts
 * const context = await openContext({ path: './memory.loomdb' });
 * const report = await importMemoryFile(context.db, context.graph, './memory.json'); // idempotent: a second run creates nothing
 * ```
 */
export async function importMemoryFile(db: AsyncEmbeddedDB, graph: KnowledgeGraphStore, file: string): Promise<ImportReport> {
  const { entities, relations } = await readMemoryFile(file);
  let created = 0;
  let merged = 0;
  for (let i = 0; i < entities.length; i += BATCH) {
    const batch = entities.slice(i, i + BATCH);
    const fresh = new Set((await graph.createEntities(batch)).map((e) => e.name));
    created += fresh.size;
    const old = batch.filter((e) => !fresh.has(e.name));
    merged += old.length;
    if (old.length) await graph.addObservations(old.map((e) => ({ entityName: e.name, contents: e.observations })));
  }
  let createdRelations = 0;
  for (let i = 0; i < relations.length; i += BATCH) {
    createdRelations += (await graph.createRelations(relations.slice(i, i + BATCH), { skipDangling: true })).length;
  }
  for (const e of entities) {
    if (!(await db.getNode(entityId(e.name)))) throw new LoomError('INTERNAL', `import check: entity ${JSON.stringify(e.name)} is missing after the import`);
  }
  let present = 0;
  let dangling = 0;
  for (const r of relations) {
    if (await db.getEdge(relationId(r))) present++;
    else if ((await db.getNode(entityId(r.from))) && (await db.getNode(entityId(r.to)))) throw new LoomError('INTERNAL', `import check: relation ${r.from} -${r.relationType}-> ${r.to} is missing after the import`);
    else dangling++;
  }
  return {
    entities: { inFile: entities.length, created, merged },
    relations: { inFile: relations.length, created: createdRelations, existing: present - createdRelations, dangling },
    verified: true,
  };
}
