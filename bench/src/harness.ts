import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** One measured case of one system. */
export interface Measurement {
  case: string;
  system: string;
  ops: number;
  opsPerSec: number;
  p50us: number;
  p99us: number;
}

/** A LoomDB case set against a peer, with the target ratio from the issue, if any. */
export interface Comparison {
  case: string;
  loomdb: string;
  peer: string;
  ratio: number;
  target?: number;
}

export interface SuiteResult {
  suite: string;
  dataset: string;
  measurements: Measurement[];
  comparisons: Comparison[];
  /** Suite-specific markdown appended to the report (tables that are not ops/s). */
  sections?: string[];
  /** Suite-specific raw results kept in the JSON. */
  data?: unknown;
}

function summarize(system: string, caseName: string, samples: Float64Array, totalSec: number): Measurement {
  samples.sort();
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] as number;
  return { case: caseName, system, ops: samples.length, opsPerSec: samples.length / totalSec, p50us: at(0.5), p99us: at(0.99) };
}

/**
 * Times `op` `count` times, one call per sample (latencies are per call),
 * after `warmup` untimed calls. `op(i)` gets the iteration number.
 */
export async function measure(system: string, caseName: string, count: number, op: (i: number) => unknown, warmup = Math.min(1000, count)): Promise<Measurement> {
  return (await measureInterleaved(caseName, [{ system, op }], 1, count, warmup))[0] as Measurement;
}

/**
 * Times several systems in alternating rounds of `perRound` calls each, so
 * that drift in the machine (disk flush latency above all) hits them alike.
 */
export async function measureInterleaved(
  caseName: string,
  systems: Array<{ system: string; op: (i: number) => unknown }>,
  rounds: number,
  perRound: number,
  warmup = 100,
): Promise<Measurement[]> {
  const state = systems.map(() => ({ samples: new Float64Array(rounds * perRound), seconds: 0, next: 0 }));
  for (const [s, { op }] of systems.entries()) {
    for (let i = 0; i < warmup; i++) await op(i);
    (state[s] as { next: number }).next = warmup;
  }
  for (let round = 0; round < rounds; round++) {
    for (const [s, { op }] of systems.entries()) {
      const st = state[s] as { samples: Float64Array; seconds: number; next: number };
      const start = process.hrtime.bigint();
      for (let j = 0; j < perRound; j++) {
        const t0 = process.hrtime.bigint();
        const r = op(st.next++);
        if (r instanceof Promise) await r;
        st.samples[round * perRound + j] = Number(process.hrtime.bigint() - t0) / 1000;
      }
      st.seconds += Number(process.hrtime.bigint() - start) / 1e9;
    }
  }
  return systems.map(({ system }, s) => summarize(system, caseName, (state[s] as { samples: Float64Array }).samples, (state[s] as { seconds: number }).seconds));
}

/** A scratch directory on the same disk as the repository (so fsync is real, not tmpfs). */
export function scratchDir(name: string): string {
  const parent = join(BENCH_ROOT, '.data');
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(join(parent, `${name}-`));
}

export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
  };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The markdown report: machine, date, dataset, measurements, ratios. */
export function markdown(result: SuiteResult, when: Date): string {
  const m = machine();
  const lines = [
    `# Benchmark: ${result.suite}`,
    '',
    `- date: ${when.toISOString()}`,
    `- machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}`,
    `- dataset: ${result.dataset}`,
    '',
    '| case | system | ops/s | p50 µs | p99 µs |',
    '| --- | --- | ---: | ---: | ---: |',
    ...result.measurements.map((x) => `| ${x.case} | ${x.system} | ${fmt(x.opsPerSec)} | ${fmt(x.p50us, 1)} | ${fmt(x.p99us, 1)} |`),
    '',
    'Ratios are LoomDB ops/s ÷ peer ops/s (higher is better for LoomDB).',
    '',
    '| case | LoomDB | peer | ratio | target |',
    '| --- | --- | --- | ---: | --- |',
    ...result.comparisons.map(
      (c) => `| ${c.case} | ${c.loomdb} | ${c.peer} | ${fmt(c.ratio, 2)}× | ${c.target === undefined ? 'reported' : `≥ ${c.target}× ${c.ratio >= c.target ? '(met)' : '(missed)'}`} |`,
    ),
    '',
    ...(result.sections ?? []),
  ];
  return lines.join('\n');
}

export function compare(measurements: Measurement[], caseName: string, loomdb: string, peer: string, target?: number): Comparison {
  const find = (system: string) => {
    const found = measurements.find((x) => x.case === caseName && x.system === system);
    if (!found) throw new Error(`no measurement for ${system} / ${caseName}`);
    return found;
  };
  return { case: caseName, loomdb, peer, ratio: find(loomdb).opsPerSec / find(peer).opsPerSec, target };
}

export function writeResults(result: SuiteResult): string {
  const when = new Date();
  const dir = join(BENCH_ROOT, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${result.suite}.json`), `${JSON.stringify({ ...result, date: when.toISOString(), machine: machine() }, null, 2)}\n`);
  const md = markdown(result, when);
  writeFileSync(join(dir, `${result.suite}.md`), md);
  return md;
}
