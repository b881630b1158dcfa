import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultDbPath } from '@loomdb/db';

const realPlatform = process.platform;
const saved = { ...process.env };
let scratch: string;

function onPlatform(platform: NodeJS.Platform) {
  Object.defineProperty(process, 'platform', { value: platform });
}

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'loomdb-paths-'));
  delete process.env.LOOMDB_PATH;
});

afterEach(() => {
  Object.defineProperty(process, 'platform', { value: realPlatform });
  // env-paths holds on to the process.env object itself: restore it in place.
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  rmSync(scratch, { recursive: true, force: true });
});

describe('defaultDbPath', () => {
  it('uses $XDG_DATA_HOME on Linux and creates the parent directory', () => {
    onPlatform('linux');
    process.env.XDG_DATA_HOME = join(scratch, 'xdg');
    expect(defaultDbPath()).toBe(join(scratch, 'xdg', 'loomdb', 'memory.loomdb'));
    expect(existsSync(join(scratch, 'xdg', 'loomdb'))).toBe(true);
  });

  it('falls back to ~/.local/share on Linux', () => {
    onPlatform('linux');
    delete process.env.XDG_DATA_HOME;
    process.env.LOOMDB_PATH = '';
    const expected = join(homedir(), '.local', 'share', 'loomdb', 'memory.loomdb');
    expect(defaultDbPath()).toBe(expected);
  });

  it('uses Application Support on macOS', () => {
    onPlatform('darwin');
    // defaultDbPath creates parents under the real home: remove only what this test created.
    const chain = [join(homedir(), 'Library'), join(homedir(), 'Library', 'Application Support'), join(homedir(), 'Library', 'Application Support', 'loomdb')];
    const created = chain.find((dir) => !existsSync(dir));
    try {
      expect(defaultDbPath()).toBe(join(homedir(), 'Library', 'Application Support', 'loomdb', 'memory.loomdb'));
      expect(existsSync(chain[2] as string)).toBe(true);
    } finally {
      if (created) rmSync(created, { recursive: true, force: true });
    }
  });

  it('uses %LOCALAPPDATA% on Windows', () => {
    onPlatform('win32');
    process.env.LOCALAPPDATA = join(scratch, 'AppData', 'Local');
    expect(defaultDbPath()).toBe(join(scratch, 'AppData', 'Local', 'loomdb', 'Data', 'memory.loomdb'));
  });

  it('lets LOOMDB_PATH override every platform, resolved and with parents created', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      onPlatform(platform);
      process.env.LOOMDB_PATH = join(scratch, platform, 'nested', 'my.loomdb');
      expect(defaultDbPath()).toBe(resolve(scratch, platform, 'nested', 'my.loomdb'));
      expect(existsSync(join(scratch, platform, 'nested'))).toBe(true);
    }
  });
});
