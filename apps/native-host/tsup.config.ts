import { defineConfig } from 'tsup';

export default defineConfig({
  // index: the host as a library; bin: the `loomdb-native-host` executable
  // (bin/loomdb-native-host.cjs requires dist/bin.cjs).
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: ['cjs', 'esm'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  external: [/^@loomdb\//],
  // install.ts finds the package's bin from import.meta.url, which the CJS output needs shimmed.
  shims: true,
  // The shebang comes from here, so src/bin.ts must not have its own `#!` line.
  banner: { js: '#!/usr/bin/env node' },
});
