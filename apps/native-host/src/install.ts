import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, posix, resolve, win32 } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoomError } from '@loomdb/db';
import { launcherScript, readLauncher } from './launcher.js';
import { HOST_NAME, hostLocation, type Browser, type HostLocation, type LocationOptions } from './locations.js';
import { registerManifest, registeredManifest, unregisterManifest, type RegistryCommand } from './windows-registry.js';

/**
 * The host's executable in this installed package: what launchers start.
 *
 * @example
 * ```ts
 * installHost({ extensionIds: ['abcdefghijklmnopabcdefghijklmnop'], hostScript: HOST_SCRIPT }); // the default
 * ```
 */
export const HOST_SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'loomdb-native-host.cjs');

/**
 * Which browser profile to target.
 *
 * @example
 * ```ts
 * hostStatus({ browser: 'chromium' } satisfies TargetOptions);
 * uninstallHost({ browser: 'chromium' });
 * ```
 */
export interface TargetOptions extends LocationOptions {
  /** Default `'chrome'`. */
  browser?: Browser;
  /** Windows registry access; default `reg.exe` (see {@link RegistryCommand}). */
  registry?: RegistryCommand;
}

/**
 * Options of installHost.
 *
 * @example
 * ```ts
 * const options: InstallOptions = { browser: 'chrome', extensionIds: ['abcdefghijklmnopabcdefghijklmnop'], dbPath: '/home/me/memory.loomdb' };
 * installHost(options);
 * ```
 */
export interface InstallOptions extends TargetOptions {
  /** Extensions allowed to connect (32 letters a–p each). */
  extensionIds: readonly string[];
  /** A database the host opens instead of `defaultDbPath()`: pinned in the launcher as `--path`. */
  dbPath?: string;
  /** A log file instead of the default: pinned in the launcher as `--log-file`. */
  logFile?: string;
  /** Node binary the launcher pins; default the one running now. */
  node?: string;
  /** Host script the launcher pins; default {@link HOST_SCRIPT}. */
  hostScript?: string;
}

/**
 * A native-messaging host manifest, as Chrome reads it.
 *
 * @example
 * ```ts
 * const { manifest }: { manifest: HostManifest } = installHost({ extensionIds: ['abcdefghijklmnopabcdefghijklmnop'] });
 * console.log(manifest.name, manifest.path, manifest.allowed_origins);
 * ```
 */
export interface HostManifest {
  name: string;
  description: string;
  path: string;
  type: 'stdio';
  allowed_origins: string[];
}

/**
 * What installHost wrote.
 *
 * @example
 * ```ts
 * const r: InstallResult = installHost({ browser: 'chrome', extensionIds: ['abcdefghijklmnopabcdefghijklmnop'] });
 * console.log(r.manifestPath, r.launcherPath);
 * ```
 */
export interface InstallResult extends HostLocation {
  manifest: HostManifest;
}

/**
 * What `status` found.
 *
 * @example
 * ```ts
 * const status: HostStatus = hostStatus({ browser: 'chrome' });
 * if (!status.installed || status.problems.length) console.error(status.problems);
 * ```
 */
export interface HostStatus extends HostLocation {
  /** True when the browser would find the manifest and start the host from it. */
  installed: boolean;
  /** The manifest as read, when there is one. */
  manifest?: HostManifest;
  /** What the launcher starts, when it is one `install` wrote. */
  launches?: { node: string; script: string };
  /** Each thing that stops the browser from starting the host; empty when installed. */
  problems: string[];
}

const EXTENSION_ID = /^[a-p]{32}$/u;

/** `path` as given when absolute for the target platform, else resolved against the working directory. */
function absolute(what: string, path: string, platform: NodeJS.Platform): string {
  if (typeof path !== 'string' || path.length === 0) throw new LoomError('INVALID_ARGUMENT', `${what} must be a path, got ${JSON.stringify(path)}`);
  return (platform === 'win32' ? win32 : posix).isAbsolute(path) ? path : resolve(path);
}

/**
 * Installs the host for one browser: writes the launcher and the manifest
 * allowing `extensionIds`, and on Windows points the registry key to the
 * manifest. Installing again replaces both.
 *
 * @example
 * ```ts fragment
 * installHost({ browser: 'chromium', extensionIds: ['abcdefghijklmnopabcdefghijklmnop'] });
 * ```
 */
export function installHost(options: InstallOptions): InstallResult {
  const ids = options.extensionIds;
  if (!Array.isArray(ids) || ids.length === 0) throw new LoomError('INVALID_ARGUMENT', 'give at least one extension id (--extension-id)');
  for (const id of ids) {
    if (typeof id !== 'string' || !EXTENSION_ID.test(id)) throw new LoomError('INVALID_ARGUMENT', `an extension id is 32 letters a to p (see chrome://extensions), got ${JSON.stringify(id)}`);
  }
  const location = hostLocation(options.browser ?? 'chrome', options);
  const platform = options.platform ?? process.platform;
  const script = absolute('hostScript', options.hostScript ?? HOST_SCRIPT, platform);
  if (!existsSync(script)) throw new LoomError('NOT_FOUND', `the host script ${script} does not exist (is @loomdb/native-host built?)`);
  const args = [...(options.dbPath === undefined ? [] : ['--path', absolute('dbPath', options.dbPath, platform)]), ...(options.logFile === undefined ? [] : ['--log-file', absolute('logFile', options.logFile, platform)])];
  const manifest: HostManifest = {
    name: HOST_NAME,
    description: 'LoomDB memory for the browser extension',
    path: location.launcherPath,
    type: 'stdio',
    allowed_origins: [...new Set(ids)].map((id) => `chrome-extension://${id}/`),
  };
  let text: string;
  try {
    text = launcherScript({ node: absolute('node', options.node ?? process.execPath, platform), script, args }, platform);
  } catch (e) {
    throw new LoomError('INVALID_ARGUMENT', (e as Error).message);
  }
  try {
    mkdirSync(dirname(location.manifestPath), { recursive: true });
    writeFileSync(location.launcherPath, text, { mode: 0o755 });
    writeFileSync(location.manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  } catch (e) {
    throw new LoomError('IO', `cannot write the host manifest ${location.manifestPath}: ${(e as Error).message}`);
  }
  if (location.registryKey) registerManifest(location.registryKey, location.manifestPath, options.registry);
  return { ...location, manifest };
}

/**
 * Removes what {@link installHost} wrote for one browser (manifest,
 * launcher, registry key). Returns false when nothing was installed.
 *
 * @example
 * ```ts fragment
 * uninstallHost({ browser: 'chromium' });
 * ```
 */
export function uninstallHost(options: TargetOptions = {}): boolean {
  const location = hostLocation(options.browser ?? 'chrome', options);
  const existed = existsSync(location.manifestPath) || existsSync(location.launcherPath);
  rmSync(location.manifestPath, { force: true });
  rmSync(location.launcherPath, { force: true });
  const registered = location.registryKey ? unregisterManifest(location.registryKey, options.registry) : false;
  return existed || registered;
}

const isExecutable = (path: string, platform: NodeJS.Platform) => {
  try {
    accessSync(path, platform === 'win32' ? constants.R_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Checks the installation for one browser the way the browser will use
 * it: the manifest is there (and, on Windows, the registry points to it),
 * names this host, and its `path` is an absolute executable launcher whose
 * Node binary and host script exist.
 *
 * @example
 * ```ts fragment
 * const { installed, problems } = hostStatus({ browser: 'chromium' });
 * ```
 */
export function hostStatus(options: TargetOptions = {}): HostStatus {
  const location = hostLocation(options.browser ?? 'chrome', options);
  const platform = options.platform ?? process.platform;
  const problems: string[] = [];
  const done = (extra: Partial<HostStatus> = {}): HostStatus => ({ ...location, ...extra, installed: problems.length === 0, problems });
  if (location.registryKey) {
    const value = registeredManifest(location.registryKey, options.registry);
    if (value === null) problems.push(`the registry key ${location.registryKey} is missing`);
    else if (value.toLowerCase() !== location.manifestPath.toLowerCase()) problems.push(`the registry key ${location.registryKey} points to ${value}, not ${location.manifestPath}`);
  }
  let manifest: HostManifest;
  try {
    manifest = JSON.parse(readFileSync(location.manifestPath, 'utf8')) as HostManifest;
  } catch (e) {
    problems.push(existsSync(location.manifestPath) ? `the manifest ${location.manifestPath} is not valid JSON: ${(e as Error).message}` : `no manifest at ${location.manifestPath}`);
    return done();
  }
  if (manifest.name !== HOST_NAME) problems.push(`the manifest names ${JSON.stringify(manifest.name)}, not ${HOST_NAME}`);
  if (manifest.type !== 'stdio') problems.push(`the manifest's type is ${JSON.stringify(manifest.type)}, not "stdio"`);
  if (!Array.isArray(manifest.allowed_origins) || manifest.allowed_origins.length === 0) problems.push('the manifest allows no extension (allowed_origins)');
  if (typeof manifest.path !== 'string' || !(platform === 'win32' ? win32 : posix).isAbsolute(manifest.path)) {
    problems.push(`the manifest's path ${JSON.stringify(manifest.path)} is not absolute`);
    return done({ manifest });
  }
  if (!isExecutable(manifest.path, platform)) {
    problems.push(`the launcher ${manifest.path} is missing or not executable`);
    return done({ manifest });
  }
  const launches = readLauncher(readFileSync(manifest.path, 'utf8')) ?? undefined;
  if (launches) {
    if (!isExecutable(launches.node, platform)) problems.push(`the launcher's Node binary ${launches.node} is missing`);
    if (!existsSync(launches.script)) problems.push(`the launcher's host script ${launches.script} is missing`);
  }
  return done({ manifest, ...(launches ? { launches } : {}) });
}
