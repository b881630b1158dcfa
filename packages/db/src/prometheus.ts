import type { Metrics } from './types.js';

/** One metric family: `# HELP`, `# TYPE`, then its samples. */
function family(out: string[], name: string, type: 'counter' | 'gauge' | 'summary', help: string, samples: Array<[labels: Record<string, string>, value: number, suffix?: string]>): void {
  if (samples.length === 0) return;
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value, suffix = ''] of samples) {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
    out.push(`${name}${suffix}${pairs.length ? `{${pairs.join(',')}}` : ''} ${Number.isFinite(value) ? value : 'NaN'}`);
  }
}

/** Numeric leaves of a source's object, as `[path, value]` (booleans as 0/1). */
function leaves(value: unknown, path: string[] = [], out: Array<[string, number]> = [], depth = 0): Array<[string, number]> {
  if (typeof value === 'number') out.push([path.join('_'), value]);
  else if (typeof value === 'boolean') out.push([path.join('_'), value ? 1 : 0]);
  else if (typeof value === 'object' && value !== null && !Array.isArray(value) && depth < 4) {
    for (const [k, v] of Object.entries(value)) leaves(v, [...path, k.replace(/[^A-Za-z0-9_]/g, '_')], out, depth + 1);
  }
  return out;
}

/**
 * The Prometheus text exposition format (version 0.0.4) of `metrics()`, names prefixed `loomdb_`.
 *
 * @example
 * ```ts
 * const text = toPrometheus(db.metrics()); // the same as db.metrics({ format: 'prometheus' })
 * console.log(text.split('\n').filter((l) => l.startsWith('loomdb_')).length);
 * ```
 */
export function toPrometheus(m: Metrics): string {
  const out: string[] = [];
  const backend = { storage: m.storage };
  family(out, 'loomdb_uptime_seconds', 'gauge', 'Seconds since this process opened the database.', [[backend, m.uptimeS]]);
  family(out, 'loomdb_operations_total', 'counter', 'Calls per operation since this process opened the database.', m.operations.map((o) => [{ op: o.op }, o.count]));
  const latency: Array<[Record<string, string>, number, string?]> = [];
  for (const o of m.operations) {
    for (const [q, us] of [['0.5', o.p50Us], ['0.95', o.p95Us], ['0.99', o.p99Us]] as const) latency.push([{ op: o.op, quantile: q }, us / 1e6]);
    latency.push([{ op: o.op }, o.totalMs / 1e3, '_sum'], [{ op: o.op }, o.count, '_count']);
  }
  family(out, 'loomdb_operation_duration_seconds', 'summary', 'Operation latency (HDR-style histogram quantiles, within 1/16).', latency);
  family(out, 'loomdb_cache_hits_total', 'counter', 'Cache hits per cache.', m.caches.map((c) => [{ cache: c.name }, c.hits]));
  family(out, 'loomdb_cache_misses_total', 'counter', 'Cache misses per cache.', m.caches.map((c) => [{ cache: c.name }, c.misses]));
  family(out, 'loomdb_cache_bytes', 'gauge', 'Bytes each cache holds now.', m.caches.map((c) => [{ cache: c.name }, c.bytes]));
  if (m.usage) {
    const u = m.usage;
    family(out, 'loomdb_file_bytes', 'gauge', 'Size of the data file.', [[{}, u.fileBytes]]);
    family(out, 'loomdb_used_bytes', 'gauge', 'Bytes of pages holding data.', [[{}, u.usedBytes]]);
    family(out, 'loomdb_reclaimable_bytes', 'gauge', 'Bytes a compaction would give back.', [[{}, u.reclaimableBytes]]);
    family(out, 'loomdb_map_bytes', 'gauge', 'Size of the memory map.', [[{}, u.mapBytes]]);
    family(out, 'loomdb_table_bytes', 'gauge', 'Bytes of pages per table.', u.tables.map((t) => [{ table: t.name }, t.bytes]));
    family(out, 'loomdb_table_entries', 'gauge', 'Entries per table.', u.tables.map((t) => [{ table: t.name }, t.entries]));
  }
  if (m.usage) family(out, 'loomdb_readers', 'gauge', 'LMDB reader slots in use across processes.', [[{}, m.readers]]);
  const graphs = m.vectorIndexes;
  family(out, 'loomdb_vector_index_vectors', 'gauge', 'Vectors in each HNSW graph this process holds.', graphs.map((g) => [{ space: g.space }, g.vectors]));
  family(out, 'loomdb_vector_index_deleted', 'gauge', 'Vectors removed or replaced whose slots each HNSW graph still holds (dropped by a rebuild).', graphs.map((g) => [{ space: g.space }, g.deleted]));
  family(out, 'loomdb_vector_index_rebuilds_total', 'counter', 'Rebuilds of each HNSW graph in this process.', graphs.map((g) => [{ space: g.space }, g.rebuilds]));
  family(out, 'loomdb_sidecar_bytes', 'gauge', 'Size of each vector index sidecar file.', m.sidecars.map((s) => [{ file: s.name }, s.bytes]));
  for (const [name, value] of Object.entries(m.sources)) {
    for (const [path, v] of leaves(value)) {
      family(out, `loomdb_source_${name}${path ? `_${path}` : ''}`, 'gauge', `From metrics source "${name}".`, [[{}, v]]);
    }
  }
  return `${out.join('\n')}\n`;
}
