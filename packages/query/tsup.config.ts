import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', memory: 'src/memory.ts' },
  format: ['cjs', 'esm'],
  splitting: true,
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  external: [/^@loomdb\//],
});
