#!/usr/bin/env node
// Runs turbo offline and quietly, the same on every OS (no `VAR=1 cmd` syntax,
// which Windows shells lack): no telemetry, no update check, no remote cache.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const env = {
  ...process.env,
  TURBO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
};
delete env.TURBO_TOKEN;
delete env.TURBO_TEAM;
delete env.TURBO_API;

const bin = require.resolve('turbo/bin/turbo', { paths: [path.join(__dirname, '..')] });
const result = spawnSync(process.execPath, [bin, ...process.argv.slice(2)], { stdio: 'inherit', env });
if (result.error) throw result.error;
process.exit(result.status ?? 1);
