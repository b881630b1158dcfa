/**
 * Every example program in examples/*.mjs runs here as a user runs it
 * (`node examples/<name>.mjs`, a child process with a fresh temp database),
 * must exit 0 (each asserts its own results with node:assert), and must
 * print the lines listed below: a program that stops printing what the
 * guides say it prints fails here.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..');

const EXPECTED: Record<string, RegExp[]> = {
  'quickstart.mjs': [/Shall we hike on Saturday\?/],
  'crud.mjs': [/^insert twice: ALREADY_EXISTS$/m, /^nodes: 1 edges: 0$/m],
  'semantic-search.mjs': [/^hit: We booked the ferry to Bellagio for Saturday$/m, /^hit: Which ferry goes from Varenna to Bellagio\?$/m],
  'converged-query.mjs': [/^results: m1, m3$/m, /^executor: native$/m, /^stage knn: k=2/m],
  'chat-memory.mjs': [/^memory: .*Lisbon/m, /^trip messages: 2 \| mentioning Lisbon: \d+ \| processed: 3$/m],
  'custom-embedder.mjs': [/^nearest to cabana: banana, bandana$/m],
  'async-server.mjs': [/^created and read back: \S+$/m],
};

describe('example programs', () => {
  const programs = readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort();

  it('every program has its expected output listed here', () => {
    expect(programs.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it('every program is shown in a guide, included from its file (so the page cannot drift from it)', () => {
    const guides = join(dir, '..', 'apps', 'docs', 'guides');
    const included = readdirSync(guides)
      .filter((f) => f.endsWith('.md'))
      .flatMap((f) => [...readFileSync(join(guides, f), 'utf8').matchAll(/\{@includeCode \.\.\/\.\.\/\.\.\/examples\/([\w-]+\.mjs)\}/g)].map((m) => m[1]));
    expect([...new Set(included)].sort()).toEqual(programs);
  });

  for (const program of programs) {
    it(`${program} runs and prints what it should`, { timeout: 120_000 }, () => {
      const env = { ...process.env };
      delete env.NODE_OPTIONS;
      const run = spawnSync(process.execPath, [join(dir, program)], { cwd: dir, env, encoding: 'utf8', timeout: 110_000 });
      expect(run.status, `${program} exited ${run.status ?? run.signal}\n${run.stderr}`).toBe(0);
      for (const line of EXPECTED[program] ?? []) expect(run.stdout).toMatch(line);
    });
  }
});
