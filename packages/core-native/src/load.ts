/**
 * Finds the compiled engine. In order:
 *
 * 1. `LOOMDB_NATIVE_PATH`: a `.node` file built from source (see the README).
 * 2. A local build at the package root (`index.node`, written by
 *    `npm run build:native`): what a clone of the repository uses. Published
 *    tarballs do not contain it.
 * 3. The prebuilt binary package for this platform,
 *    `@loomdb/core-native-<platform>`, one of our `optionalDependencies`; npm
 *    installs only the one whose `os` / `cpu` / `libc` match. The platform name
 *    comes from Neon's `@neon-rs/load` (`currentPlatform()`), the list of
 *    published platforms from our own package.json, which `neon add` keeps.
 *
 * When none is there, the error is a `LoomError`-compatible `UNSUPPORTED`
 * error naming the platform and the fix.
 */
import { currentPlatform } from '@neon-rs/load';

/**
 * Where {@link locateNative} found the addon.
 *
 * @example
 * ```ts
 * const { source, path, platform }: NativeLocation = locateNative();
 * console.log(source, path, platform); // e.g. 'prebuilt' …/core-native-linux-x64-gnu/index.node linux-x64-gnu
 * ```
 */
export interface NativeLocation {
  source: 'env' | 'local' | 'prebuilt';
  /** The resolved `.node` file. */
  path: string;
  /** The Neon platform name, for `prebuilt`. */
  platform?: string;
}

/**
 * Injection points, for tests; every field defaults to the real thing.
 *
 * @example
 * ```ts
 * const where = locateNative({ env: { LOOMDB_NATIVE_PATH: '/opt/loomdb/index.node' } } satisfies NativeLoadOptions);
 * // { source: 'env', path: '/opt/loomdb/index.node' }
 * ```
 */
export interface NativeLoadOptions {
  /** Neon's platform name for this machine (e.g. `linux-x64-gnu`); may throw for an unknown system. */
  platform?: () => string;
  /** Resolves a module id to a file; throws when there is none. */
  resolve?: (id: string) => string;
  env?: Record<string, string | undefined>;
  /** This package's manifest (`optionalDependencies` lists the prebuilt platforms). */
  manifest?: { name: string; version: string; optionalDependencies?: Record<string, string> };
}

const BRAND = Symbol.for('@loomdb/db/LoomError');
const FROM_SOURCE = '(see "Build from source" in node_modules/@loomdb/core-native/README.md)';

/**
 * The error for "no engine for this machine". `code` is `UNSUPPORTED` and it
 * carries `@loomdb/db`'s brand, so `LoomError.is(e)` and
 * `e instanceof UnsupportedError` hold without this package depending on db.
 *
 * @example
 * ```ts
 * try {
 *   native();
 * } catch (e) {
 *   if (e instanceof NativeLoadError) console.error(e.code, e.platform, e.message); // UNSUPPORTED, and how to fix it
 * }
 * ```
 */
export class NativeLoadError extends Error {
  readonly code = 'UNSUPPORTED' as const;
  /** The Neon platform name, or `os-arch` when Neon does not know the system. */
  readonly platform: string;

  constructor(platform: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LoomError';
    this.platform = platform;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

function defaultResolve(id: string): string {
  return require.resolve(id);
}

function tryResolve(resolve: (id: string) => string, id: string): string | undefined {
  try {
    return resolve(id);
  } catch (e) {
    if ((e as { code?: string }).code === 'MODULE_NOT_FOUND') return undefined;
    throw e;
  }
}

/**
 * The names of the prebuilt platform packages this version declares, by platform.
 *
 * @example
 * ```ts
 * const platforms = prebuiltPlatforms(require('@loomdb/core-native/package.json'));
 * console.log([...platforms.keys()]); // e.g. [ 'darwin-arm64', 'linux-x64-gnu', … ]
 * ```
 */
export function prebuiltPlatforms(manifest: NonNullable<NativeLoadOptions['manifest']>): Map<string, string> {
  const prefix = `${manifest.name}-`;
  const out = new Map<string, string>();
  for (const name of Object.keys(manifest.optionalDependencies ?? {})) {
    if (name.startsWith(prefix)) out.set(name.slice(prefix.length), name);
  }
  return out;
}

/**
 * Finds the addon file without loading it; throws {@link NativeLoadError} when there is none.
 *
 * @example
 * ```ts
 * const { source, path } = locateNative(); // throws NativeLoadError when there is none
 * console.log(`engine from ${source}: ${path}`);
 * ```
 */
export function locateNative(options: NativeLoadOptions = {}): NativeLocation {
  const resolve = options.resolve ?? defaultResolve;
  const env = options.env ?? process.env;
  const manifest = options.manifest ?? (require('../package.json') as NonNullable<NativeLoadOptions['manifest']>);

  const fromEnv = env.LOOMDB_NATIVE_PATH;
  if (fromEnv) return { source: 'env', path: fromEnv };

  const local = tryResolve(resolve, '../index.node');
  if (local) return { source: 'local', path: local };

  const system = `${process.platform}-${process.arch}`;
  let platform: string;
  try {
    platform = (options.platform ?? currentPlatform)();
  } catch (e) {
    throw new NativeLoadError(
      system,
      `${manifest.name}: no prebuilt engine for this system (${system}, Node ${process.version}): ` +
        `${(e as Error).message}. Build it from source and set LOOMDB_NATIVE_PATH to the built file ${FROM_SOURCE}`,
      { cause: e },
    );
  }

  const published = prebuiltPlatforms(manifest);
  const pkg = published.get(platform);
  if (!pkg) {
    throw new NativeLoadError(
      platform,
      `${manifest.name}@${manifest.version}: no prebuilt engine for ${platform} (${system}, Node ${process.version}); ` +
        `prebuilt ones exist for ${[...published.keys()].join(', ')}. ` +
        `Build it from source and set LOOMDB_NATIVE_PATH to the built file ${FROM_SOURCE}`,
    );
  }
  const path = tryResolve(resolve, pkg);
  if (!path) {
    throw new NativeLoadError(
      platform,
      `${manifest.name}@${manifest.version}: the prebuilt engine for ${platform} is missing: ` +
        `the optional dependency ${pkg} is not installed (was the install run with --omit=optional or --no-optional, ` +
        `or was the lock file made on another platform?). Fix: npm install ${pkg}@${manifest.version} ` +
        `-- or build from source and set LOOMDB_NATIVE_PATH ${FROM_SOURCE}`,
    );
  }
  return { source: 'prebuilt', path, platform };
}

/** Locates and loads the addon. */
export function loadNative<T>(options: NativeLoadOptions = {}): T {
  return require(locateNative(options).path) as T;
}
