/**
 * README code that CI runs: every fenced block whose info string starts with
 * js, ts, javascript, typescript or mjs in the root README, the package
 * READMEs and the guides under apps/docs (in the docs site's order, from
 * apps/docs/typedoc.json) runs here as written, block by block
 * in page order, each page in a fresh working directory with a fresh default
 * database (`LOOMDB_PATH`); a last test runs the user's journey: `loomdb demo`,
 * then every page in the order the docs present them, on one directory and one
 * default database.
 *
 * Fragments: a block that cannot run on its own (it continues an earlier one,
 * uses variables it does not define, or shows output) carries the word
 * `fragment` after its language, e.g. ```ts fragment — GitHub still highlights
 * it, and this test skips it.
 *
 * Each block is its own ES module (`.mts` through tsx, `.mjs` with plain node),
 * run as a child process; a block fails when it exits non-zero, and the error
 * names the page, the block's line and the child's stderr. `SNIPPETS_VERBOSE=1`
 * prints every block's output.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNNABLE = new Set(['js', 'ts', 'javascript', 'typescript', 'mjs']);
const TS = new Set(['ts', 'typescript']);
const BLOCK_TIMEOUT_MS = 120_000;

interface Block {
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  fragment: boolean;
  code: string;
}

/**
 * The guides in the order the docs site presents them (`projectDocuments` of
 * apps/docs/typedoc.json, which TypeDoc builds from), then any other markdown
 * under apps/docs (its README, guides not on the site yet) by path.
 */
function guides(): string[] {
  const config = JSON.parse(readFileSync(join(repo, 'apps/docs/typedoc.json'), 'utf8')) as { projectDocuments?: string[] };
  const site = (config.projectDocuments ?? []).map((p) => `apps/docs/${p.replace(/^\.\//, '')}`);
  const rest = markdownUnder('apps/docs').filter((p) => !site.includes(p)).sort();
  return [...site, ...rest];
}

/** The pages in the order the docs present them: root README, db, query, weaver, cli, the other packages, then the guides. */
function pages(): string[] {
  const packageOrder = ['db', 'query', 'weaver', 'cli'];
  const packages = readdirSync(join(repo, 'packages'))
    .filter((p) => existsSync(join(repo, 'packages', p, 'README.md')))
    .sort((a, b) => rank(packageOrder, a) - rank(packageOrder, b) || a.localeCompare(b))
    .map((p) => `packages/${p}/README.md`);
  return ['README.md', ...packages, ...guides()];
}

function rank(order: string[], name: string): number {
  const i = order.indexOf(name);
  return i < 0 ? order.length : i;
}

function markdownUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(repo, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory() && entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...markdownUnder(path));
    else if (entry.isFile() && entry.name.endsWith('.md') && entry.name !== 'CHANGELOG.md') out.push(path);
  }
  return out;
}

/** The js/ts blocks of a page, in order (CommonMark fences: ``` or ~~~, indented up to 3 spaces). */
function blocksOf(page: string, text = readFileSync(join(repo, page), 'utf8')): Block[] {
  const lines = text.split(/\r?\n/);
  const blocks: Block[] = [];
  let open: { fence: string; indent: number; info: string[]; line: number; body: string[] } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!open) {
      const m = /^( {0,3})(`{3,}|~{3,})(.*)$/.exec(l);
      if (m && !(m[2]![0] === '`' && m[3]!.includes('`'))) {
        open = { fence: m[2]!, indent: m[1]!.length, info: m[3]!.trim().split(/\s+/).filter(Boolean), line: i + 1, body: [] };
      }
      continue;
    }
    const close = new RegExp(`^ {0,3}${open.fence[0] === '`' ? '`' : '~'}{${open.fence.length},}\\s*$`);
    if (close.test(l)) {
      const lang = (open.info[0] ?? '').toLowerCase();
      if (RUNNABLE.has(lang)) {
        blocks.push({ page, line: open.line, lang, fragment: open.info.slice(1).includes('fragment'), code: open.body.join('\n') + '\n' });
      }
      open = null;
    } else {
      open.body.push(l.replace(new RegExp(`^ {0,${open.indent}}`), ''));
    }
  }
  return blocks;
}

interface Sandbox {
  root: string;
  /** The working directory every block runs in (empty at first). */
  cwd: string;
  /** Where the blocks' module files go (beside `node_modules`, so `@loomdb/*` and tsx resolve). */
  scripts: string;
  env: NodeJS.ProcessEnv;
}

const sandboxes: string[] = [];
const base = join(tmpdir(), 'loomdb-snippets');
mkdirSync(base, { recursive: true });

/**
 * The model cache every page sees, filled as `npm run models` fills a user's
 * (the READMEs tell the user to run it before the embed-local examples).
 */
const models = mkdtempSync(join(base, 'models-'));
sandboxes.push(models);
const installed = spawnSync(process.execPath, [join(repo, 'scripts', 'models.mjs'), '--install'], { env: { ...process.env, LOOMDB_MODELS: models }, encoding: 'utf8' });
if (installed.status !== 0) throw new Error(`scripts/models.mjs --install failed: ${installed.stderr}`);

function sandbox(): Sandbox {
  const root = mkdtempSync(join(base, 'run-'));
  sandboxes.push(root);
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');
  const cwd = join(root, 'work');
  const scripts = join(root, 'scripts');
  for (const d of [cwd, scripts, join(root, 'data'), join(root, 'home')]) mkdirSync(d);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOOMDB_PATH: join(root, 'data', 'memory.loomdb'), // a fresh default database
    XDG_DATA_HOME: join(root, 'home'),
    LOOMDB_MODELS: models,
    NO_COLOR: '1',
  };
  delete env.NODE_OPTIONS;
  return { root, cwd, scripts, env };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], box: Sandbox): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: box.cwd, env: box.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${BLOCK_TIMEOUT_MS} ms]`;
      child.kill('SIGKILL');
    }, BLOCK_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function failure(what: string, exit: Exit): Error {
  const tail = (s: string) => (s.length > 4000 ? `…${s.slice(-4000)}` : s);
  return new Error(
    `${what} exited with ${exit.signal ?? `code ${exit.code}`}\n--- stderr ---\n${tail(exit.stderr).trimEnd()}\n--- stdout ---\n${tail(exit.stdout).trimEnd()}`,
  );
}

let counter = 0;
async function runBlock(block: Block, box: Sandbox): Promise<void> {
  const name = `${String(++counter).padStart(3, '0')}-${block.page.replace(/[^A-Za-z0-9]+/g, '_')}-L${block.line}`;
  const file = join(box.scripts, `${name}.${TS.has(block.lang) ? 'mts' : 'mjs'}`);
  writeFileSync(file, block.code);
  const exit = await run(TS.has(block.lang) ? ['--import', 'tsx', file] : [file], box);
  if (process.env.SNIPPETS_VERBOSE) console.log(`--- ${block.page}:${block.line}\n${exit.stdout}${exit.stderr}`);
  if (exit.code !== 0) throw failure(`${block.page}:${block.line} (\`\`\`${block.lang} block, run as ${relative(box.root, file)})`, exit);
}

async function runPage(page: string, box: Sandbox): Promise<number> {
  const runnable = blocksOf(page).filter((b) => !b.fragment);
  for (const block of runnable) await runBlock(block, box);
  return runnable.length;
}

afterAll(() => {
  for (const root of sandboxes) rmSync(root, { recursive: true, force: true });
});

const PAGE_TIMEOUT_MS = 600_000;
const all = pages();

describe('README and guide snippets', () => {
  it('finds the pages and their blocks', () => {
    expect(all).toEqual(expect.arrayContaining(['README.md', 'packages/db/README.md', 'packages/query/README.md', 'packages/weaver/README.md', 'apps/docs/guides/getting-started.md']));
    expect(all.flatMap((p) => blocksOf(p)).filter((b) => !b.fragment).length).toBeGreaterThan(5);
    const sample = blocksOf('x.md', 'a\n```ts\nconst a = 1;\n```\n```js fragment\nb\n```\n~~~console\n$ x\n~~~\n');
    expect(sample).toEqual([
      { page: 'x.md', line: 2, lang: 'ts', fragment: false, code: 'const a = 1;\n' },
      { page: 'x.md', line: 5, lang: 'js', fragment: true, code: 'b\n' },
    ]);
  });

  it('runs every guide of the docs site, in the site\'s order, and the guides hold runnable code', () => {
    const site = guides().filter((p) => p.startsWith('apps/docs/guides/'));
    for (const guide of markdownUnder('apps/docs/guides')) expect(site, `${guide} is missing from this test`).toContain(guide);
    for (const guide of site) expect(existsSync(join(repo, guide)), `${guide} (named in apps/docs/typedoc.json) exists`).toBe(true);
    expect(all.filter((p) => site.includes(p))).toEqual(site);
    const runnable = site.map((p) => [p, blocksOf(p).filter((b) => !b.fragment).length] as const);
    expect(runnable.filter(([, n]) => n > 0).length, `guides with runnable blocks: ${JSON.stringify(runnable)}`).toBeGreaterThanOrEqual(6);
  });

  for (const page of all) {
    const runnable = blocksOf(page).filter((b) => !b.fragment);
    it.skipIf(runnable.length === 0)(`${page} runs as written (${runnable.length} block(s), fresh directory and default database)`, { timeout: PAGE_TIMEOUT_MS }, async () => {
      await runPage(page, sandbox());
    });
  }

  it('the journey: `loomdb demo`, then every page in order, on one directory and one default database', { timeout: PAGE_TIMEOUT_MS * 2 }, async () => {
    const box = sandbox();
    const demo = await run([join(repo, 'packages/cli/dist/bin.cjs'), 'demo'], box);
    if (demo.code !== 0) throw failure('loomdb demo', demo);
    let ran = 0;
    for (const page of all) ran += await runPage(page, box);
    expect(ran).toBeGreaterThan(0);
  });
});
