import { resolve } from 'node:path';
import { nativeStoragePlugin } from './backends/native.js';
import { memoryStoragePlugin } from './backends/memory.js';
import { invalid, toLoomError } from './errors.js';
import { autoCompact } from './maintenance.js';
import { defaultDbPath } from './paths.js';
import { hashingEmbedderPlugin } from './embedders/hashing.js';
import { type LoomPlugin, Registry } from './plugins.js';
import type { StorageBackend } from './storage.js';
import type { SpaceSpec, TextIndexSpec } from './types.js';
import { prepareTextIndexName, prepareTextIndexSpec, textSearchOf } from './text-search.js';
import { describe, guard, prepareSpaceSpec, requireObject } from './validate.js';

/**
 * Options of open.
 *
 * @example
 * ```ts
 * const options: OpenOptions = {
 *   durability: 'relaxed',
 *   busyTimeoutMs: 2000,
 *   spaces: { default: { dimensions: 384, metric: 'cosine', embedder: 'hashing' } },
 *   textIndexes: { default: { types: ['Message'], fields: ['content'] } },
 * };
 * const db = EmbeddedDB.open('./memory.loomdb', options);
 * ```
 */
export interface OpenOptions {
  /** `immediate` (default): every commit is on disk when the call returns. `relaxed`: one fsync per commit; an OS crash may lose the last commit. */
  durability?: 'immediate' | 'relaxed';
  /** How long a write waits for another writer (this or another process) before `LOCKED`. Default 5000. */
  busyTimeoutMs?: number;
  /** Refuse writes (`READ_ONLY`); the database must exist. */
  readOnly?: boolean;
  /** A backend instance, or the name of a registered one. Default `'native'`. */
  storage?: StorageBackend | string;
  /** Embedding spaces to create, or to check against what the database has. */
  spaces?: Record<string, SpaceSpec>;
  /** Full-text indexes to create (filled from existing nodes), or to check against what the database has. */
  textIndexes?: Record<string, TextIndexSpec>;
  plugins?: LoomPlugin[];
  /** Initial LMDB map size in bytes (native backend); the map doubles whenever it fills. */
  mapSize?: number;
  /**
   * Largest node or edge record a write may store, in bytes: its id, type
   * and properties as JSON (native backend). A write of a larger one, or an
   * update that would grow one past it, is `INVALID_ARGUMENT` naming the
   * record and its largest property, and writes nothing. Default 16 MiB
   * ({@link DEFAULT_MAX_RECORD_BYTES}).
   */
  maxRecordBytes?: number;
  /**
   * Compact on open when at least `minReclaimableBytes` (default 64 MiB)
   * and `minRatio` of the file (default 0.5) are free pages and no other
   * process has the database open. `true` takes the defaults.
   */
  autoCompact?: boolean | { minReclaimableBytes?: number; minRatio?: number };
}

const OPTION_KEYS = new Set(['durability', 'busyTimeoutMs', 'readOnly', 'storage', 'spaces', 'textIndexes', 'plugins', 'mapSize', 'maxRecordBytes', 'autoCompact']);

/**
 * Default of `OpenOptions.maxRecordBytes`: 16 MiB.
 *
 * @example
 * ```ts
 * EmbeddedDB.open('./memory.loomdb', { maxRecordBytes: 4 * DEFAULT_MAX_RECORD_BYTES });
 * ```
 */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 2 ** 20;

function prepareAutoCompact(value: unknown): { minReclaimableBytes: number; minRatio: number } | null {
  if (value === undefined || value === false) return null;
  const o = value === true ? {} : (requireObject('options.autoCompact', value) as { minReclaimableBytes?: unknown; minRatio?: unknown });
  const minReclaimableBytes = o.minReclaimableBytes ?? 64 * 2 ** 20;
  const minRatio = o.minRatio ?? 0.5;
  if (typeof minReclaimableBytes !== 'number' || !Number.isSafeInteger(minReclaimableBytes) || minReclaimableBytes < 0) {
    throw invalid(`options.autoCompact.minReclaimableBytes must be a non-negative integer, got ${describe(minReclaimableBytes)}`);
  }
  if (typeof minRatio !== 'number' || !(minRatio >= 0 && minRatio <= 1)) throw invalid(`options.autoCompact.minRatio must be between 0 and 1, got ${describe(minRatio)}`);
  return { minReclaimableBytes, minRatio };
}

/** The built-in backends, registered through the same door as third-party plugins. */
export const BUILTIN_PLUGINS: readonly LoomPlugin[] = [nativeStoragePlugin, memoryStoragePlugin, hashingEmbedderPlugin];

/** Opens the backend for `EmbeddedDB.open` / `AsyncEmbeddedDB.open`. */
export function openBackend(
  path: unknown,
  options: unknown,
): { backend: StorageBackend; path: string; plugins: LoomPlugin[]; registry: Registry } {
  if (path !== undefined && (typeof path !== 'string' || path.length === 0)) {
    throw invalid(`path must be a non-empty string or omitted, got ${describe(path)}`);
  }
  if (typeof path === 'string' && path.includes('\0')) throw invalid(`path must not contain NUL, got ${describe(path)}`);
  // A copy: a throwing getter (or a revoked Proxy) fails here, as INVALID_ARGUMENT, and only once.
  const o = (options === undefined ? {} : guard('options', () => ({ ...requireObject('options', options) }))) as OpenOptions;
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.has(key)) throw invalid(`options.${key} is not an open option (${[...OPTION_KEYS].join(', ')})`);
  }
  const durability = o.durability ?? 'immediate';
  if (durability !== 'immediate' && durability !== 'relaxed') {
    throw invalid(`options.durability must be 'immediate' or 'relaxed', got ${describe(durability)}`);
  }
  const busyTimeoutMs = o.busyTimeoutMs ?? 5000;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw invalid(`options.busyTimeoutMs must be a non-negative integer, got ${describe(busyTimeoutMs)}`);
  }
  const readOnly = o.readOnly ?? false;
  if (typeof readOnly !== 'boolean') throw invalid(`options.readOnly must be a boolean, got ${describe(readOnly)}`);
  if (o.mapSize !== undefined && (!Number.isSafeInteger(o.mapSize) || o.mapSize < 65536)) {
    throw invalid(`options.mapSize must be an integer of at least 65536 bytes, got ${describe(o.mapSize)}`);
  }
  const maxRecordBytes = o.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (!Number.isSafeInteger(maxRecordBytes) || maxRecordBytes < 1024) {
    throw invalid(`options.maxRecordBytes must be an integer of at least 1024 bytes, got ${describe(maxRecordBytes)}`);
  }
  const plugins = o.plugins ?? [];
  if (!Array.isArray(plugins)) throw invalid(`options.plugins must be an array, got ${describe(plugins)}`);
  const compaction = prepareAutoCompact(o.autoCompact);
  const spaces = guard('options.spaces', () =>
    Object.entries(o.spaces === undefined ? {} : requireObject('options.spaces', o.spaces)).map(([name, spec]) => [name, prepareSpaceSpec(name, spec)] as const),
  );

  const textIndexes = Object.entries(o.textIndexes === undefined ? {} : requireObject('options.textIndexes', o.textIndexes)).map(
    ([name, spec]) => [prepareTextIndexName(name), prepareTextIndexSpec(name, spec)] as const,
  );

  const registry = new Registry([...BUILTIN_PLUGINS, ...plugins]);
  const storage = o.storage ?? 'native';
  const usesPath = typeof storage === 'string';
  const dbPath = usesPath ? resolve(path ?? defaultDbPath()) : String(path ?? '');
  let backend: StorageBackend;
  if (typeof storage === 'string') {
    backend = registry.storage(storage)({ path: dbPath, durability, busyTimeoutMs, readOnly, mapSize: o.mapSize, maxRecordBytes });
  } else if (typeof storage === 'object' && storage !== null && storage.specificationVersion === 'v1') {
    backend = storage;
  } else {
    throw invalid(`options.storage must be a backend name or a v1 StorageBackend, got ${describe(storage)}`);
  }
  try {
    for (const [name, spec] of spaces) backend.ensureSpace(name, spec);
    for (const [name, spec] of textIndexes) textSearchOf(backend).createTextIndex(name, spec, {});
    if (compaction && !readOnly) autoCompact(backend, compaction);
  } catch (e) {
    backend.close();
    throw toLoomError(e);
  }
  return { backend, path: dbPath, plugins, registry };
}
