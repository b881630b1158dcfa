#!/usr/bin/env node
// `npm run demo`: make sure the packages are built (quietly: turbo's output is
// shown only if the build fails), then run `loomdb demo` with any extra args.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const build = spawnSync(process.execPath, [path.join(__dirname, 'turbo.cjs'), 'run', 'build', '--filter=@loomdb/cli...'], {
  cwd: root,
  encoding: 'utf8',
});
if (build.status !== 0) {
  process.stdout.write(build.stdout ?? '');
  process.stderr.write(build.stderr ?? '');
  process.exit(build.status ?? 1);
}
const demo = spawnSync(process.execPath, [path.join(root, 'packages/cli/dist/bin.cjs'), 'demo', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(demo.status ?? 1);
