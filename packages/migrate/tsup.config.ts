import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['cjs', 'esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    external: [/^@loomdb\//],
  },
  {
    // The browser entry imports nothing from Node or LoomDB, so it also runs as one bundled script.
    entry: { browser: 'src/browser/index.ts' },
    format: ['cjs', 'esm', 'iife'],
    globalName: 'LoomMigrate',
    dts: true,
    sourcemap: true,
    target: 'es2020',
    platform: 'browser',
  },
]);
