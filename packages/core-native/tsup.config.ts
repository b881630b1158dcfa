import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['cjs', 'esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  // The addon is found at run time (src/load.ts), never bundled; so is the
  // manifest it reads the prebuilt platforms from (dist/../package.json).
  external: [/\.node$/, /package\.json$/],
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
