import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const bench = join(__dirname, '..');
const results = join(bench, 'results');
const stamps = () => readdirSync(results).map((f) => [f, statSync(join(results, f)).mtimeMs]);
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/run.ts', ...args], { cwd: bench, encoding: 'utf8', timeout: 60_000 });

describe('npm run bench', () => {
  it('without a suite prints usage, exits 2 and leaves the committed results alone', () => {
    const before = stamps();
    const r = run();
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('usage: npm run bench -- <suite>');
    expect(r.stderr).toContain('extract');
    expect(stamps()).toEqual(before);
    const unknown = run('nope');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown suite "nope"');
  });
});
