import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedDB } from '@loomdb/db';
import { seededRandom } from '@loomdb/db/testing';

const dir = mkdtempSync(join(tmpdir(), 'loomdb-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const writer = join(__dirname, 'fixtures', 'crash-writer.mjs');

/** Runs the writer, kills it with SIGKILL `delayMs` after its first acknowledged id; returns the acknowledged ids. */
function writeThenKill(path: string, prefix: string, delayMs: number, mode = 'single'): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, path, prefix, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acknowledged: string[] = [];
    createInterface({ input: child.stdout }).on('line', (id) => {
      if (acknowledged.push(id) === 1) setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(acknowledged) : reject(new Error(`writer exited by itself (${signal})`))));
  });
}

describe("durability 'immediate'", () => {
  it('keeps every acknowledged write through kill -9 (20 rounds)', async () => {
    const path = join(dir, 'db');
    const random = seededRandom(20261125);
    let expected = 0;
    for (let round = 0; round < 20; round++) {
      const acknowledged = await writeThenKill(path, `r${round}`, 50 + Math.floor(random() * 350));
      expect(acknowledged.length).toBeGreaterThan(0);
      expected += acknowledged.length;
      const db = EmbeddedDB.open(path);
      const lost = acknowledged.filter((id) => db.getNode(id) === null);
      expect(lost, `round ${round}: acknowledged then lost`).toEqual([]);
      // At most one write past the last acknowledgement may have committed before the kill.
      expect(db.stats().nodes).toBeGreaterThanOrEqual(expected);
      expect(db.stats().nodes).toBeLessThanOrEqual(expected + round + 1);
      db.insertNode({ id: `after-${round}`, type: 'Check' });
      expected += 1;
      db.close();
    }
  });

  it('keeps acknowledged transactions whole and unacknowledged ones whole or absent through kill -9 (10 rounds)', async () => {
    const path = join(dir, 'tx');
    const random = seededRandom(7);
    for (let round = 0; round < 10; round++) {
      const acknowledged = await writeThenKill(path, `t${round}`, 50 + Math.floor(random() * 300), 'transaction');
      const db = EmbeddedDB.open(path);
      expect(acknowledged.filter((id) => db.getNode(`${id}/c`) === null), `round ${round}: acknowledged then lost`).toEqual([]);
      const parts = new Map<string, number>();
      for (const n of db.iterateNodes({ type: 'Crash' })) {
        const root = n.id.replace(/\/[bc]$/, '');
        parts.set(root, (parts.get(root) ?? 0) + 1);
      }
      expect([...parts.values()].every((count) => count === 3), `round ${round}: a transaction survived in part`).toBe(true);
      expect(db.stats().edges).toBe(parts.size * 2);
      db.close();
    }
  });
});
