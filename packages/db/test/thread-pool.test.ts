import { spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { AsyncEmbeddedDB } from '@loomdb/db';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'loomdb-pool-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('async writes waiting for another process', () => {
  it('leave the libuv pool free: fs calls of the same process do not wait for them', async () => {
    const path = join(root, 'db');
    const child = spawn(process.execPath, [join(__dirname, 'fixtures', 'worker.mjs'), path, '{}']);
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async () => JSON.parse((await lines.next()).value as string) as Record<string, unknown>;
    await next(); // ready
    child.stdin.write(`${JSON.stringify({ op: 'hold', ms: 5_000 })}\n`);
    expect(await next()).toEqual({ started: true });
    let released = false;
    const holding = next().then(() => (released = true));
    const adb = await AsyncEmbeddedDB.open(path, { busyTimeoutMs: 30_000 });
    // More waiting writers than the libuv pool has threads (4 by default).
    const writes = Array.from({ length: 8 }, (_, i) => adb.insertNode({ id: `w${i}`, type: 'T' }));
    await new Promise((r) => setTimeout(r, 200));
    await readFile(__filename);
    expect(released, 'a file read waited for the writes queued behind the other process').toBe(false);
    await holding;
    expect((await Promise.all(writes)).map((n) => n.id)).toEqual(Array.from({ length: 8 }, (_, i) => `w${i}`));
    await adb.close();
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
  });
});
