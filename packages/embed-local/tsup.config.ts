import { defineConfig } from 'tsup';

export default defineConfig({
  // worker: the model thread's entry, loaded by path (dist/worker.cjs) from either build.
  entry: { index: 'src/index.ts', worker: 'src/worker.ts' },
  format: ['cjs', 'esm'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  shims: true,
  target: 'node20',
  platform: 'node',
  external: [/^@loomdb\//, 'onnxruntime-node'],
  // env-paths 4 is ESM-only: bundled, so the CJS build never depends on require(esm).
  noExternal: ['env-paths', 'is-safe-filename'],
});
