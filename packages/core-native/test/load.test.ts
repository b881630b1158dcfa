import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { locateNative, NativeLoadError, type NativeLoadOptions } from '../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as NonNullable<NativeLoadOptions['manifest']> & {
  neon: { platforms: Record<string, string> };
};
const BRAND = Symbol.for('@loomdb/db/LoomError');

/** A resolver that knows only the given ids. */
function only(known: Record<string, string>): (id: string) => string {
  return (id) => {
    const hit = known[id];
    if (hit) return hit;
    throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
  };
}

function failure(options: NativeLoadOptions): NativeLoadError {
  try {
    locateNative(options);
  } catch (e) {
    return e as NativeLoadError;
  }
  throw new Error('locateNative did not throw');
}

describe('locating the native engine', () => {
  it('prefers LOOMDB_NATIVE_PATH, then a local build, then the platform package', () => {
    const resolve = only({ '../index.node': '/pkg/index.node', '@loomdb/core-native-linux-x64-gnu': '/nm/gnu/index.node' });
    const platform = () => 'linux-x64-gnu';
    expect(locateNative({ env: { LOOMDB_NATIVE_PATH: '/src/index.node' }, resolve, platform })).toEqual({ source: 'env', path: '/src/index.node' });
    expect(locateNative({ env: {}, resolve, platform })).toEqual({ source: 'local', path: '/pkg/index.node' });
    const prebuilt = only({ '@loomdb/core-native-linux-x64-gnu': '/nm/gnu/index.node' });
    expect(locateNative({ env: {}, resolve: prebuilt, platform })).toEqual({
      source: 'prebuilt',
      path: '/nm/gnu/index.node',
      platform: 'linux-x64-gnu',
    });
  });

  it.each(['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'darwin-x64', 'darwin-arm64', 'win32-x64-msvc'])(
    'picks @loomdb/core-native-%s on that platform',
    (platform) => {
      const pkg = `@loomdb/core-native-${platform}`;
      const everything = only(Object.fromEntries(Object.keys(manifest.optionalDependencies ?? {}).map((n) => [n, `/nm/${n}/index.node`])));
      expect(locateNative({ env: {}, resolve: everything, platform: () => platform })).toEqual({
        source: 'prebuilt',
        path: `/nm/${pkg}/index.node`,
        platform,
      });
    },
  );

  it('names the platform and the fix when the platform package is not installed', () => {
    const e = failure({ env: {}, resolve: only({}), platform: () => 'darwin-arm64' });
    expect(e).toBeInstanceOf(NativeLoadError);
    expect(e).toMatchObject({ code: 'UNSUPPORTED', name: 'LoomError', platform: 'darwin-arm64' });
    expect((e as unknown as Record<symbol, unknown>)[BRAND]).toBe(true);
    expect(e.message).toContain('@loomdb/core-native-darwin-arm64 is not installed');
    expect(e.message).toContain(`npm install @loomdb/core-native-darwin-arm64@${manifest.version}`);
    expect(e.message).toContain('LOOMDB_NATIVE_PATH');
  });

  it('says which platforms are prebuilt when this one is not among them', () => {
    const e = failure({ env: {}, resolve: only({}), platform: () => 'freebsd-x64' });
    expect(e).toMatchObject({ code: 'UNSUPPORTED', platform: 'freebsd-x64' });
    expect(e.message).toContain('no prebuilt engine for freebsd-x64');
    expect(e.message).toContain('darwin-arm64, darwin-x64, linux-arm64-gnu, linux-x64-gnu, linux-x64-musl, win32-x64-msvc');
    expect(e.message).toContain('"Build from source" in node_modules/@loomdb/core-native/README.md');
  });

  it('passes on the reason when Neon does not know the system', () => {
    const e = failure({
      env: {},
      resolve: only({}),
      platform: () => {
        throw new Error('Neon: unsupported system: aix');
      },
    });
    expect(e).toMatchObject({ code: 'UNSUPPORTED' });
    expect(e.message).toContain('Neon: unsupported system: aix');
    expect(e.message).toContain('LOOMDB_NATIVE_PATH');
  });

  it('does not hide a broken resolver behind "not installed"', () => {
    const boom = () => {
      throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
    };
    expect(() => locateNative({ env: {}, resolve: boom, platform: () => 'linux-x64-gnu' })).toThrow('EACCES');
  });

  it('finds the in-repo build here, with no injection', () => {
    // A clone builds index.node from source (npm install / npm run build).
    expect(existsSync(join(root, 'index.node'))).toBe(true);
    expect(locateNative({ env: {} })).toEqual({ source: 'local', path: join(root, 'index.node') });
  });
});

describe('the platform packages', () => {
  const dirs = readdirSync(join(root, 'platforms')).sort();

  it('are the ones Neon maps, one per declared optional dependency, at our version', () => {
    expect(Object.keys(manifest.neon.platforms).sort()).toEqual(dirs);
    expect(Object.keys(manifest.optionalDependencies ?? {}).sort()).toEqual(dirs.map((d) => `@loomdb/core-native-${d}`));
    for (const version of Object.values(manifest.optionalDependencies ?? {})) expect(version).toBe(manifest.version);
  });

  it.each(dirs)('%s declares os / cpu / libc that npm filters on', (dir) => {
    const pkg = JSON.parse(readFileSync(join(root, 'platforms', dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    const neon = pkg.neon as { node: string; os: string; arch: string; abi: string | null };
    expect(pkg).toMatchObject({ name: `@loomdb/core-native-${dir}`, version: manifest.version, main: 'index.node', files: ['index.node'] });
    expect(neon.node).toBe(dir);
    expect(pkg.os).toEqual([neon.os]);
    expect(pkg.cpu).toEqual([neon.arch]);
    if (neon.os === 'linux') expect(pkg.libc).toEqual([neon.abi === 'musl' ? 'musl' : 'glibc']);
    else expect(pkg.libc).toBeUndefined();
  });
});
