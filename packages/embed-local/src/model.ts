import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LoomError } from '@loomdb/db';

/**
 * How token vectors become one sentence vector (sentence-transformers' `1_Pooling/config.json`).
 *
 * @example
 * ```ts
 * const pooling: Pooling = readModel(modelDirectoryFor('all-MiniLM-L6-v2')).pooling; // 'mean' for MiniLM
 * ```
 */
export type Pooling = 'mean' | 'cls' | 'max';

/**
 * Which weights file runs: an ONNX graph (fp32 or quantised) or the safetensors checkpoint.
 *
 * @example
 * ```ts
 * const info = readModel(dir, { weights: 'safetensors' satisfies WeightsFormat });
 * ```
 */
export type WeightsFormat = 'onnx' | 'safetensors';

/**
 * A sentence-transformers model directory, read and checked: everything the
 * embedder needs to reproduce sentence-transformers' vectors.
 *
 * @example
 * ```ts
 * const info: ModelInfo = readModel(modelDirectoryFor('all-MiniLM-L6-v2'));
 * console.log(info.name, info.dimensions, info.maxLength, info.weights.format);
 * ```
 */
export interface ModelInfo {
  /** Absolute path of the directory. */
  dir: string;
  /** The directory's name (the model's name in the model cache). */
  name: string;
  /** The weights file that runs and its format. */
  weights: { path: string; format: WeightsFormat };
  /** sha256 of the weights file, hex. */
  checksum: string;
  /** Length of the vectors (the transformer's hidden size). */
  dimensions: number;
  /** Inputs longer than this many tokens (special tokens included) are truncated, as sentence-transformers does. */
  maxLength: number;
  pooling: Pooling;
  /** Whether vectors are scaled to unit length (a `Normalize` module in `modules.json`). */
  normalize: boolean;
  /** `tokenizer.json` and `tokenizer_config.json`, parsed. */
  tokenizer: { json: object; config: object };
  /** `config.json`, parsed (the transformer's architecture). */
  config: TransformerConfig;
}

/**
 * The `config.json` fields LoomDB reads.
 *
 * @example
 * ```ts
 * const { hidden_size, num_hidden_layers }: TransformerConfig = readModel(dir).config;
 * ```
 */
export interface TransformerConfig {
  model_type?: string;
  hidden_size: number;
  num_hidden_layers?: number;
  num_attention_heads?: number;
  intermediate_size?: number;
  max_position_embeddings?: number;
  type_vocab_size?: number;
  layer_norm_eps?: number;
  hidden_act?: string;
}

/** Where the weights may sit, in the order they are preferred. */
const ONNX_CANDIDATES = ['model.onnx', 'onnx/model.onnx', 'model_quantized.onnx', 'onnx/model_quantized.onnx'];
const SAFETENSORS = 'model.safetensors';

/**
 * Reads and checks a sentence-transformers model directory. A missing
 * directory or file is `NOT_FOUND` naming it; a file that is not what it
 * should be is `INVALID_ARGUMENT` naming it.
 *
 * @example
 * ```ts fragment
 * const model = readModel('./models/all-MiniLM-L6-v2');
 * model.dimensions; // 384
 * ```
 */
export function readModel(directory: string, options: { weights?: WeightsFormat } = {}): ModelInfo {
  const dir = resolve(directory);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new LoomError('NOT_FOUND', `model directory "${dir}" does not exist`);
  const config = readJson(dir, 'config.json') as TransformerConfig;
  if (!Number.isSafeInteger(config.hidden_size) || config.hidden_size < 1) {
    throw new LoomError('INVALID_ARGUMENT', `${join(dir, 'config.json')}: hidden_size must be a positive integer, got ${String(config.hidden_size)}`);
  }
  const tokenizer = { json: readJson(dir, 'tokenizer.json') as object, config: (readJsonIfPresent(dir, 'tokenizer_config.json') ?? {}) as object };
  const weights = findWeights(dir, options.weights);
  const { pooling, normalize } = readModules(dir);
  return {
    dir,
    name: basename(dir),
    weights,
    checksum: fileChecksum(weights.path),
    dimensions: config.hidden_size,
    maxLength: maxLength(dir, config, tokenizer.config as { model_max_length?: number }),
    pooling,
    normalize,
    tokenizer,
    config,
  };
}

function findWeights(dir: string, format: WeightsFormat | undefined): ModelInfo['weights'] {
  if (format !== undefined && format !== 'onnx' && format !== 'safetensors') {
    throw new LoomError('INVALID_ARGUMENT', `options.weights must be 'onnx' or 'safetensors', got ${JSON.stringify(format)}`);
  }
  const onnx = ONNX_CANDIDATES.map((file) => join(dir, file)).find((path) => existsSync(path));
  const safetensors = existsSync(join(dir, SAFETENSORS)) ? join(dir, SAFETENSORS) : undefined;
  if (format === 'onnx' || (format === undefined && onnx)) {
    if (!onnx) throw new LoomError('NOT_FOUND', `model directory "${dir}" has no model.onnx (looked for ${ONNX_CANDIDATES.join(', ')})`);
    return { path: onnx, format: 'onnx' };
  }
  if (!safetensors) throw new LoomError('NOT_FOUND', `model directory "${dir}" has no weights: neither model.onnx nor model.safetensors`);
  return { path: safetensors, format: 'safetensors' };
}

/** Pooling and normalisation from `modules.json` and the pooling module's config; a bare transformer means mean pooling, not normalised. */
function readModules(dir: string): { pooling: Pooling; normalize: boolean } {
  const modules = readJsonIfPresent(dir, 'modules.json') as Array<{ type?: string; path?: string }> | undefined;
  if (modules === undefined) return { pooling: 'mean', normalize: false };
  if (!Array.isArray(modules)) throw new LoomError('INVALID_ARGUMENT', `${join(dir, 'modules.json')} must be an array of modules`);
  const normalize = modules.some((m) => typeof m.type === 'string' && m.type.endsWith('.Normalize'));
  const poolingModule = modules.find((m) => typeof m.type === 'string' && m.type.endsWith('.Pooling'));
  if (!poolingModule) return { pooling: 'mean', normalize };
  const configPath = join(poolingModule.path ?? '', 'config.json');
  const config = readJson(dir, configPath) as Record<string, unknown>;
  const pooling: Pooling | undefined = config.pooling_mode_cls_token ? 'cls' : config.pooling_mode_mean_tokens ? 'mean' : config.pooling_mode_max_tokens ? 'max' : undefined;
  if (!pooling) throw new LoomError('INVALID_ARGUMENT', `${join(dir, configPath)}: no supported pooling mode (cls, mean or max tokens) is enabled`);
  return { pooling, normalize };
}

function maxLength(dir: string, config: TransformerConfig, tokenizerConfig: { model_max_length?: number }): number {
  const sentenceConfig = readJsonIfPresent(dir, 'sentence_bert_config.json') as { max_seq_length?: number } | undefined;
  const limits = [sentenceConfig?.max_seq_length, config.max_position_embeddings, tokenizerConfig.model_max_length].filter(
    (n): n is number => Number.isSafeInteger(n) && (n as number) > 0,
  );
  return limits.length > 0 ? Math.min(...limits) : 512;
}

function readJson(dir: string, file: string): unknown {
  const value = readJsonIfPresent(dir, file);
  if (value === undefined) throw new LoomError('NOT_FOUND', `model directory "${dir}" has no ${file}`);
  return value;
}

function readJsonIfPresent(dir: string, file: string): unknown {
  const path = join(dir, file);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new LoomError('INVALID_ARGUMENT', `${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

const checksums = new Map<string, string>();

/** sha256 of a file, memoised per path, size and modification time (weights files are large). */
export function fileChecksum(path: string): string {
  const stat = statSync(path);
  const memo = `${path}\0${stat.size}\0${stat.mtimeMs}`;
  let sum = checksums.get(memo);
  if (sum === undefined) {
    sum = createHash('sha256').update(readFileSync(path)).digest('hex');
    checksums.set(memo, sum);
  }
  return sum;
}
