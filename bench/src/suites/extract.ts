import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractEntities, extractEntitiesNlp, type NameKind } from '@loomdb/weaver';
import type { ExtractedEntity } from '@loomdb/db';
import { BENCH_ROOT, compare, type Measurement, type SuiteResult } from '../harness.js';

/**
 * Entity extraction quality: precision, recall and F1 of person, place and
 * organisation mentions (CoNLL's PER / LOC / ORG) for the weaver's default
 * NLP extractor (`nlp`) against the old rules (`rules`, capitalised words),
 * and messages/s of each.
 *
 * Datasets:
 * - CoNLL-2003 English test set (eng.testb, 3,453 sentences), read from
 *   `LOOMDB_CONLL_TEST` or `bench/data/conll2003/test.txt`. Its text is
 *   Reuters-licensed, so it is never committed; the dataset is skipped
 *   (with a printed line) when absent. Sentences are rebuilt from tokens
 *   (no space before punctuation and clitics).
 * - `bench/data/chat-ner.jsonl`: assistant-chat messages labelled by hand
 *   (trips, code, family, work), committed.
 *
 * Matching, per sentence: gold and predicted mentions are compared as sets
 * of entity texts (the extractor merges repeated mentions, so gold is
 * deduplicated the same way), case- and space-insensitively, after dropping
 * a leading title (Mr, Mrs, Ms, Dr, Prof, Professor, Sir) and a trailing
 * possessive on both sides — CoNLL labels "Patel" in "Dr. Patel", the
 * chat set labels "Dr. Patel"; an extractor that splits it into "Dr" and
 * "Patel" still gets a false positive for "Dr". Type-agnostic: a text
 * match is a hit. Type-aware: the kind must map to the gold type too
 * (person→PER, place→LOC, organization→ORG; `name`, the rules' only kind,
 * maps to none, so the rules score 0 there by construction).
 *
 * MISC (nationalities, events, products, languages) is excluded: MISC
 * mentions are not in the gold set, and a prediction equal to a MISC
 * mention is neither a hit nor a false positive (the extractors have no
 * MISC kind to aim at). Only proper-name predictions count (key prefix
 * `name:`); URLs, e-mails, handles, tags and code are the precise rules'
 * and are not NER claims — a name the code rule takes ("McIntyre",
 * "GitHub") is a miss for both extractors.
 */

type Gold = 'PER' | 'LOC' | 'ORG' | 'MISC';
interface Sentence {
  text: string;
  entities: Array<{ text: string; type: Gold }>;
}
interface Counts {
  tp: number;
  fp: number;
  fn: number;
}
interface Prf {
  precision: number;
  recall: number;
  f1: number;
  tp: number;
  fp: number;
  fn: number;
}

const KIND_TYPE: Partial<Record<NameKind | string, Gold>> = { person: 'PER', place: 'LOC', organization: 'ORG' };
const TYPES = ['PER', 'LOC', 'ORG'] as const;

const SYSTEMS: Array<{ system: string; extract: (text: string) => ExtractedEntity[] }> = [
  { system: "nlp (new default: wink-nlp + compromise)", extract: extractEntitiesNlp },
  { system: 'rules (old: capitalised words)', extract: extractEntities },
];

/** CoNLL-2003 in its usual shape: `token ... tag` per line, blank lines between sentences, -DOCSTART- lines. */
export function parseConll(source: string): Sentence[] {
  const sentences: Sentence[] = [];
  let tokens: Array<[string, string]> = [];
  const flush = () => {
    if (tokens.length === 0) return;
    let text = '';
    const starts: number[] = [];
    tokens.forEach(([tok], i) => {
      const glued = i === 0 || /^(?:[.,;:!?)\]}%]|'s|n't|'re|'ll|'ve|'d|'m)$/iu.test(tok) || /^[([{$]$/u.test(tokens[i - 1]![0]);
      if (!glued) text += ' ';
      starts.push(text.length);
      text += tok;
    });
    const entities: Sentence['entities'] = [];
    let open: { type: Gold; from: number; to: number } | null = null;
    tokens.forEach(([tok, tag], i) => {
      const [bio, type] = tag.split('-') as [string, Gold | undefined];
      const at = starts[i]!;
      if (type && (bio === 'B' || !open || open.type !== type)) {
        if (open) entities.push({ type: open.type, text: text.slice(open.from, open.to) });
        open = { type, from: at, to: at + tok.length };
      } else if (type && open) {
        open.to = at + tok.length;
      } else {
        if (open) entities.push({ type: open.type, text: text.slice(open.from, open.to) });
        open = null;
      }
    });
    if (open) entities.push({ type: (open as { type: Gold }).type, text: text.slice((open as { from: number }).from, (open as { to: number }).to) });
    sentences.push({ text, entities });
    tokens = [];
  };
  for (const line of source.split('\n')) {
    const parts = line.trim().split(/\s+/u);
    if (parts[0] === '') flush();
    else if (parts[0] !== '-DOCSTART-') tokens.push([parts[0]!, parts[parts.length - 1]!]);
  }
  flush();
  return sentences;
}

const TITLE = /^(?:mr|mrs|ms|miss|dr|prof|professor|sir)\.?\s+/iu;
const norm = (s: string) =>
  s
    .toLowerCase()
    .replace(/\s+/gu, ' ')
    .trim()
    .replace(TITLE, '')
    .replace(/[’']s$/u, '');

const prf = (c: Counts): Prf => {
  const precision = c.tp / (c.tp + c.fp || 1);
  const recall = c.tp / (c.tp + c.fn || 1);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return { precision: r3(precision), recall: r3(recall), f1: r3((2 * precision * recall) / (precision + recall || 1)), ...c };
};

/** Scores one extractor on one dataset (see the module comment for the matching rules). */
export function score(sentences: Sentence[], extract: (text: string) => ExtractedEntity[]) {
  const agnostic: Counts = { tp: 0, fp: 0, fn: 0 };
  const aware: Counts = { tp: 0, fp: 0, fn: 0 };
  const perType = Object.fromEntries(TYPES.map((t) => [t, { tp: 0, fp: 0, fn: 0 }])) as Record<(typeof TYPES)[number], Counts>;
  const falsePositives = new Map<string, number>();
  const misses = new Map<string, number>();
  const latencies = new Float64Array(sentences.length);
  const t0 = process.hrtime.bigint();
  const predictions = sentences.map((s, i) => {
    const t = process.hrtime.bigint();
    const found = extract(s.text);
    latencies[i] = Number(process.hrtime.bigint() - t) / 1000;
    return found;
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  latencies.sort();
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] as number;
  sentences.forEach((s, i) => {
    const gold = new Map<string, Gold>();
    const misc = new Set<string>();
    for (const e of s.entities) {
      const k = norm(e.text);
      if (e.type === 'MISC') misc.add(k);
      else if (!gold.has(k)) gold.set(k, e.type);
    }
    const predicted = new Map<string, Gold | undefined>();
    for (const e of predictions[i]!) {
      if (!e.key.startsWith('name:')) continue;
      const k = norm(e.name);
      if (k === '' || (misc.has(k) && !gold.has(k)) || predicted.has(k)) continue;
      predicted.set(k, KIND_TYPE[e.kind]);
    }
    for (const [k, type] of predicted) {
      const want = gold.get(k);
      if (want === undefined) {
        agnostic.fp++;
        aware.fp++;
        if (type && type !== 'MISC') perType[type].fp++;
        falsePositives.set(k, (falsePositives.get(k) ?? 0) + 1);
        continue;
      }
      agnostic.tp++;
      if (type === want) {
        aware.tp++;
        perType[want as (typeof TYPES)[number]].tp++;
      } else {
        aware.fp++;
        aware.fn++;
        if (type && type !== 'MISC') perType[type].fp++;
        perType[want as (typeof TYPES)[number]].fn++;
      }
    }
    for (const [k, type] of gold) {
      if (predicted.has(k)) continue;
      agnostic.fn++;
      aware.fn++;
      perType[type as (typeof TYPES)[number]].fn++;
      misses.set(k, (misses.get(k) ?? 0) + 1);
    }
  });
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([k, n]) => (n > 1 ? `${k} ×${n}` : k));
  return {
    agnostic: prf(agnostic),
    aware: prf(aware),
    perType: Object.fromEntries(TYPES.map((t) => [t, prf(perType[t])])) as Record<(typeof TYPES)[number], Prf>,
    messagesPerSec: sentences.length / seconds,
    seconds,
    p50us: at(0.5),
    p99us: at(0.99),
    topFalsePositives: top(falsePositives),
    topMisses: top(misses),
  };
}

function loadChat(path: string): Sentence[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Sentence);
}

const f3 = (x: number) => x.toFixed(3);

export async function extract(): Promise<SuiteResult> {
  const conllPath = process.env.LOOMDB_CONLL_TEST ?? join(BENCH_ROOT, 'data', 'conll2003', 'test.txt');
  const datasets: Array<{ name: string; sentences: Sentence[] }> = [{ name: 'chat-ner (hand-labelled)', sentences: loadChat(join(BENCH_ROOT, 'data', 'chat-ner.jsonl')) }];
  if (existsSync(conllPath)) datasets.push({ name: 'CoNLL-2003 test (eng.testb)', sentences: parseConll(readFileSync(conllPath, 'utf8')) });
  else console.log(`extract: skipping CoNLL-2003 (no file at ${conllPath}; set LOOMDB_CONLL_TEST=/path/to/eng.testb)`);

  // Warm both (wink's model loads on first use; JIT), untimed.
  for (const { extract: x } of SYSTEMS) for (const s of datasets[0]!.sentences.slice(0, 50)) x(s.text);

  const measurements: Measurement[] = [];
  const comparisons = [];
  const results: Record<string, Record<string, ReturnType<typeof score>>> = {};
  const rows: string[] = [];
  const typeRows: string[] = [];
  const errors: string[] = [];
  for (const d of datasets) {
    results[d.name] = {};
    const mentions = d.sentences.reduce((n, s) => n + s.entities.filter((e) => e.type !== 'MISC').length, 0);
    for (const { system, extract: x } of SYSTEMS) {
      const r = score(d.sentences, x);
      results[d.name]![system] = r;
      const c = `${d.name}: messages/s`;
      measurements.push({ case: c, system, ops: d.sentences.length, opsPerSec: r.messagesPerSec, p50us: r.p50us, p99us: r.p99us });
      rows.push(
        `| ${d.name} (${d.sentences.length} sentences, ${mentions} PER/LOC/ORG mentions) | ${system} | ${f3(r.agnostic.precision)} | ${f3(r.agnostic.recall)} | **${f3(r.agnostic.f1)}** | ${f3(r.aware.precision)} | ${f3(r.aware.recall)} | ${f3(r.aware.f1)} | ${Math.round(r.messagesPerSec).toLocaleString('en-US')} |`,
      );
      typeRows.push(`| ${d.name} | ${system} | ${TYPES.map((t) => `${f3(r.perType[t].precision)} / ${f3(r.perType[t].recall)} / ${f3(r.perType[t].f1)}`).join(' | ')} |`);
      errors.push(`- ${d.name}, ${system}: false positives ${r.topFalsePositives.join(', ') || '—'}; misses ${r.topMisses.join(', ') || '—'}`);
    }
    comparisons.push(compare(measurements, `${d.name}: messages/s`, SYSTEMS[0]!.system, SYSTEMS[1]!.system));
  }
  const [nlp, rules] = [SYSTEMS[0]!.system, SYSTEMS[1]!.system];
  const targets = datasets.map((d) => {
    const n = results[d.name]![nlp]!.agnostic.f1;
    const o = results[d.name]![rules]!.agnostic.f1;
    return `- ${d.name}: nlp F1 ${f3(n)} (target ≥ 0.75: ${n >= 0.75 ? 'met' : 'missed'}), ${(n / o).toFixed(2)}× the rules' ${f3(o)} (target ≥ 2×: ${n >= 2 * o ? 'met' : 'missed'})`;
  });
  const sections = [
    '## Entity quality (PER / LOC / ORG mentions; MISC excluded)',
    '',
    'Per sentence, predicted and gold mention texts are compared as sets (case- and space-insensitive, leading title and trailing possessive dropped on both sides). Type-agnostic: the text matches. Type-aware: the kind maps to the gold type too (person→PER, place→LOC, organization→ORG; the rules only have `name`). MISC mentions are not gold, and a prediction equal to one is ignored. Only proper-name predictions (`name:` keys) count.',
    '',
    '| dataset | extractor | P | R | F1 | typed P | typed R | typed F1 | messages/s |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    'Targets (type-agnostic F1):',
    '',
    ...targets,
    '',
    '## Per type (precision / recall / F1, type-aware)',
    '',
    '| dataset | extractor | PER | LOC | ORG |',
    '| --- | --- | --- | --- | --- |',
    ...typeRows,
    '',
    '## Most frequent errors',
    '',
    ...errors,
    '',
  ];
  return {
    suite: 'extract',
    dataset:
      datasets.map((d) => `${d.name}: ${d.sentences.length} sentences`).join('; ') +
      '. Messages/s: one extract() call per sentence, single thread, after a short warm-up (the NLP extractor memoises compromise look-ups per word and name, so repeated names get cheaper).',
    measurements,
    comparisons,
    sections,
    data: results,
  };
}
