import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'loomdb-binding-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('the native binding', () => {
  it('turns an engine panic into an INTERNAL error, and the process lives on', async () => {
    const addon = native();
    expect(codeOf(() => addon.debugPanic(false))).toBe('INTERNAL');
    await expect(addon.debugPanic(true)).rejects.toMatchObject({ code: 'INTERNAL' });
    const h = addon.open(join(dir, 'after-panic'), '{}');
    addon.insertNode(h, 'a', 'T', '{}', false);
    expect(JSON.parse(addon.getNode(h, 'a', false) as string).id).toBe('a');
    addon.close(h);
  });

  it('reports engine errors with their code and wrong argument types as INVALID_ARGUMENT', () => {
    const addon = native();
    const h = addon.open(join(dir, 'errors'), '{}');
    addon.insertNode(h, 'a', 'T', '{}', false);
    expect(codeOf(() => addon.insertNode(h, 'a', 'T', '{}', false))).toBe('ALREADY_EXISTS');
    expect(codeOf(() => addon.insertNode(h, 'b', 'T', '[1]', false))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => (addon.getNode as (...a: unknown[]) => unknown)(h, 42, false))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => addon.open(join(dir, 'x'), '{"durability":"sometimes"}'))).toBe('INVALID_ARGUMENT');
    addon.close(h);
    expect(codeOf(() => addon.getNode(h, 'a', false))).toBe('CLOSED');
  });

  it('runs operations: a progress callback that returns false stops a backup; bad arguments are INVALID_ARGUMENT', async () => {
    const addon = native();
    const h = addon.open(join(dir, 'ops'), '{}');
    addon.insertNode(h, 'a', 'T', '{}', false);
    const calls: number[] = [];
    expect(codeOf(() => addon.backup(h, join(dir, 'stopped'), (done) => (calls.push(done), false), null, false))).toBe('IO');
    expect(calls).toHaveLength(1);
    expect(JSON.parse(addon.backup(h, join(dir, 'bk'), null, null, false))).toMatchObject({ formatVersion: 5 });
    expect(codeOf(() => (addon.backup as (...a: unknown[]) => unknown)(h, 7, null, null, false))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => (addon.restore as (...a: unknown[]) => unknown)(join(dir, 'bk'), join(dir, 'r'), 'yes', null, null, false))).toBe('INVALID_ARGUMENT');
    const token = addon.cancelToken();
    addon.cancel(token);
    await expect(addon.backup(h, join(dir, 'cancelled'), null, token, true)).rejects.toMatchObject({ code: 'IO' });
    expect(JSON.parse(await addon.verify(h, true)).ok).toBe(true);
    addon.close(h);
  });

  it('runs async calls on the thread pool and settles their promises', async () => {
    const addon = native();
    const h = addon.open(join(dir, 'async'), '{}');
    const inserted = JSON.parse(await addon.insertNode(h, 'a', 'T', '{"k":1}', true));
    expect(inserted).toMatchObject({ id: 'a', type: 'T', properties: { k: 1 } });
    expect(JSON.parse((await addon.getNode(h, 'a', true)) as string)).toEqual(inserted);
    await expect(addon.insertNode(h, 'a', 'T', '{}', true)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    addon.close(h);
  });
});
