import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['cjs', 'esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  // The addon is loaded at run time from the package root (dist/../index.node),
  // never bundled.
  external: [/\.node$/],
  esbuildOptions(options, { format }) {
    if (format === 'esm') {
      // src/index.ts uses require(); give the ESM build a real one so esbuild's
      // __require shim does not throw "Dynamic require is not supported".
      options.banner = {
        js: "import { createRequire as __loomCreateRequire } from 'node:module';\nconst require = __loomCreateRequire(import.meta.url);",
      };
    }
  },
});
