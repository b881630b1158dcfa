import { defineConfig } from 'tsup';

export default defineConfig({
  // index: the server's parts for programs that embed it; bin: the `loomdb-mcp` executable
  // (bin/loomdb-mcp.cjs -> dist/bin.cjs).
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: ['cjs', 'esm'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  external: [/^@loomdb\//],
  // The shebang comes from here, so src/bin.ts must not have its own `#!` line.
  banner: { js: '#!/usr/bin/env node' },
});
