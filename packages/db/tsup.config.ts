import { defineConfig } from 'tsup';

export default defineConfig({
  // One build for both entry points, so shared code (errors, registry) lands
  // in shared chunks instead of being copied into each: module-level state
  // stays single even when a test kit and the main entry are both loaded.
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'testing/data': 'src/testing/data.ts',
  },
  format: ['cjs', 'esm'],
  splitting: true,
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  shims: true, // import.meta.url in the CJS build (plugins.ts resolves well-known plugin packages)
  // vitest is an optional peer used only by ./testing. Vitest 4 throws when
  // require()d, so package.json exports ./testing as ESM only (the
  // dist/testing/index.cjs that splitting emits is unreachable).
  external: ['@loomdb/core-native', 'vitest'],
  // env-paths 4 is ESM-only: bundle it (and its one tiny dependency) so the
  // CJS build never depends on require(esm).
  noExternal: ['env-paths', 'is-safe-filename'],
});
