import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AsyncEmbeddedDB, EmbeddedDB, LoomError, type LoomPlugin } from '@loomdb/db';
import { errorCode as codeOf } from './error-code.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'loomdb-leftovers-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let serial = 0;
const fresh = (name: string) => join(root, `${name}-${serial++}`);


/** A database at a new path with one node, and a backup of it. */
function withBackup(name: string): { path: string; backup: string } {
  const path = fresh(name);
  const db = EmbeddedDB.open(path);
  db.insertNode({ id: 'kept', type: 'T' });
  const backup = db.backup(fresh(`${name}-backup`)).path;
  db.close();
  return { path, backup };
}

/**
 * Whether this process still has the database at `path` open: restoring
 * over a path open here is LOCKED; with no handle left it goes ahead.
 */
function openHere(path: string, backup: string): boolean {
  try {
    EmbeddedDB.restore(backup, path, { overwrite: true });
    return false;
  } catch (e) {
    if (LoomError.is(e) && e.code === 'LOCKED') return true;
    throw e;
  }
}

describe('a plugin whose onOpen throws', () => {
  const failing = (seen: unknown[]): LoomPlugin => ({
    name: 'failing',
    onOpen(db) {
      seen.push(db);
      throw new Error('plugin failed');
    },
  });

  it('EmbeddedDB.open closes the handle it made and throws a LoomError', () => {
    const { path, backup } = withBackup('sync-plugin');
    const seen: EmbeddedDB[] = [];
    let thrown: unknown;
    try {
      EmbeddedDB.open(path, { plugins: [failing(seen)] });
    } catch (e) {
      thrown = e;
    }
    expect(LoomError.is(thrown) && thrown.message).toContain('plugin failed');
    expect(seen[0]?.closed).toBe(true);
    expect(codeOf(() => seen[0]?.getNode('kept'))).toBe('CLOSED');
    expect(openHere(path, backup)).toBe(false);
  });

  it('AsyncEmbeddedDB.open closes the handle it made, for a throwing and a rejecting onOpen', async () => {
    const { path, backup } = withBackup('async-plugin');
    const seen: AsyncEmbeddedDB[] = [];
    await expect(AsyncEmbeddedDB.open(path, { plugins: [failing(seen)] })).rejects.toMatchObject({ message: expect.stringContaining('plugin failed') });
    const rejecting: LoomPlugin = {
      name: 'rejecting',
      async onOpen(db) {
        seen.push(db as AsyncEmbeddedDB);
        throw new Error('plugin rejected');
      },
    };
    await expect(AsyncEmbeddedDB.open(path, { plugins: [rejecting] })).rejects.toMatchObject({ message: expect.stringContaining('plugin rejected') });
    expect(seen.map((db) => db.closed)).toEqual([true, true]);
    expect(openHere(path, backup)).toBe(false);
  });
});

describe('closing the database inside a transaction', () => {
  it('EmbeddedDB: rolls the transaction back and the transaction call throws CLOSED; nothing is committed', () => {
    const path = fresh('sync-close');
    const db = EmbeddedDB.open(path);
    let after = '';
    expect(
      codeOf(() =>
        db.transaction((tx) => {
          tx.insertNode({ id: 'inside', type: 'T' });
          db.close();
          after = codeOf(() => tx.insertNode({ id: 'after', type: 'T' }));
          return 'done';
        }),
      ),
    ).toBe('CLOSED');
    expect(after).toBe('CLOSED');
    expect(db.closed).toBe(true);
    const again = EmbeddedDB.open(path);
    expect(again.getNode('inside')).toBeNull();
    expect(again.getNode('after')).toBeNull();
    // The writer lock was released: a new transaction commits.
    again.transaction((tx) => void tx.insertNode({ id: 'later', type: 'T' }));
    expect(again.getNode('later')).not.toBeNull();
    again.close();
  });

  it('EmbeddedDB: closing inside a savepoint rolls back the whole transaction', () => {
    const path = fresh('sync-close-savepoint');
    const db = EmbeddedDB.open(path);
    expect(
      codeOf(() =>
        db.transaction((tx) => {
          tx.insertNode({ id: 'outer', type: 'T' });
          tx.transaction((inner) => {
            inner.insertNode({ id: 'inner', type: 'T' });
            db.close();
          });
        }),
      ),
    ).toBe('CLOSED');
    const again = EmbeddedDB.open(path);
    expect([again.getNode('outer'), again.getNode('inner')]).toEqual([null, null]);
    again.close();
  });

  it('AsyncEmbeddedDB: rolls the transaction back and the transaction rejects with CLOSED; nothing is committed', async () => {
    const path = fresh('async-close');
    const db = await AsyncEmbeddedDB.open(path);
    let after: unknown;
    await expect(
      db.transaction(async (tx) => {
        await tx.insertNode({ id: 'inside', type: 'T' });
        db.close();
        after = await tx.insertNode({ id: 'after', type: 'T' }).catch((e: unknown) => e);
        return 'done';
      }),
    ).rejects.toMatchObject({ code: 'CLOSED' });
    expect(after).toMatchObject({ code: 'CLOSED' });
    const nested = await AsyncEmbeddedDB.open(path);
    await expect(
      nested.transaction(async (tx) => {
        await tx.insertNode({ id: 'outer', type: 'T' });
        await tx.transaction(async (inner) => {
          await inner.insertNode({ id: 'inner', type: 'T' });
          nested.close();
        });
      }),
    ).rejects.toMatchObject({ code: 'CLOSED' });
    const again = await AsyncEmbeddedDB.open(path);
    expect(await again.getNode('inside')).toBeNull();
    expect(await again.getNode('after')).toBeNull();
    expect([await again.getNode('outer'), await again.getNode('inner')]).toEqual([null, null]);
    await again.transaction(async (tx) => void (await tx.insertNode({ id: 'later', type: 'T' })));
    expect(await again.getNode('later')).not.toBeNull();
    again.close();
  });
});
