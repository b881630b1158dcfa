import envPaths from 'env-paths';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The directory name of the default database inside the per-user data directory.
 *
 * @example
 * ```ts
 * console.log(defaultDbPath().endsWith(DEFAULT_DB_NAME)); // true unless LOOMDB_PATH is set
 * ```
 */
export const DEFAULT_DB_NAME = 'memory.loomdb';

/**
 * Where a database lives when `open()` gets no path: `LOOMDB_PATH` when set,
 * else the per-user data directory — `$XDG_DATA_HOME/loomdb` (Linux,
 * default `~/.local/share/loomdb`), `~/Library/Application Support/loomdb`
 * (macOS), `%LOCALAPPDATA%\loomdb\Data` (Windows) — plus `memory.loomdb`.
 * Creates the parent directories.
 *
 * @example
 * ```ts
 * const db = EmbeddedDB.open(); // the same as EmbeddedDB.open(defaultDbPath())
 * console.log(defaultDbPath()); // e.g. ~/.local/share/loomdb/memory.loomdb, or $LOOMDB_PATH
 * ```
 */
export function defaultDbPath(): string {
  const override = process.env.LOOMDB_PATH;
  const path = override ? resolve(override) : join(envPaths('loomdb', { suffix: '' }).data, DEFAULT_DB_NAME);
  mkdirSync(dirname(path), { recursive: true });
  return path;
}
