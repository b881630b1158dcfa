/**
 * One exported record → the writes the mapping asks for, or the reason it
 * cannot be imported. Pure: existence checks come in through `exists`.
 */
import { normalizeEntityName, NodeTypes } from '@loomdb/query/memory';
import type { EdgeInput, EmbeddingInput, NodeInput, Properties } from '@loomdb/db';
import { decodeValue } from '../format/tagged.js';
import type { ExportedRecord } from '../format/messages.js';
import { nodeIdFor, nodeIdForValue } from './keys.js';
import { readPath, type EmbeddingStoreMapping, type NodeStoreMapping } from './mapping.js';
import { toPropertyValue, toVector } from './properties.js';

export const MULTI_VECTOR_TYPE = 'Embedding';
export const MULTI_VECTOR_EDGE = 'EMBEDDING_OF';

export interface RecordWrites {
  nodes: NodeInput[];
  edges: EdgeInput[];
  embeddings: EmbeddingInput[];
  /** Parts left out (an edge to a record that is not there), reported without skipping the record. */
  notes: string[];
}

export type RecordPlan = { ok: true; writes: RecordWrites } | { ok: false; reason: string };

export const edgeIdFor = (type: string, from: string, to: string): string => `idb-edge:${type}:${from}->${to}`;

function vectorsAt(value: unknown, path: string, many: boolean | undefined): Float32Array[] | string {
  const field = readPath(value, path);
  if (field === undefined || field === null) return [];
  if (many) {
    if (!Array.isArray(field)) return `field "${path}" is not an array of vectors`;
    const vectors = field.map(toVector);
    const bad = vectors.findIndex((v) => v === undefined);
    return bad >= 0 ? `field "${path}.${bad}" is not a vector` : (vectors as Float32Array[]);
  }
  const vector = toVector(field);
  return vector ? [vector] : `field "${path}" is not a vector (a typed array or an array of numbers)`;
}

function embeddingWrites(nodeId: string, vectors: Float32Array[], space: string, many: boolean | undefined, writes: RecordWrites): void {
  if (!many) {
    if (vectors[0]) writes.embeddings.push({ nodeId, vector: vectors[0], space });
    return;
  }
  vectors.forEach((vector, i) => {
    const id = `${nodeId}#${i}`;
    writes.nodes.push({ id, type: MULTI_VECTOR_TYPE, properties: { owner: nodeId, index: i, space } });
    writes.edges.push({ id: edgeIdFor(MULTI_VECTOR_EDGE, id, nodeId), type: MULTI_VECTOR_EDGE, from: id, to: nodeId });
    writes.embeddings.push({ nodeId: id, vector, space });
  });
}

/** The memory vocabulary's derived Entity properties, so `searchByEntity` finds imported entities. */
function withEntityIdentity(properties: Properties): void {
  if (typeof properties.name !== 'string') return;
  const kind = typeof properties.kind === 'string' ? properties.kind : 'unknown';
  properties.kind = kind;
  properties.normalizedName ??= normalizeEntityName(properties.name);
  properties.key ??= `${kind}:${properties.normalizedName as string}`;
}

export function planNodeRecord(store: string, rule: NodeStoreMapping, record: ExportedRecord, exists: (id: string) => boolean): RecordPlan {
  const value = decodeValue(record.value);
  const id = nodeIdFor(store, record.key);
  for (const field of rule.required ?? []) {
    const v = readPath(value, field);
    if (v === undefined || v === null) return { ok: false, reason: `store "${store}": required field "${field}" is missing` };
  }
  const properties: Properties = {};
  if (rule.keepUnmapped && value !== null && typeof value === 'object') {
    const all = toPropertyValue(value);
    if (all && typeof all === 'object' && !Array.isArray(all)) Object.assign(properties, all);
  }
  for (const [target, source] of Object.entries(rule.properties ?? {})) {
    const path = typeof source === 'string' ? source : source.path;
    const raw = readPath(value, path);
    if (raw === undefined) continue;
    if (typeof source === 'object' && source.ref) {
      properties[target] = nodeIdForValue(source.ref, raw);
      continue;
    }
    const converted = toPropertyValue(raw);
    if (converted === undefined) return { ok: false, reason: `store "${store}": field "${path}" has no JSON value (${String(raw)})` };
    properties[target] = converted;
  }
  if (rule.type === NodeTypes.Entity) withEntityIdentity(properties);
  if (rule.type === NodeTypes.Message) properties.eventId ??= id;
  const writes: RecordWrites = { nodes: [{ id, type: rule.type, properties }], edges: [], embeddings: [], notes: [] };
  for (const e of rule.embeddings ?? []) {
    const vectors = vectorsAt(value, e.path, e.many);
    if (typeof vectors === 'string') return { ok: false, reason: `store "${store}": ${vectors}` };
    embeddingWrites(id, vectors, e.space, e.many, writes);
  }
  for (const e of rule.edges ?? []) {
    const raw = readPath(value, e.path);
    if (raw === undefined || raw === null) continue;
    // An array field is a list of keys (a list of arrays: of compound keys).
    const keys = Array.isArray(raw) ? raw : [raw];
    for (const key of keys) {
      const other = nodeIdForValue(e.to, key);
      if (!exists(other)) {
        writes.notes.push(`store "${store}" field "${e.path}": no ${e.to} record with key ${JSON.stringify(key)}, edge ${e.type} left out`);
        continue;
      }
      const [from, to] = e.direction === 'in' ? [other, id] : [id, other];
      writes.edges.push({ id: edgeIdFor(e.type, from, to), type: e.type, from, to });
    }
  }
  return { ok: true, writes };
}

export function planEmbeddingRecord(store: string, rule: EmbeddingStoreMapping, record: ExportedRecord, exists: (id: string) => boolean): RecordPlan {
  const value = decodeValue(record.value);
  const ownerKey = readPath(value, rule.ownerKey);
  if (ownerKey === undefined || ownerKey === null) return { ok: false, reason: `store "${store}": owner field "${rule.ownerKey}" is missing` };
  const owner = nodeIdForValue(rule.embeddingsOf, ownerKey);
  if (!exists(owner)) return { ok: false, reason: `store "${store}": no ${rule.embeddingsOf} record with key ${JSON.stringify(ownerKey)} to attach the vector to` };
  const vectors = vectorsAt(value, rule.path, rule.many);
  if (typeof vectors === 'string') return { ok: false, reason: `store "${store}": ${vectors}` };
  if (vectors.length === 0) return { ok: false, reason: `store "${store}": field "${rule.path}" is missing` };
  const writes: RecordWrites = { nodes: [], edges: [], embeddings: [], notes: [] };
  embeddingWrites(owner, vectors, rule.space, rule.many, writes);
  return { ok: true, writes };
}
