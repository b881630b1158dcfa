import { execFileSync } from 'node:child_process';
import { LoomError } from '@loomdb/db';

/**
 * Runs `reg.exe` with these arguments and returns its output. Chrome on
 * Windows finds a host through the default value of
 * `HKCU\Software\<vendor>\<browser>\NativeMessagingHosts\<host name>`,
 * which holds the manifest's path.
 *
 * @example
 * ```ts
 * const calls: string[][] = [];
 * const fake: RegistryCommand = (args) => (calls.push([...args]), '');
 * registerManifest('HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\com.loomdb.native_host', 'C:\\host.json', fake);
 * ```
 */
export type RegistryCommand = (args: readonly string[]) => string;

/**
 * `reg.exe` itself.
 *
 * @example
 * ```ts
 * registeredManifest('HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\com.loomdb.native_host', reg); // Windows only
 * ```
 */
export const reg: RegistryCommand = (args) => execFileSync('reg', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });

function run(registry: RegistryCommand, args: string[], key: string): string {
  try {
    return registry(args);
  } catch (e) {
    throw new LoomError('IO', `reg ${args[0]} ${key} failed: ${(e as Error).message}`);
  }
}

/**
 * Points `key` at `manifestPath` (`reg add <key> /ve /t REG_SZ /d <path> /f`).
 *
 * @example
 * ```ts fragment
 * registerManifest('HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\com.loomdb.native_host', 'C:\\loomdb\\com.loomdb.native_host.json');
 * ```
 */
export function registerManifest(key: string, manifestPath: string, registry: RegistryCommand = reg): void {
  run(registry, ['add', key, '/ve', '/t', 'REG_SZ', '/d', manifestPath, '/f'], key);
}

/**
 * The manifest path `key` points at, or null when the key does not exist.
 *
 * @example
 * ```ts fragment
 * const manifestPath = registeredManifest('HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\com.loomdb.native_host');
 * ```
 */
export function registeredManifest(key: string, registry: RegistryCommand = reg): string | null {
  let out: string;
  try {
    out = registry(['query', key, '/ve']);
  } catch {
    return null; // reg query fails when the key is missing
  }
  const match = /REG_SZ\s+(.*)$/mu.exec(out);
  return match ? (match[1] as string).trim() : '';
}

/**
 * Deletes `key`; false when it did not exist.
 *
 * @example
 * ```ts fragment
 * unregisterManifest('HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\com.loomdb.native_host');
 * ```
 */
export function unregisterManifest(key: string, registry: RegistryCommand = reg): boolean {
  if (registeredManifest(key, registry) === null) return false;
  run(registry, ['delete', key, '/f'], key);
  return true;
}
