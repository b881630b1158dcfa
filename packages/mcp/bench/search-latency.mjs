// search_nodes and recall latency at 100k memories: loomdb-mcp against @modelcontextprotocol/server-memory,
// both real server processes over stdio, on the same data, in one run.
//
//   npm run build && node bench/search-latency.mjs [count]      (from packages/mcp; count defaults to 100000)
//
// Data: `count` knowledge-graph entities (two observations each) in both servers, and `count` chat messages
// remembered in LoomDB (the reference server has no chat memory: its only search is search_nodes).
import { writeFileSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { importMemoryFile, openContext } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const COUNT = Number(process.argv[2] ?? 100_000);
const RUNS = 20;
const WORDS = 'river stone garden winter harbour lantern orchard meadow copper violin falcon thunder silver canyon ember glacier willow marble compass velvet'.split(' ');
const TYPES = ['person', 'place', 'project', 'tool', 'book', 'city', 'team', 'idea', 'event', 'company'];

// A small deterministic generator, so every run has the same data.
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const sentence = (n) => Array.from({ length: n }, () => pick(WORDS)).join(' ');

const dir = mkdtempSync(join(tmpdir(), 'loomdb-mcp-bench-'));
const file = join(dir, 'memory.jsonl');
const dbPath = join(dir, 'db');
const lines = [];
for (let i = 0; i < COUNT; i++) {
  lines.push(JSON.stringify({ type: 'entity', name: `entity-${i}`, entityType: pick(TYPES), observations: [sentence(6), `note ${i} ${sentence(4)}`] }));
}
for (let i = 0; i + 1 < COUNT; i += 10) lines.push(JSON.stringify({ type: 'relation', from: `entity-${i}`, to: `entity-${i + 1}`, relationType: 'knows' }));
writeFileSync(file, lines.join('\n'));

const time = async (fn) => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
};

let t = Date.now();
const context = await openContext({ path: dbPath });
const imported = await importMemoryFile(context.db, context.graph, file);
const importMs = Date.now() - t;
t = Date.now();
for (let i = 0; i < COUNT; i += 1_000) {
  const events = [];
  for (let j = i; j < Math.min(COUNT, i + 1_000); j++) {
    events.push({ id: `msg-${j}`, type: 'message', conversationId: `conv-${Math.floor(j / 100)}`, role: j % 2 ? 'assistant' : 'user', content: `${sentence(10)} ${pick(WORDS)}s`, timestamp: 1_700_000_000_000 + j * 1_000 });
  }
  await context.weaver.submitEvents(events);
}
await context.weaver.shutdown({ drain: true });
const weaveMs = Date.now() - t;
await context.close();

async function server(command, args, env = {}) {
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(new StdioClientTransport({ command, args, env: { ...process.env, ...env }, stderr: 'ignore' }));
  return client;
}
const ours = await server(process.execPath, [join(here, '../bin/loomdb-mcp.cjs'), '--path', dbPath]);
const referenceBin = join(dirname(require.resolve('@modelcontextprotocol/server-memory/package.json')), 'dist/index.js');
const theirs = await server(process.execPath, [referenceBin], { MEMORY_FILE_PATH: file });

const stats = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: +s[Math.floor(s.length / 2)].toFixed(1), p95: +s[Math.floor(s.length * 0.95)].toFixed(1), runs: s.length };
};
async function measure(client, name, argsFor, before) {
  for (let i = 0; i < 3; i++) await client.callTool({ name, arguments: argsFor(i) }); // warm-up
  const ms = [];
  for (let i = 0; i < RUNS; i++) {
    if (before) await before(i);
    ms.push(await time(async () => {
      const r = await client.callTool({ name, arguments: argsFor(i) });
      if (r.isError) throw new Error(`${name}: ${r.content[0].text}`);
    }));
  }
  return stats(ms);
}

// Selective queries (a handful of matches), so the time is the search and not the size of the answer.
const searchArgs = (i) => ({ query: `note ${(i * 7919) % COUNT} ` });
const results = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version },
  dataset: { entities: COUNT, relations: Math.ceil(COUNT / 10), messages: COUNT, importMs, weaveMs, imported },
  search_nodes: { loomdb: await measure(ours, 'search_nodes', searchArgs), reference: await measure(theirs, 'search_nodes', searchArgs) },
  // LoomDB reuses its scan until the database changes; here every search follows a write, so each one scans.
  search_nodes_after_write: {
    loomdb: await measure(ours, 'search_nodes', searchArgs, (i) => ours.callTool({ name: 'add_observations', arguments: { observations: [{ entityName: 'entity-1', contents: [`bench ${i}`] }] } })),
    reference: await measure(theirs, 'search_nodes', searchArgs, (i) => theirs.callTool({ name: 'add_observations', arguments: { observations: [{ entityName: 'entity-1', contents: [`bench ${i}`] }] } })),
  },
  open_nodes: { loomdb: await measure(ours, 'open_nodes', (i) => ({ names: [`entity-${(i * 7919) % COUNT}`] })), reference: await measure(theirs, 'open_nodes', (i) => ({ names: [`entity-${(i * 7919) % COUNT}`] })) },
  recall: { loomdb: await measure(ours, 'recall', (i) => ({ query: `${WORDS[i % WORDS.length]} ${WORDS[(i * 3) % WORDS.length]}`, k: 10 })) },
};
results.search_nodes.referenceOverLoomdb = +(results.search_nodes.reference.p50 / results.search_nodes.loomdb.p50).toFixed(2);
results.search_nodes_after_write.referenceOverLoomdb = +(results.search_nodes_after_write.reference.p50 / results.search_nodes_after_write.loomdb.p50).toFixed(2);
results.open_nodes.referenceOverLoomdb = +(results.open_nodes.reference.p50 / results.open_nodes.loomdb.p50).toFixed(2);
results.recall.loomdbRecallOverReferenceSearchNodes = +(results.recall.loomdb.p50 / results.search_nodes.reference.p50).toFixed(2);
await ours.close();
await theirs.close();
rmSync(dir, { recursive: true, force: true });

const out = join(here, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'search-latency.json'), `${JSON.stringify(results, null, 2)}\n`);
const row = (tool, r) => `| ${tool} | ${r.loomdb.p50} | ${r.loomdb.p95} | ${r.reference?.p50 ?? '—'} | ${r.reference?.p95 ?? '—'} | ${r.referenceOverLoomdb ?? '—'} |`;
const md = `# search latency at ${COUNT} memories: loomdb-mcp vs @modelcontextprotocol/server-memory

${results.date}, ${results.machine.cpus} × ${results.machine.cpu}, ${results.machine.memoryGiB} GiB, Node ${results.machine.node}.
Both servers are real processes over stdio, called by the SDK client; ${RUNS} calls each after 3 warm-up calls; ms per call.
Data: ${COUNT} entities (2 observations each), ${Math.ceil(COUNT / 10)} relations, and in LoomDB ${COUNT} remembered messages
(import ${importMs} ms, weaving ${weaveMs} ms). search_nodes queries match a handful of entities.

| tool | loomdb p50 | loomdb p95 | reference p50 | reference p95 | reference / loomdb (p50) |
| --- | --- | --- | --- | --- | --- |
${row('search_nodes', results.search_nodes)}
${row('search_nodes right after a write', results.search_nodes_after_write)}
${row('open_nodes', results.open_nodes)}
${row('recall (hybrid, k 10)', results.recall)}

LoomDB's search_nodes reuses its last scan while the database is unchanged (any process's write changes it); the
"after a write" row makes every search scan all ${COUNT} entities. The reference reads and parses its whole file on every call.
The reference server has no recall; its only search is search_nodes. recall p50 / reference search_nodes p50 = ${results.recall.loomdbRecallOverReferenceSearchNodes}.
`;
writeFileSync(join(out, 'search-latency.md'), md);
console.log(md);
