import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDB, type LoomPlugin } from '@loomdb/db';
import { localEmbedderPlugin, type LocalEmbedder } from '@loomdb/embed-local';
import { MemoryQueries } from '@loomdb/query';
import { MESSAGE_SPACE } from '@loomdb/query/memory';
import { WeaverController, type WeaverEvent } from '@loomdb/weaver';
import { installTestModels } from './helpers.js';

let models: ReturnType<typeof installTestModels>;
const plugins: Array<LoomPlugin & { close(): Promise<void> }> = [];
const dirs: string[] = [];

beforeAll(() => {
  models = installTestModels();
});

afterAll(async () => {
  await Promise.all(plugins.map((p) => p.close()));
  for (const dir of [...dirs, models.cache]) rmSync(dir, { recursive: true, force: true });
});

function openDb(path?: string): { db: EmbeddedDB; path: string } {
  const dbPath = path ?? join(mkdtempSync(join(tmpdir(), 'loomdb-embed-')), 'db');
  if (!path) dirs.push(dirname(dbPath));
  const plugin = localEmbedderPlugin({ model: 'all-MiniLM-L6-v2-int8' });
  plugins.push(plugin);
  return { db: EmbeddedDB.open(dbPath, { plugins: [plugin] }), path: dbPath };
}

const T0 = Date.UTC(2026, 5, 1);
const CHAT: WeaverEvent[] = [
  'Maria loves pastries. Where can we find the best pastel de nata?',
  'My espresso tastes sour. What am I doing wrong?',
  'Why would an embedded database in Rust use LMDB for storage?',
  'We are flying to Lisbon in May and need a hotel near the river.',
  'The dog keeps barking at the mail carrier every morning.',
].map((content, i) => ({ id: `m${i}`, type: 'message', conversationId: 'c1', role: 'user', content, timestamp: T0 + i * 60_000 }));

/** The chat through a weaver that embeds with the local model, drained. */
async function ingestChat(db: EmbeddedDB): Promise<void> {
  const weaver = new WeaverController(db, { embedder: 'local', maxLatencyMs: 1 });
  await weaver.initialize();
  await weaver.submitEvents(CHAT);
  await weaver.shutdown({ drain: true });
}

describe('the weaver and memory queries with a real model', () => {
  it('finds messages by meaning, not shared words, and the space records the exact model that filled it', async () => {
    const { db } = openDb();
    await ingestChat(db);
    const local = db.embedder('local') as LocalEmbedder;
    expect(db.stats().spaces.find((s) => s.name === MESSAGE_SPACE)).toMatchObject({ dimensions: 384, embedder: local.id });
    expect(local.id).toMatch(/^local:all-MiniLM-L6-v2-int8@[0-9a-f]{12}$/);

    const memory = new MemoryQueries(db);
    const top = async (text: string) => (await memory.findSimilarMemories(text, { k: 1 })).items[0]?.node.properties.content;
    // No word of these questions occurs in the message they should find.
    expect(await top('cakes and desserts')).toMatch(/pastel de nata/);
    expect(await top('accommodation for our trip to Portugal')).toMatch(/hotel near the river/);
    expect(await top('my coffee is bitter and acidic')).toMatch(/espresso/);
    expect(await top('which key-value store suits a storage engine?')).toMatch(/LMDB/);
    expect(await top('noisy puppy')).toMatch(/dog keeps barking/);
    db.close();
  });

  it('a space filled by other weights is a CONFLICT naming both, for the weaver and for text queries', async () => {
    const { db } = openDb();
    const pinned = 'local:all-MiniLM-L6-v2-int8@000000000000';
    db.createSpace(MESSAGE_SPACE, { dimensions: 384, metric: 'cosine', embedder: pinned });
    const weaver = new WeaverController(db, { maxLatencyMs: 1 });
    await expect(weaver.initialize()).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/embedded by local:all-MiniLM-L6-v2-int8@000000000000, but model "all-MiniLM-L6-v2-int8" now has weights [0-9a-f]{12}/) });
    await expect(new MemoryQueries(db).findSimilarMemories('anything')).rejects.toMatchObject({ code: 'CONFLICT' });
    db.close();
  });

  it('a space filled by the hashing embedder is not silently filled with model vectors', async () => {
    const { db } = openDb();
    db.createSpace(MESSAGE_SPACE, { dimensions: 384, metric: 'cosine', embedder: 'hashing' });
    const weaver = new WeaverController(db, { embedder: 'local', maxLatencyMs: 1 });
    await expect(weaver.initialize()).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/holds vectors of embedder "hashing", not "local:all-MiniLM-L6-v2-int8@/) });
    db.close();
  });

  it('a database opened without plugins finds the model from the id its space recorded (the package is installed)', async () => {
    const { db, path } = openDb();
    await ingestChat(db);
    db.close();
    const plain = EmbeddedDB.open(path);
    const page = await new MemoryQueries(plain).findSimilarMemories('accommodation for our trip to Portugal', { k: 1 });
    expect(page.items[0]?.node.properties.content).toMatch(/hotel near the river/);
    const more = new WeaverController(plain, { maxLatencyMs: 1 });
    await more.initialize(); // the space's embedder, found the same way
    await more.shutdown();
    plain.close();
  });

  it('a reopened database finds its model again from the id the space recorded', async () => {
    const { db, path } = openDb();
    await ingestChat(db);
    db.close();
    const { db: again } = openDb(path);
    const page = await new MemoryQueries(again).findSimilarMemories('cakes and desserts', { k: 1 });
    expect(page.items[0]?.node.properties.content).toMatch(/pastel de nata/);
    again.close();
  });
});
