import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedDB, hashingEmbed } from '@loomdb/db';
import { seededRandom } from '@loomdb/db/testing';
// @ts-expect-error a plain ES module shared with the child process
import { newEmbedder } from './fixtures/reembed-embedder.mjs';

const dir = mkdtempSync(join(tmpdir(), 'loomdb-reembed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const child = join(__dirname, 'fixtures', 'reembed-child.mjs');
const WORDS = 'river mountain lantern harbor violin garden comet meadow copper orchid glacier pepper falcon quartz canyon willow'.split(' ');
const COUNT = 400;

/** The same 400 messages with 16-d vectors of the old embedder, in a new database at `path`. */
function seed(path: string): void {
  const random = seededRandom(17);
  const db = EmbeddedDB.open(path, { spaces: { default: { dimensions: 16, metric: 'cosine', embedder: 'test:hash16' } } });
  const texts = Array.from({ length: COUNT }, () => Array.from({ length: 6 }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' '));
  db.insertNodesBatch(texts.map((content, i) => ({ id: `m${i}`, type: 'Message', properties: { content } })));
  db.insertEmbeddingsBatch(texts.map((content, i) => ({ nodeId: `m${i}`, vector: hashingEmbed(content, 16) })));
  db.close();
}

/** Runs the child re-embedding `path`. Resolves with its progress lines and how it ended. */
function run(path: string, args: string[]): Promise<{ lines: number[]; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, path, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: number[] = [];
    createInterface({ input: proc.stdout }).on('line', (line) => lines.push(Number(line)));
    proc.on('error', reject);
    proc.on('exit', (_code, signal) => resolve({ lines, signal }));
  });
}

const query = hashingEmbed('lantern harbor comet', 16);
const spaceOf = (db: EmbeddedDB) => db.stats().spaces.map(({ graph: _graph, ...s }) => s);

describe('reembed across processes', () => {
  it('killed mid-way (-9, twice) and resumed ends equal to one clean run; other processes search the old vectors until the switch', async () => {
    const [interrupted, clean] = [join(dir, 'interrupted'), join(dir, 'clean')];
    seed(interrupted);
    seed(clean);

    const reader = EmbeddedDB.open(interrupted, { readOnly: true });
    const before = reader.searchVectors(query, { k: 10 });
    let searches = 0;
    let differing = 0;
    const poll = setInterval(() => {
      searches++;
      try {
        if (JSON.stringify(reader.searchVectors(query, { k: 10 })) !== JSON.stringify(before)) differing++;
      } catch {
        differing++; // the space changed under the reader: as wrong as other results
      }
    }, 2);
    // Killed by itself at two points (a kill from here raced the child to its end on a fast machine).
    const first = await run(interrupted, ['160']);
    const second = await run(interrupted, ['320']);
    clearInterval(poll);
    expect(first.signal).toBe('SIGKILL');
    expect(second.signal).toBe('SIGKILL');
    // The second run went on from the first's vectors, not from zero.
    expect(second.lines[0]).toBeGreaterThanOrEqual(160);
    expect(second.lines.at(-1)).toBeLessThan(COUNT);
    expect(searches).toBeGreaterThan(10);
    expect(differing, 'a search saw vectors other than the old ones before the switch').toBe(0);
    expect(reader.stats().spaces.find((s) => s.name === 'default')).toMatchObject({ dimensions: 16, embedder: 'test:hash16', embeddings: COUNT });
    reader.close();

    const resumed = EmbeddedDB.open(interrupted);
    const result = await resumed.reembed('default', { embedder: newEmbedder, batchSize: 16 });
    expect(result.embedded).toBeLessThan(COUNT - 160);
    expect(result.vectors).toBe(COUNT);
    const once = EmbeddedDB.open(clean);
    expect(await once.reembed('default', { embedder: newEmbedder, batchSize: 16 })).toMatchObject({ embedded: COUNT, vectors: COUNT });

    expect(spaceOf(resumed)).toEqual(spaceOf(once));
    expect(spaceOf(resumed)).toEqual([expect.objectContaining({ name: 'default', dimensions: 24, embedder: 'test:hash24', embeddings: COUNT })]);
    for (let i = 0; i < COUNT; i++) expect(resumed.getEmbedding(`m${i}`), `m${i}`).toEqual(once.getEmbedding(`m${i}`));
    const newQuery = hashingEmbed('lantern harbor comet', 24);
    expect(resumed.searchVectors(newQuery, { k: 10, exact: true })).toEqual(once.searchVectors(newQuery, { k: 10, exact: true }));
    expect(resumed.verify().ok).toBe(true);
    resumed.close();
    once.close();
  });
});
