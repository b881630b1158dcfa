import { resolve } from 'node:path';
import { abortedError, invalid, loomError, LoomError, throwIfAborted, toLoomError } from './errors.js';
import type { EngineMetrics, MaintenanceControl, StorageBackend, StorageMaintenance } from './storage.js';
import type { MaintenanceOptions, Metrics, RestoreOptions } from './types.js';
import { describe, guard } from './validate.js';

/** The backend's maintenance operations, or `UNSUPPORTED` naming it. */
export function maintenanceOf(backend: StorageBackend, what: string): StorageMaintenance {
  if (!backend.maintenance) throw loomError('UNSUPPORTED', `the "${backend.name}" storage backend has no ${what}`);
  return backend.maintenance;
}

export function preparePath(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${name} must be a non-empty path, got ${describe(value)}`);
  if (value.includes('\0')) throw invalid(`${name} must not contain NUL, got ${describe(value)}`);
  return resolve(value);
}

/** {@link prepareMaintenanceUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareMaintenance: typeof prepareMaintenanceUnguarded = (...args) => guard('options', () => prepareMaintenanceUnguarded(...args));

/** Validates `{ onProgress, signal }` (and `overwrite` when `withOverwrite`). */
function prepareMaintenanceUnguarded(options: unknown, withOverwrite = false): RestoreOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw invalid(`options must be an object, got ${describe(options)}`);
  const allowed = withOverwrite ? ['onProgress', 'signal', 'overwrite'] : ['onProgress', 'signal'];
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw invalid(`options.${key} is not an option here (${allowed.join(', ')})`);
  }
  const { onProgress, signal, overwrite } = options as RestoreOptions;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalid(`options.onProgress must be a function, got ${describe(onProgress)}`);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid('options.signal must be an AbortSignal');
  if (overwrite !== undefined && typeof overwrite !== 'boolean') throw invalid(`options.overwrite must be a boolean, got ${describe(overwrite)}`);
  return { onProgress, signal, overwrite };
}

/**
 * Runs a long maintenance call with the user's options: progress reaches
 * `onProgress` (an exception there stops the work and is rethrown), an
 * aborted signal stops it and the call fails with `ABORTED` (the signal's reason as `cause`).
 */
export function runLong<T>(options: MaintenanceOptions, call: (control: MaintenanceControl) => T): T {
  throwIfAborted(options.signal);
  let thrown: { error: unknown } | undefined;
  const control: MaintenanceControl = {
    signal: options.signal,
    onProgress: (done, total) => {
      try {
        options.onProgress?.({ done, total });
      } catch (error) {
        thrown = { error };
        return false;
      }
      return !options.signal?.aborted;
    },
  };
  const settle = (error: unknown): never => {
    if (thrown) throw thrown.error;
    if (options.signal?.aborted) throw abortedError(options.signal);
    throw toLoomError(error);
  };
  try {
    const result = call(control);
    if (result instanceof Promise) return result.catch(settle) as T;
    return result;
  } catch (error) {
    return settle(error);
  }
}

type Source = () => unknown;

/** Sources registered with `registerMetricsSource`, read on every `metrics()` call. */
export class MetricsSources {
  readonly #sources = new Map<string, Source>();

  /** Adds (or replaces: a restarted component registers again) `name`; returns what removes it. */
  register(name: unknown, source: unknown): () => void {
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) {
      throw invalid(`a metrics source name must be 1 to 64 letters, digits or _ (not starting with a digit), got ${describe(name)}`);
    }
    if (typeof source !== 'function') throw invalid(`metrics source "${name}" must be a function returning an object, got ${describe(source)}`);
    const registered = source as Source;
    this.#sources.set(name, registered);
    return () => {
      if (this.#sources.get(name) === registered) this.#sources.delete(name);
    };
  }

  /** Each source's object, or `{ error }` for one that threw. */
  collect(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, source] of this.#sources) {
      try {
        out[name] = source();
      } catch (e) {
        out[name] = { error: e instanceof Error ? e.message : String(e) };
      }
    }
    return out;
  }
}

/** {@link prepareMetricsFormatUnguarded}; a throwing getter or revoked Proxy in the input becomes INVALID_ARGUMENT. */
export const prepareMetricsFormat: typeof prepareMetricsFormatUnguarded = (...args) => guard('options', () => prepareMetricsFormatUnguarded(...args));

function prepareMetricsFormatUnguarded(options: unknown): 'json' | 'prometheus' {
  if (options === undefined) return 'json';
  if (typeof options !== 'object' || options === null) throw invalid(`options must be an object, got ${describe(options)}`);
  const { format = 'json' } = options as { format?: unknown };
  if (format !== 'json' && format !== 'prometheus') throw invalid(`options.format must be 'json' or 'prometheus', got ${describe(format)}`);
  return format;
}

export function assembleMetrics(storage: string, engine: EngineMetrics | null, sources: Record<string, unknown>): Metrics {
  return {
    storage,
    uptimeS: engine?.uptimeS ?? 0,
    operations: engine?.operations ?? [],
    caches: engine?.caches ?? [],
    usage: engine?.storage ?? null,
    readers: engine?.readers ?? 0,
    sidecars: engine?.sidecars ?? [],
    vectorIndexes: engine?.vectorIndexes ?? [],
    sources,
  };
}

/** Runs an automatic compaction when it is worth it; another process having the database open is no error. */
export function autoCompact(backend: StorageBackend, options: { minReclaimableBytes: number; minRatio: number }): void {
  const m = backend.maintenance;
  if (!m) return;
  const usage = m.usage();
  if (usage.reclaimableBytes < options.minReclaimableBytes || usage.reclaimableBytes < usage.fileBytes * options.minRatio) return;
  try {
    m.compact({});
  } catch (e) {
    if (!(LoomError.is(e) && e.code === 'LOCKED')) throw e;
  }
}
