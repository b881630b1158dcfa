/**
 * The mapping from IndexedDB stores to the graph, and its validation. A
 * mapping is a typed object in code or a JSON file (schema:
 * `@loomdb/migrate/mapping.schema.json`); `parseMapping` checks either and
 * names the store and field of every problem.
 */
import { LoomError } from '@loomdb/db';
import { z } from 'zod';

/** A field path into a record's value: `'a.b.c'` (dots separate nested fields). */
const fieldPath = z.string().min(1).regex(/^[^.]+(\.[^.]+)*$/u, 'a field path: names separated by single dots, like "a.b.c"');

const propertySource = z.union([
  fieldPath,
  z.object({
    path: fieldPath,
    /** The field holds a key of this store's records: the property becomes that record's node id. */
    ref: z.string().min(1).optional(),
  }).strict(),
]);

const embeddingRule = z.object({
  path: fieldPath,
  space: z.string().min(1),
  /**
   * The field holds an array of vectors. A node has one vector per space, so
   * vector i goes on its own `Embedding` node (`<id>#<i>`, property `owner`)
   * with an `EMBEDDING_OF` edge to this record's node.
   */
  many: z.boolean().optional(),
}).strict();

const edgeRule = z.object({
  /** The field holding the other record's key (or an array of keys). */
  path: fieldPath,
  to: z.string().min(1),
  type: z.string().min(1),
  /** `out` (default): this record → the other; `in`: the other → this one. */
  direction: z.enum(['out', 'in']).optional(),
}).strict();

const nodeStore = z.object({
  type: z.string().min(1),
  /** Target property → source field. */
  properties: z.record(z.string(), propertySource).optional(),
  /** Copy fields not named in `properties` too (JSON-safe). Default false. */
  keepUnmapped: z.boolean().optional(),
  /** Fields a record must have; one missing → the record is skipped and reported. */
  required: z.array(fieldPath).optional(),
  embeddings: z.array(embeddingRule).optional(),
  edges: z.array(edgeRule).optional(),
}).strict();

const embeddingStore = z.object({
  /** This store holds vectors of another store's records, not nodes of its own. */
  embeddingsOf: z.string().min(1),
  /** The field holding the owning record's key. */
  ownerKey: fieldPath,
  path: fieldPath,
  space: z.string().min(1),
  many: z.boolean().optional(),
}).strict();

const skipStore = z.object({ skip: z.literal(true), reason: z.string().optional() }).strict();

/**
 * The zod schema of a mapping.
 *
 * @example
 * ```ts
 * const result = mappingSchema.safeParse(JSON.parse(readFileSync('./mapping.json', 'utf8')));
 * if (!result.success) console.error(result.error.issues);
 * ```
 */
export const mappingSchema = z.object({
  $schema: z.string().optional(),
  version: z.literal(1),
  stores: z.record(z.string(), z.union([skipStore, embeddingStore, nodeStore])),
  /** What to do with a store the mapping does not name: `'error'` (default) or `'skip'`. */
  unmappedStores: z.enum(['error', 'skip']).optional(),
}).strict();

/**
 * How stores become nodes.
 *
 * @example
 * ```ts
 * const mapping: Mapping = {
 *   version: 1,
 *   unmappedStores: 'skip',
 *   stores: { notes: { type: 'Note', required: ['text'], properties: { text: 'text' } } },
 * };
 * await importIndexedDBExport(db, './notes.ndjson', { mapping });
 * ```
 */
export type Mapping = z.infer<typeof mappingSchema>;
/**
 * The mapping of one store.
 *
 * @example
 * ```ts
 * const notes: StoreMapping = { type: 'Note', properties: { text: 'body', createdAt: 'created' } };
 * ```
 */
export type StoreMapping = Mapping['stores'][string];
export type NodeStoreMapping = z.infer<typeof nodeStore>;
export type EmbeddingStoreMapping = z.infer<typeof embeddingStore>;
export type SkipStoreMapping = z.infer<typeof skipStore>;

export const isSkip = (m: StoreMapping): m is SkipStoreMapping => 'skip' in m;
export const isEmbeddingStore = (m: StoreMapping): m is EmbeddingStoreMapping => 'embeddingsOf' in m;

function issuePath(path: readonly PropertyKey[]): string {
  if (path[0] === 'stores' && path.length >= 2) {
    const rest = path.slice(2).map(String).join('.');
    return `store "${String(path[1])}"${rest ? ` field "${rest}"` : ''}`;
  }
  return path.length > 0 ? `field "${path.map(String).join('.')}"` : 'the mapping';
}

/**
 * Validates a mapping (object or parsed JSON): `INVALID_ARGUMENT` naming each bad store and field.
 *
 * @example
 * ```ts
 * const mapping = parseMapping(JSON.parse(readFileSync('./mapping.json', 'utf8'))); // INVALID_ARGUMENT naming store and field
 * ```
 */
export function parseMapping(input: unknown): Mapping {
  const result = mappingSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`);
    throw new LoomError('INVALID_ARGUMENT', `invalid migration mapping: ${problems.join('; ')}`);
  }
  const mapping = result.data;
  const stores = Object.keys(mapping.stores);
  for (const [store, rule] of Object.entries(mapping.stores)) {
    const targets = isSkip(rule) ? [] : isEmbeddingStore(rule)
      ? [['embeddingsOf', rule.embeddingsOf] as const]
      : [
        ...Object.entries(rule.properties ?? {}).flatMap(([p, s]) => (typeof s === 'object' && s.ref ? [[`properties.${p}.ref`, s.ref] as const] : [])),
        ...(rule.edges ?? []).map((e, i) => [`edges.${i}.to`, e.to] as const),
      ];
    for (const [field, target] of targets) {
      if (!stores.includes(target)) throw new LoomError('INVALID_ARGUMENT', `invalid migration mapping: store "${store}" field "${field}" names store "${target}", which the mapping does not map`);
      const rule2 = mapping.stores[target]!;
      if (isSkip(rule2) || isEmbeddingStore(rule2)) throw new LoomError('INVALID_ARGUMENT', `invalid migration mapping: store "${store}" field "${field}" names store "${target}", which makes no nodes`);
    }
  }
  return mapping;
}

/**
 * The legacy extension's layout (see the guide):
 * - `conversations` `{ id, title?, source?, createdAt? }` → `Conversation`
 * - `messages` `{ id, conversationId, role, content, timestamp, source?, entityIds? }` → `Message`,
 *   `IN_CONVERSATION` to its conversation, `MENTIONS` to each entity
 * - `entities` `{ id, name, kind }` → `Entity`
 * - `embeddings` `{ id, messageId, vector }` → the message's vector in space `legacy`
 *
 * @example
 * ```ts
 * await importIndexedDBExport(db, './memory.ndjson', { mapping: DEFAULT_MAPPING }); // the same as mapping: 'default'
 * console.log(Object.keys(DEFAULT_MAPPING.stores));
 * ```
 */
export const DEFAULT_MAPPING: Mapping = {
  version: 1,
  unmappedStores: 'skip',
  stores: {
    conversations: {
      type: 'Conversation',
      properties: { title: 'title', source: 'source', startedAt: 'createdAt' },
    },
    entities: {
      type: 'Entity',
      required: ['name'],
      properties: { name: 'name', kind: 'kind' },
    },
    messages: {
      type: 'Message',
      required: ['conversationId', 'content', 'timestamp'],
      properties: {
        conversationId: { path: 'conversationId', ref: 'conversations' },
        role: 'role',
        content: 'content',
        timestamp: 'timestamp',
        source: 'source',
      },
      edges: [
        { path: 'conversationId', to: 'conversations', type: 'IN_CONVERSATION' },
        { path: 'entityIds', to: 'entities', type: 'MENTIONS' },
      ],
    },
    embeddings: { embeddingsOf: 'messages', ownerKey: 'messageId', path: 'vector', space: 'legacy' },
  },
};

/** Reads `a.b.c` from a value (through objects and Maps); `undefined` when any step is missing. */
export function readPath(value: unknown, path: string): unknown {
  let current = value;
  for (const step of path.split('.')) {
    if (current instanceof Map) current = current.get(step);
    else if (current !== null && typeof current === 'object') current = (current as Record<string, unknown>)[step];
    else return undefined;
  }
  return current;
}

/**
 * The JSON Schema of a mapping file (published as `@loomdb/migrate/mapping.schema.json`).
 *
 * @example
 * ```ts
 * writeFileSync('./mapping.schema.json', JSON.stringify(mappingJsonSchema(), null, 2)); // for editors' validation
 * ```
 */
export function mappingJsonSchema(): Record<string, unknown> {
  return { ...z.toJSONSchema(mappingSchema), title: 'LoomDB IndexedDB migration mapping' };
}
