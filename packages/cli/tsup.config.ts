import { defineConfig } from 'tsup';

export default defineConfig({
  // index: programmatic access to the commands; bin: the `loomdb` executable
  // (package.json "bin" -> dist/bin.cjs).
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: ['cjs', 'esm'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  external: [/^@loomdb\//],
  // The shebang comes from here, so src/bin.ts must not have its own `#!` line
  // (a hashbang is ignored by Node in the other outputs).
  banner: { js: '#!/usr/bin/env node' },
});
