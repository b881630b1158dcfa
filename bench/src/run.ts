import { writeResults, type SuiteResult } from './harness.js';
import { graph } from './suites/graph.js';
import { pointOps } from './suites/point-ops.js';
import { vectors } from './suites/vectors.js';
import { querySuite } from './suites/query.js';
import { weaver } from './suites/weaver.js';
import { extract } from './suites/extract.js';
import { embed } from './suites/embed.js';
import { text } from './suites/text.js';
import { recall } from './suites/recall.js';
import { firstQuery } from './suites/first-query.js';

const SUITES: Record<string, () => Promise<SuiteResult>> = { 'point-ops': pointOps, graph, vectors, query: querySuite, weaver, extract, embed, text, recall, 'first-query': firstQuery };

const usage = `usage: npm run bench -- <suite>, one of ${Object.keys(SUITES).join(', ')}, or all (each run rewrites bench/results/<suite>.json and .md)`;
// No default: a bare `npm run bench` would spend an hour rewriting every committed result.
const requested = process.argv[2];
if (requested === undefined) {
  console.error(usage);
  process.exit(2);
}
const names = requested === 'all' ? Object.keys(SUITES) : [requested];
for (const name of names) {
  const suite = SUITES[name];
  if (!suite) {
    console.error(`unknown suite "${name}"; ${usage}`);
    process.exit(2);
  }
  console.log(`running ${name}…`);
  console.log(writeResults(await suite()));
}
