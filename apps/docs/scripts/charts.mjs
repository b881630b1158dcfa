// Draws the committed benchmark results (bench/results/*.json) as SVG bar
// charts for the performance guide: one chart per suite, one row of bars per
// case, one bar per system, LoomDB's bars in their own colour. Vega-Lite
// compiles each chart to Vega, and Vega renders it to SVG in Node (no browser,
// no canvas: text widths are estimated). Output: guides/charts/<suite>.svg,
// which the performance guide links and TypeDoc copies into the site.
//
//   node scripts/charts.mjs [--results <dir>] [--out <dir>]
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    results: { type: 'string', default: resolve(here, '../../../bench/results') },
    out: { type: 'string', default: resolve(here, '../guides/charts') },
  },
});

/** Bars of one suite: `{ case, system, value }` with the axis title. */
function barsOf(result) {
  if (result.suite === 'recall' && Array.isArray(result.data?.realmem)) {
    const sets = [['RealMem', result.data.realmem], ['LoCoMo (held out)', result.data.locomo ?? []]];
    return {
      title: 'recall@10 (a gold session or evidence turn in the top 10; higher is better)',
      bars: sets.flatMap(([set, rows]) => rows.map((r) => ({ case: `${set}: ${r.corpus}`, system: r.system, value: r['recall_any@10'] }))),
    };
  }
  return {
    title: 'operations per second (higher is better)',
    bars: (result.measurements ?? [])
      .filter((m) => Number.isFinite(m.opsPerSec) && m.opsPerSec > 0)
      .map((m) => ({ case: m.case, system: m.system, value: m.opsPerSec })),
  };
}

/** `AMD EPYC, 2 cores, 24 GiB, linux …, Node v20…` as the markdown tables print it. */
function machineOf(m) {
  if (!m || typeof m !== 'object') return String(m ?? '');
  return [m.cpu, m.cores && `${m.cores} cores`, m.memoryGiB && `${m.memoryGiB} GiB`, m.os, m.node && `Node ${m.node}`].filter(Boolean).join(', ');
}

/** The Vega-Lite spec of one suite's chart. */
export function chartSpec(result) {
  const { title, bars } = barsOf(result);
  const rows = bars.map((b) => ({ ...b, loomdb: /loomdb/i.test(b.system) ? 'LoomDB' : 'peer' }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${result.suite}`, subtitle: `${machineOf(result.machine)} · ${String(result.date ?? '').slice(0, 10)}`, anchor: 'start' },
    data: { values: rows },
    facet: { row: { field: 'case', type: 'nominal', sort: null, header: { labelAngle: 0, labelAlign: 'left', labelOrient: 'top', labelFontWeight: 'bold', labelLimit: 640, title: null } } },
    spec: {
      width: 420,
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'system', type: 'nominal', sort: null, title: null, axis: { labelLimit: 320 } },
        x: { field: 'value', type: 'quantitative', title },
        color: { field: 'loomdb', type: 'nominal', title: null, scale: { domain: ['LoomDB', 'peer'], range: ['#2f6fb2', '#b0b7bf'] } },
      },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    config: { font: 'sans-serif', view: { stroke: null } },
  };
}

/** Renders one suite's chart to an SVG string, or null when it has nothing to draw. */
export async function renderChart(result) {
  if (barsOf(result).bars.length === 0) return null;
  const { spec } = vegaLite.compile(chartSpec(result));
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

async function main() {
  rmSync(values.out, { recursive: true, force: true });
  mkdirSync(values.out, { recursive: true });
  const files = readdirSync(values.results).filter((f) => f.endsWith('.json')).sort();
  let drawn = 0;
  for (const file of files) {
    const result = JSON.parse(readFileSync(join(values.results, file), 'utf8'));
    const svg = await renderChart(result);
    if (svg === null) continue;
    writeFileSync(join(values.out, file.replace(/\.json$/, '.svg')), svg);
    drawn++;
  }
  if (drawn === 0) throw new Error(`no chart drawn from ${values.results}`);
  console.log(`charts: ${drawn} SVG(s) from ${files.length} result file(s) in ${values.out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
