/**
 * Import rules `npm test` checks (`npm run deps`): no import cycle anywhere,
 * packages import each other only through their published entries (never
 * another package's `src/`), and only downwards:
 * core-native ← db ← query, embed-local ← weaver ← migrate, mcp ← cli ← apps.
 */
const above = {
  db: 'query|embed-local|weaver|migrate|mcp|cli|backend-postgres',
  query: 'weaver|migrate|mcp|cli',
  'embed-local': 'query|weaver|migrate|mcp|cli',
  weaver: 'migrate|mcp|cli',
  migrate: 'mcp|cli',
  mcp: 'migrate|cli',
};

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'an import cycle', from: {}, to: { circular: true } },
    {
      name: 'no-other-package-src',
      severity: 'error',
      comment: "another package's source: import its published entry (@loomdb/<name>) instead",
      from: { path: '^(packages|apps)/([^/]+)/' },
      to: { path: '^(packages|apps)/([^/]+)/src/', pathNot: '^$1/$2/' },
    },
    ...Object.entries(above).map(([pkg, higher]) => ({
      name: `${pkg}-imports-downwards-only`,
      severity: 'error',
      comment: `@loomdb/${pkg} must not depend on a package above it`,
      from: { path: `^packages/${pkg}/src/` },
      to: { path: `^(packages/(${higher})/|node_modules/@loomdb/(${higher})/)` },
    })),
  ],
  options: {
    // Other packages are reached through their built entries: recorded, not followed.
    doNotFollow: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
  },
};
