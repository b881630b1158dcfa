import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AsyncEmbeddedDB, EmbeddedDB } from '@loomdb/db';

const dir = mkdtempSync(join(tmpdir(), 'loomdb-async-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('AsyncEmbeddedDB', () => {
  it('keeps the event loop running during a long batch', async () => {
    const adb = await AsyncEmbeddedDB.open(join(dir, 'long'), { durability: 'relaxed' });
    const nodes = Array.from({ length: 150_000 }, (_, i) => ({ id: `n${i}`, type: 'Message', properties: { i, text: `message number ${i}` } }));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const ids = await adb.insertNodesBatch(nodes);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(ids).toHaveLength(nodes.length);
    expect((await adb.stats()).nodes).toBe(nodes.length);
    // The batch ran long enough to matter, and the timer kept firing through it:
    // with the work on the JS thread there would be at most one tick. (Not a
    // rate: a loaded machine may run the timer late, but it runs.)
    expect(elapsed).toBeGreaterThan(100);
    expect(ticks).toBeGreaterThan(3);
    adb.close();
  });

  it('sees the same database as EmbeddedDB', async () => {
    const path = join(dir, 'shared');
    const db = EmbeddedDB.open(path, { spaces: { default: { dimensions: 2, metric: 'l2' } } });
    const adb = await AsyncEmbeddedDB.open(path);
    const a = await adb.insertNode({ id: 'a', type: 'T', properties: { x: 1 } });
    expect(db.getNode('a')).toEqual(a);
    db.insertNode({ id: 'b', type: 'T' });
    await adb.insertEdge({ id: 'ab', type: 'R', from: 'a', to: 'b' });
    await adb.insertEmbedding('a', [0, 0]);
    await adb.insertEmbedding('b', [3, 4]);
    expect(await adb.searchVectors([3, 3], { k: 2 })).toEqual([
      { id: 'b', distance: 1 },
      { id: 'a', distance: Math.hypot(3, 3) },
    ].map((h) => ({ ...h, distance: expect.closeTo(h.distance, 5) })));
    expect(Array.from((await adb.getEmbedding('b')) ?? [])).toEqual([3, 4]);
    expect((await adb.updateNode('a', { properties: { y: 2 } })).properties).toEqual({ x: 1, y: 2 });
    expect(await adb.getEdge('ab')).toEqual(db.getEdge('ab'));
    expect(await adb.deleteEdge('ab')).toBe(true);
    expect(await adb.deleteNode('b')).toBe(true);
    expect(await adb.stats()).toEqual(db.stats());
    adb.close();
    db.close();
  });

  it('runs concurrent calls', async () => {
    const adb = await AsyncEmbeddedDB.open(join(dir, 'concurrent'));
    const inserted = await Promise.all(Array.from({ length: 200 }, (_, i) => adb.insertNode({ id: `c${i}`, type: 'T' })));
    expect(new Set(inserted.map((n) => n.id)).size).toBe(200);
    const read = await Promise.all(inserted.map((n) => adb.getNode(n.id)));
    expect(read).toEqual(inserted);
    adb.close();
  });
});
