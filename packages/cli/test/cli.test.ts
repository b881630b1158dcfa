import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const bin = join(__dirname, '..', 'dist', 'bin.cjs');
const dir = mkdtempSync(join(tmpdir(), 'loomdb-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loomdb(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, LOOMDB_PATH: join(dir, 'default-db') } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('loomdb', () => {
  it('demo loads a sample memory, searches it and prints stats; a second run reuses it', () => {
    const path = join(dir, 'demo');
    const first = loomdb('demo', '--path', path, '--query', 'espresso tastes sour');
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toContain('Loaded a sample memory: 18 messages');
    // The nearest message really is the one about sour espresso.
    const results = first.out.split('\n').filter((l) => /^\s+0\.\d{3}\s/.test(l));
    expect(results).toHaveLength(5);
    expect(results[0]).toContain('My espresso tastes sour');
    expect(first.out).toMatch(/Stats: 27 nodes, 49 edges/);
    const second = loomdb('demo', '--path', path);
    expect(second.code).toBe(0);
    expect(second.out).toContain('already loaded');
    expect(second.out).toMatch(/Stats: 27 nodes, 49 edges/);
  });

  it('demo without --path uses the default database path', () => {
    const r = loomdb('demo', '-k', '2');
    expect(r.code).toBe(0);
    expect(r.out).toContain(join(dir, 'default-db'));
  });

  it('stats --json prints the counts', () => {
    const path = join(dir, 'demo');
    loomdb('demo', '--path', path);
    const r = loomdb('stats', '--path', path, '--json');
    expect(r.code).toBe(0);
    const stats = JSON.parse(r.out);
    expect(stats).toMatchObject({ nodes: 27, edges: 49, spaces: [{ name: 'default', dimensions: 384, embeddings: 18 }] });
  });

  it('reports LoomErrors as one line with their code and exits 1', () => {
    const file = join(dir, 'not-a-directory');
    writeFileSync(file, 'x');
    const r = loomdb('demo', '--path', file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[IO\]: .*not-a-directory/);
    expect(r.err).not.toContain('    at ');
    const missing = loomdb('stats', '--path', join(dir, 'missing'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^error \[NOT_FOUND\]: no database at/);
  });

  it('rejects bad options with usage help', () => {
    const r = loomdb('demo', '--path', join(dir, 'x'), '-k', 'zero');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('expected a positive integer');
  });
});
