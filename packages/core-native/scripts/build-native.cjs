#!/usr/bin/env node
// Builds the Neon binding crate and copies the shared library to ./index.node,
// where src/load.cts (and, from dist/, ../index.node) finds it.
//   node scripts/build-native.cjs            release build (default)
//   node scripts/build-native.cjs --debug    debug build (faster to compile)
//   --target <rust-target>                   cross-compile (the release workflow's matrix)
//   --out <file>                             write there instead of ./index.node
//                                            (e.g. platforms/<platform>/index.node)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const valueOf = (flag) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
};
const debug = argv.includes('--debug');
const profile = debug ? 'debug' : 'release';
const target = valueOf('--target');
const out = valueOf('--out');

const args = ['build', '-p', 'loomdb-binding', '--message-format=short'];
if (!debug) args.push('--release');
if (target) args.push('--target', target);

const cargo = process.env.CARGO || 'cargo';
const built = spawnSync(cargo, args, { cwd: root, stdio: 'inherit' });
if (built.error) {
  console.error(`build-native: could not run \`${cargo}\` (${built.error.message}). ` +
    'Install Rust (https://rustup.rs) to build @loomdb/core-native from source.');
  process.exit(1);
}
if (built.status !== 0) process.exit(built.status ?? 1);

// The library's name follows the target's OS, which is the host's unless --target says otherwise.
const os = target ? (target.includes('apple-darwin') ? 'darwin' : target.includes('windows') ? 'win32' : 'linux') : process.platform;
const libName = {
  darwin: 'libloomdb_binding.dylib',
  win32: 'loomdb_binding.dll',
}[os] ?? 'libloomdb_binding.so';

const targetDir = process.env.CARGO_TARGET_DIR
  ? path.resolve(root, process.env.CARGO_TARGET_DIR)
  : path.join(root, 'target');
const from = path.join(targetDir, ...(target ? [target] : []), profile, libName);
const to = out ? path.resolve(process.cwd(), out) : path.join(root, 'index.node');

if (!fs.existsSync(from)) {
  console.error(`build-native: cargo succeeded but ${from} is missing ` +
    '(is crates/binding a `crate-type = ["cdylib"]` crate named loomdb-binding?)');
  process.exit(1);
}
// Copy to a temp name and rename, so a process that has the old index.node
// loaded never sees a half-written file.
const tmp = `${to}.${process.pid}.tmp`;
fs.copyFileSync(from, tmp);
fs.renameSync(tmp, to);
console.log(`build-native: ${path.relative(root, from)} -> ${path.relative(root, to)} (${profile})`);
