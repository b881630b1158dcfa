import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LoomError, type Embedder } from '@loomdb/db';
import type { EmbedRequest, WorkerReply, WorkerSetup } from './messages.js';
import { readModel, type ModelInfo, type WeightsFormat } from './model.js';
import { modelDirectoryFor } from './store.js';

/** Options of {@link createLocalEmbedder}. */
export interface LocalEmbedderOptions {
  /** A model directory, or the name of a model in the model cache (`loomdb model list`). */
  model: string;
  /** Which weights run when the directory has both (default: `model.onnx` when present). */
  weights?: WeightsFormat;
  /** Model threads (default: one per core). Each runs its own onnxruntime session on its own worker thread. */
  workers?: number;
  /** onnxruntime intra-op threads per worker (default 1: the workers already use the cores). */
  threadsPerWorker?: number;
  /** Texts per model call (default 32). Texts are grouped by length first, so a batch pads little. */
  batchSize?: number;
}

/**
 * A sentence-transformers model as a LoomDB {@link Embedder}. `id` names the
 * model, its weights' checksum and its pooling, so a space can record exactly
 * which vectors it holds.
 */
export interface LocalEmbedder extends Embedder {
  readonly id: string;
  readonly model: Readonly<ModelInfo>;
  /** Stops the model threads; later `embed` calls start them again. */
  close(): Promise<void>;
}

interface Pending {
  texts: string[];
  resolve(vectors: Float32Array): void;
  reject(error: unknown): void;
}

interface ModelThread {
  worker: Worker;
  ready: Promise<void>;
  busy: Pending | null;
}

const WORKER_FILE = fileURLToPath(new URL('./worker.cjs', import.meta.url));

/**
 * Loads a sentence-transformers model directory (tokenizer.json, config.json,
 * model.onnx or model.safetensors, modules.json and the pooling config) and
 * embeds texts the way sentence-transformers does, on worker threads: the
 * JavaScript thread only hands out batches. Reading the directory is
 * synchronous and checks every file; the model itself loads on the first
 * `embed`.
 *
 * @example
 * ```ts fragment
 * const embedder = createLocalEmbedder({ model: 'all-MiniLM-L6-v2' });
 * const [vector] = await embedder.embed(['the cat sat on the mat']);
 * await embedder.close();
 * ```
 */
export function createLocalEmbedder(options: LocalEmbedderOptions): LocalEmbedder {
  const workers = positive('workers', options.workers ?? Math.min(availableParallelism(), 4));
  const threadsPerWorker = positive('threadsPerWorker', options.threadsPerWorker ?? 1);
  const batchSize = positive('batchSize', options.batchSize ?? 32);
  const model = readModel(resolveModelDirectory(options.model), { weights: options.weights });
  const queue: Pending[] = [];
  let threads: ModelThread[] = [];

  const startThread = (): ModelThread => {
    const setup: WorkerSetup = { model, threads: threadsPerWorker };
    const worker = new Worker(WORKER_FILE, { workerData: setup });
    const thread: ModelThread = { worker, busy: null, ready: undefined as unknown as Promise<void> };
    thread.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (reply: WorkerReply) => {
        if (reply.kind === 'ready') return resolve();
        if (reply.kind === 'error' && reply.id === null) return reject(new LoomError(reply.code as 'INVALID_ARGUMENT', reply.message));
        const done = thread.busy!;
        thread.busy = null;
        if (reply.kind === 'vectors') done.resolve(reply.vectors);
        else done.reject(new LoomError(reply.code as 'INTERNAL', reply.message));
        dispatch();
      });
      worker.on('error', (error) => {
        const failure = new LoomError('INTERNAL', `model thread for ${model.name} failed: ${error.message}`, { cause: error });
        reject(failure);
        thread.busy?.reject(failure);
        thread.busy = null;
        threads = threads.filter((t) => t !== thread);
        dispatch();
      });
    });
    thread.ready.catch(() => undefined);
    // Idle model threads do not keep the process alive; a busy one does.
    worker.unref();
    return thread;
  };

  const dispatch = (): void => {
    for (const thread of threads) {
      if (queue.length === 0) return;
      if (thread.busy) continue;
      const next = queue.shift()!;
      thread.busy = next;
      thread.worker.ref();
      thread.ready.then(
        () => thread.worker.postMessage({ id: 0, texts: next.texts } satisfies EmbedRequest),
        (error) => {
          thread.busy = null;
          next.reject(error);
        },
      );
    }
    for (const thread of threads) if (!thread.busy) thread.worker.unref();
  };

  const run = (texts: string[]): Promise<Float32Array> =>
    new Promise((resolve, reject) => {
      if (threads.length === 0) threads = Array.from({ length: workers }, startThread);
      queue.push({ texts, resolve, reject });
      dispatch();
    });

  return {
    dimensions: model.dimensions,
    id: `local:${model.name}@${model.checksum.slice(0, 12)}`,
    model,
    async embed(texts: readonly string[]): Promise<Float32Array[]> {
      if (!Array.isArray(texts)) throw new LoomError('INVALID_ARGUMENT', `texts must be an array of strings, got ${typeof texts}`);
      texts.forEach((text, i) => {
        if (typeof text !== 'string') throw new LoomError('INVALID_ARGUMENT', `texts[${i}] must be a string, got ${text === null ? 'null' : typeof text}`);
      });
      // Group texts of similar length, so each batch pads to about its own length.
      const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length);
      const out = new Array<Float32Array>(texts.length);
      const batches: Array<Promise<void>> = [];
      for (let start = 0; start < order.length; start += batchSize) {
        const indices = order.slice(start, start + batchSize);
        batches.push(
          run(indices.map((i) => texts[i]!)).then((flat) => {
            indices.forEach((i, row) => (out[i] = flat.slice(row * model.dimensions, (row + 1) * model.dimensions)));
          }),
        );
      }
      await Promise.all(batches);
      return out;
    },
    async close(): Promise<void> {
      const stopping = threads;
      threads = [];
      await Promise.all(stopping.map((t) => t.worker.terminate()));
    },
  };
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new LoomError('INVALID_ARGUMENT', `options.${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/** A path (anything with a slash, or an existing directory) as is; else a model in the cache. */
function resolveModelDirectory(model: string): string {
  if (typeof model !== 'string' || model.length === 0) throw new LoomError('INVALID_ARGUMENT', `options.model must be a model directory or an installed model's name, got ${String(model)}`);
  return modelDirectoryFor(model);
}

