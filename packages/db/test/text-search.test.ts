import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { AsyncEmbeddedDB, EmbeddedDB, type TextIndexSpec } from '@loomdb/db';
import { expectLoomError } from '@loomdb/db/testing';

const dir = mkdtempSync(join(tmpdir(), 'loomdb-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `db${n++}`);
const MESSAGES: TextIndexSpec = { types: ['Message'], fields: ['content'] };
const ids = (hits: Array<{ id: string }>) => hits.map((h) => h.id);

function withMessages(path = fresh()): EmbeddedDB {
  const db = EmbeddedDB.open(path, { textIndexes: { default: MESSAGES } });
  db.insertNodesBatch([
    { id: 'alps', type: 'Message', properties: { content: 'We hiked the Alps in June and slept in a hut' } },
    { id: 'coffee', type: 'Message', properties: { content: 'Coffee, coffee: the espresso tasted sour', role: 'user' } },
    { id: 'tea', type: 'Message', properties: { content: 'I prefer green tea to coffee', role: 'assistant' } },
    { id: 'note', type: 'Note', properties: { content: 'coffee beans to buy' } },
  ]);
  return db;
}

describe('full-text search (native backend)', () => {
  it('ranks by BM25 over the declared types, stemmed and folded, with filters and k', () => {
    const db = withMessages();
    expect(ids(db.searchText('coffee'))).toEqual(['coffee', 'tea']);
    expect(ids(db.searchText('HIKING alpś'))).toEqual(['alps']);
    expect(ids(db.searchText('coffee', { k: 1 }))).toEqual(['coffee']);
    expect(ids(db.searchText('coffee', { filter: { where: { role: 'assistant' } } }))).toEqual(['tea']);
    expect(db.searchText('the and of !!')).toEqual([]);
    const [best] = db.searchText('espresso');
    expect(best?.score).toBeGreaterThan(0);
    expect(db.stats().textIndexes).toEqual([
      { name: 'default', types: ['Message'], fields: ['content'], language: 'en', stopWords: true, k1: 1.2, b: 0.75, documents: 3 },
    ]);
    db.close();
  });

  it('follows updates, deletes, batches and rolled-back transactions', () => {
    const db = withMessages();
    db.updateNode('tea', { properties: { content: 'matcha only' } });
    expect(ids(db.searchText('coffee'))).toEqual(['coffee']);
    expect(ids(db.searchText('matcha'))).toEqual(['tea']);
    db.deleteNode('coffee');
    expect(db.searchText('espresso')).toEqual([]);
    expect(() =>
      db.transaction((tx) => {
        tx.insertNode({ id: 'gone', type: 'Message', properties: { content: 'a transaction about zebras' } });
        expect(ids(tx.searchText('zebra'))).toEqual(['gone']);
        throw new Error('roll back');
      }),
    ).toThrow('roll back');
    expect(db.searchText('zebra')).toEqual([]);
    db.writeBatch({ insertNodes: [{ id: 'batched', type: 'Message', properties: { content: 'zebras in a batch' } }] });
    expect(ids(db.searchText('zebra'))).toEqual(['batched']);
    expect(db.stats().textIndexes?.[0]?.documents).toBe(3);
    expect(db.verify().ok).toBe(true);
    db.close();
  });

  it('creates an index over existing nodes with progress, refuses a different redeclaration, and drops it', () => {
    const db = withMessages();
    const seen: number[] = [];
    expect(db.createTextIndex('everything', { types: ['Message', 'Note'], fields: ['content'], language: 'none' }, { onProgress: ({ done }) => void seen.push(done) })).toBe(true);
    expect(seen.at(-1)).toBe(4);
    expect(ids(db.searchText('coffee', { index: 'everything' })).sort()).toEqual(['coffee', 'note', 'tea']);
    expect(db.createTextIndex('everything', { types: ['Message', 'Note'], fields: ['content'], language: 'none' })).toBe(false);
    expectLoomError(() => db.createTextIndex('everything', MESSAGES), 'INVALID_ARGUMENT');
    const stop = new AbortController();
    stop.abort(new Error('no'));
    expectLoomError(() => db.createTextIndex('later', MESSAGES, { signal: stop.signal }), 'ABORTED');
    expect(db.dropTextIndex('everything')).toBe(true);
    expect(db.dropTextIndex('everything')).toBe(false);
    expectLoomError(() => db.searchText('coffee', { index: 'everything' }), 'NOT_FOUND');
    db.close();
  });

  it('refuses bad input naming it, and says UNSUPPORTED on a backend without text indexes', () => {
    const db = withMessages();
    for (const bad of ['', '   ', 42, null]) expectLoomError(() => db.searchText(bad as string), 'INVALID_ARGUMENT');
    expectLoomError(() => db.searchText('x', { k: 0 }), 'INVALID_ARGUMENT');
    expectLoomError(() => db.searchText('x', { index: 'bad name' }), 'INVALID_ARGUMENT');
    expectLoomError(() => db.searchText('x', { nope: 1 } as never), 'INVALID_ARGUMENT');
    expect(expectLoomError(() => db.createTextIndex('x', { types: ['M'], fields: ['c'], language: 'klingon' }), 'INVALID_ARGUMENT').message).toContain('klingon');
    expectLoomError(() => db.createTextIndex('x', { types: [], fields: ['c'] }), 'INVALID_ARGUMENT');
    expectLoomError(() => db.createTextIndex('x', { types: ['M'], fields: ['c'], k1: Number.NaN }), 'INVALID_ARGUMENT');
    db.close();
    const memory = EmbeddedDB.open(undefined, { storage: 'memory' });
    expectLoomError(() => memory.searchText('coffee'), 'UNSUPPORTED');
    memory.close();
  });

  it('keeps the index through backup, restore and compaction, and opens read-only with it declared', () => {
    const path = fresh();
    const db = withMessages(path);
    db.deleteNode('tea');
    db.compact();
    expect(ids(db.searchText('coffee'))).toEqual(['coffee']);
    const backup = join(dir, `backup${n++}`);
    db.backup(backup);
    db.close();
    const restored = fresh();
    EmbeddedDB.restore(backup, restored);
    const again = EmbeddedDB.open(restored, { readOnly: true, textIndexes: { default: MESSAGES } });
    expect(ids(again.searchText('espresso'))).toEqual(['coffee']);
    expect(again.verify().ok).toBe(true);
    again.close();
  });

  it('is searched off the JavaScript thread on the async handle, which sees what another process committed', async () => {
    const path = fresh();
    const adb = await AsyncEmbeddedDB.open(path, { textIndexes: { default: MESSAGES } });
    await adb.insertNode({ id: 'here', type: 'Message', properties: { content: 'local words' } });
    const script = `import { EmbeddedDB } from '@loomdb/db';
      const db = EmbeddedDB.open(process.argv[1]);
      db.insertNode({ id: 'there', type: 'Message', properties: { content: 'written by another process about volcanoes' } });
      db.close();`;
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, path], { cwd: __dirname, stdio: 'inherit' });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child exited ${code}`))));
    });
    expect(ids(await adb.searchText('volcano'))).toEqual(['there']);
    expect(await adb.createTextIndex('roles', { types: ['Message'], fields: ['content'], language: 'none' })).toBe(true);
    expect(ids(await adb.searchText('words', { index: 'roles' }))).toEqual(['here']);
    await adb.close();
  });

  it('keeps the index equal to the records through kill -9 of a writer', async () => {
    const path = fresh();
    EmbeddedDB.open(path, { textIndexes: { default: MESSAGES } }).close();
    const script = `import { EmbeddedDB } from '@loomdb/db';
      const db = EmbeddedDB.open(process.argv[1]);
      for (let i = 0; ; i++) {
        db.insertNode({ id: 'm' + i, type: 'Message', properties: { content: 'word' + i + ' shared text' } });
        if (i % 3 === 0) db.updateNode('m' + i, { properties: { content: 'changed' + i + ' shared text' } });
        if (i % 5 === 4) db.deleteNode('m' + (i - 1));
        process.stdout.write(i + '\\n');
      }`;
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, path], { cwd: __dirname, stdio: ['ignore', 'pipe', 'inherit'] });
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (Number(line) === 300) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    const db = EmbeddedDB.open(path);
    const messages = [...db.iterateNodes({ type: 'Message' })];
    expect(messages.length).toBeGreaterThan(200);
    expect(db.stats().textIndexes?.[0]?.documents).toBe(messages.length);
    expect(ids(db.searchText('shared', { k: 100_000 })).sort()).toEqual(messages.map((m) => m.id).sort());
    for (const m of messages) {
      const word = String(m.properties.content).split(' ')[0] as string;
      expect(ids(db.searchText(word)), m.id).toEqual([m.id]);
    }
    db.close();
  });
});
