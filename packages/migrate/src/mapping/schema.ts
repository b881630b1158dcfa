import { z } from 'zod';

/**
 * Where a value sits in an exported record: `$key` is the record's primary
 * key (in-line or out-of-line), `$key.1` a part of a compound key, any
 * other path is read from the value, dot-separated, with array indices as
 * segments (`profile.name`, `vectors.0`).
 */
const fieldPath = z.string().min(1).describe('A dot path into the record value (`a.b.c`, `vectors.0`), or `$key` / `$key.<n>` for the primary key or a compound key part.');

const propertyMapping = z.union([
  fieldPath,
  z.strictObject({
    field: fieldPath,
    as: z
      .enum(['string', 'number', 'boolean', 'timestamp', 'json'])
      .optional()
      .describe('Convert to this type; a value that cannot be converted skips the record with a reason. `timestamp` accepts Dates, ms numbers and ISO strings and gives ms since epoch. Default: JSON as decoded.'),
    required: z.boolean().optional().describe('A record without this field is skipped with a reason (default false: the property is left out).'),
    ref: z.string().min(1).optional().describe("The value is a key (or an array of keys) of this store's records: the property holds their LoomDB node ids."),
  }),
]);

const embeddingMapping = z.strictObject({
  field: fieldPath.describe('A Float32Array/Float64Array, number array or ArrayBuffer of float32 values; or an array of them (see `select`).'),
  space: z.string().min(1).describe('The LoomDB embedding space; created on first use when missing.'),
  metric: z.enum(['cosine', 'l2', 'dot']).optional().describe('Metric of the space when it is created. Default cosine.'),
  dimensions: z.number().int().positive().optional().describe('Expected dimensions: a vector of another length skips its record. Default: the first vector seen.'),
  select: z.enum(['first', 'mean']).optional().describe('When the field holds an array of vectors: take the first, or their mean. Default: the field must hold one vector.'),
  required: z.boolean().optional().describe('A record without this vector is skipped with a reason (default false).'),
});

const edgeMapping = z.strictObject({
  type: z.string().min(1),
  property: z.string().min(1).describe('A `ref` property of this store: one edge per node id it holds.'),
  direction: z.enum(['out', 'in']).optional().describe("'out' (default): this record → the referenced one; 'in': the referenced one → this record."),
});

const sequenceMapping = z.strictObject({
  edgeType: z.string().min(1).describe('Edge linking each record to the next, e.g. NEXT.'),
  groupBy: z.string().min(1).describe('Property whose equal values form one chain (e.g. conversationId).'),
  orderBy: z.string().min(1).describe('Property ordering the chain (e.g. timestamp); ties by node id.'),
});

const storeMapping = z.strictObject({
  nodeType: z.string().min(1),
  id: z
    .strictObject({
      field: fieldPath.optional().describe('Where the id comes from. Default `$key`.'),
      prefix: z.string().optional().describe('Prepended to the key to make the node id. Default `<store>:`.'),
    })
    .optional(),
  properties: z.record(z.string().min(1), propertyMapping).optional(),
  embeddings: z.array(embeddingMapping).optional(),
  edges: z.array(edgeMapping).optional(),
  sequence: sequenceMapping.optional(),
  weave: z
    .enum(['message', 'conversation'])
    .optional()
    .describe('With a weaver, submit the records as weaver events of this type (built like live events) instead of writing nodes. `message` needs the properties conversationId (a ref), role, content and timestamp.'),
});

const skipStore = z.strictObject({
  skip: z.literal(true),
  reason: z.string().optional(),
});

/** The zod schema of a {@link Mapping}; `mapping.schema.json` is generated from it. */
export const mappingSchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1),
  stores: z.record(z.string().min(1), z.union([skipStore, storeMapping])),
  unmappedStores: z
    .enum(['error', 'skip'])
    .optional()
    .describe("A store in the export that `stores` does not name: fail before writing anything ('error', default) or skip its records with a reason."),
});

/** How exported stores become LoomDB nodes, properties, embeddings and edges. */
export type Mapping = z.input<typeof mappingSchema>;
/** The mapping of one store that is imported. */
export type StoreMapping = z.output<typeof storeMapping>;
/** A store the mapping leaves out. */
export type SkippedStore = z.output<typeof skipStore>;
export type PropertyMapping = z.output<typeof propertyMapping>;
export type EmbeddingMapping = z.output<typeof embeddingMapping>;
export type EdgeMapping = z.output<typeof edgeMapping>;
export type SequenceMapping = z.output<typeof sequenceMapping>;
