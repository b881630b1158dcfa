import { availableParallelism } from 'node:os';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LoomError, type Embedder } from '@loomdb/db';
import type { EmbedRequest, WorkerReply, WorkerSetup } from './messages.js';
import { readModel, type ModelInfo, type WeightsFormat } from './model.js';
import { modelDirectoryFor } from './store.js';

/**
 * Options of {@link createLocalEmbedder}.
 *
 * @example
 * ```ts
 * const options: LocalEmbedderOptions = { model: 'all-MiniLM-L6-v2', weights: 'onnx', workers: 2, threadsPerWorker: 1, batchSize: 32 };
 * const embedder = createLocalEmbedder(options);
 * ```
 */
export interface LocalEmbedderOptions {
  /** A model directory, or the name of a model in the model cache (`loomdb model list`). */
  model: string;
  /** Which weights run when the directory has both (default: `model.onnx` when present). */
  weights?: WeightsFormat;
  /** Model processes (default: one per core, at most 4). Each runs its own onnxruntime session. */
  workers?: number;
  /** onnxruntime intra-op threads per model process (default 1: the processes already use the cores). */
  threadsPerWorker?: number;
  /** Texts per model call (default 32). Texts are grouped by length first, so a batch pads little. */
  batchSize?: number;
}

/**
 * A sentence-transformers model as a LoomDB {@link Embedder}. `id` names the
 * model, its weights' checksum and its pooling, so a space can record exactly
 * which vectors it holds.
 *
 * @example
 * ```ts
 * const embedder: LocalEmbedder = createLocalEmbedder({ model: 'all-MiniLM-L6-v2' });
 * const [v] = await embedder.embed(['hello world']); // Float32Array(384)
 * await embedder.close(); // stops the model processes
 * ```
 */
export interface LocalEmbedder extends Embedder {
  readonly id: string;
  readonly model: Readonly<ModelInfo>;
  /** Stops the model processes; later `embed` calls start them again. */
  close(): Promise<void>;
}

interface Pending {
  texts: string[];
  resolve(vectors: Float32Array): void;
  reject(error: unknown): void;
}

/** One model process and the request it is working on. */
interface ModelProcess {
  child: ChildProcess;
  ready: Promise<void>;
  busy: Pending | null;
}

const WORKER_FILE = fileURLToPath(new URL('./worker.cjs', import.meta.url));

/**
 * Loads a sentence-transformers model directory (tokenizer.json, config.json,
 * model.onnx or model.safetensors, modules.json and the pooling config) and
 * embeds texts the way sentence-transformers does, in model processes: the
 * JavaScript thread only hands out batches. Reading the directory is
 * synchronous and checks every file; the model itself loads on the first
 * `embed`. Idle model processes never keep the program alive, and they exit
 * with it, however it ends.
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
  let processes: ModelProcess[] = [];

  /** Whether `p` keeps the program alive: only while it works on a request. */
  const hold = (p: ModelProcess, held: boolean): void => {
    const channel = p.child.channel as { ref(): void; unref(): void } | undefined;
    if (held) {
      p.child.ref();
      channel?.ref();
    } else {
      p.child.unref();
      channel?.unref();
    }
  };

  const fail = (p: ModelProcess, error: LoomError): void => {
    processes = processes.filter((q) => q !== p);
    p.busy?.reject(error);
    p.busy = null;
    dispatch();
  };

  const startProcess = (): ModelProcess => {
    // stderr is dropped: onnxruntime's warnings are not the program's output.
    const child = fork(WORKER_FILE, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'ignore', 'ipc'], execArgv: [] });
    const p: ModelProcess = { child, busy: null, ready: undefined as unknown as Promise<void> };
    p.ready = new Promise<void>((resolve, reject) => {
      child.on('message', (reply: WorkerReply) => {
        if (reply.kind === 'ready') return resolve();
        if (reply.kind === 'unloadable') {
          const error = new LoomError('INVALID_ARGUMENT', reply.message);
          reject(error);
          return fail(p, error);
        }
        const done = p.busy!;
        p.busy = null;
        if (reply.kind === 'vectors') done.resolve(reply.vectors);
        else done.reject(new LoomError('INTERNAL', reply.message));
        dispatch();
      });
      child.on('exit', (code, signal) => {
        const error = new LoomError('INTERNAL', `the model process for ${model.name} exited (${signal ?? `code ${code}`})`);
        reject(error);
        if (processes.includes(p)) fail(p, error);
      });
    });
    p.ready.catch(() => undefined);
    child.send({ model, threads: threadsPerWorker } satisfies WorkerSetup);
    hold(p, false);
    return p;
  };

  const dispatch = (): void => {
    for (const p of processes) {
      if (queue.length === 0) break;
      if (p.busy) continue;
      const next = queue.shift()!;
      p.busy = next;
      hold(p, true);
      p.ready.then(
        () => p.child.send({ texts: next.texts } satisfies EmbedRequest),
        () => undefined, // fail() rejected it
      );
    }
    for (const p of processes) if (!p.busy) hold(p, false);
  };

  const run = (texts: string[]): Promise<Float32Array> =>
    new Promise((resolve, reject) => {
      if (processes.length === 0) processes = Array.from({ length: workers }, startProcess);
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
      const stopping = processes;
      processes = [];
      await Promise.all(
        stopping.map(
          (p) =>
            new Promise<void>((resolve) => {
              if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
              p.child.once('exit', () => resolve());
              p.child.ref(); // wait for it even when nothing else keeps the program alive
              p.child.disconnect(); // the model process exits when its channel closes
            }),
        ),
      );
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

