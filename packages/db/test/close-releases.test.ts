// Regression: a transaction's native handle kept the database open after it
// ended, until garbage collection, so after close() another process found it
// still open here (compaction: LOCKED naming this process).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { AsyncEmbeddedDB, EmbeddedDB } from '@loomdb/db';

const dir = mkdtempSync(join(tmpdir(), 'loomdb-close-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function compactElsewhere(path: string) {
  const script = `import('@loomdb/db').then(({ EmbeddedDB }) => { const db = EmbeddedDB.open(${JSON.stringify(path)}); db.compact(); db.close(); console.log('compacted'); })`;
  return spawnSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8' });
}

it('after close(), a database whose transactions committed, rolled back or threw is free for another process to compact', () => {
  const path = join(dir, 'sync');
  const db = EmbeddedDB.open(path);
  db.transaction((tx) => {
    tx.insertNode({ id: 'a', type: 'T' });
  });
  expect(() =>
    db.transaction((tx) => {
      tx.insertNode({ id: 'b', type: 'T' });
      throw new Error('roll back');
    }),
  ).toThrow('roll back');
  db.close();
  const child = compactElsewhere(path);
  expect(child.stderr).toBe('');
  expect(child.stdout.trim()).toBe('compacted');
  const reopened = EmbeddedDB.open(path);
  expect(reopened.getNode('a')).not.toBeNull();
  expect(reopened.getNode('b')).toBeNull();
  reopened.close();
});

it('the same after an async transaction', async () => {
  const path = join(dir, 'async');
  const db = await AsyncEmbeddedDB.open(path);
  await db.transaction(async (tx) => {
    await tx.insertNode({ id: 'a', type: 'T' });
  });
  await db.close();
  const child = compactElsewhere(path);
  expect(child.stderr).toBe('');
  expect(child.stdout.trim()).toBe('compacted');
});
