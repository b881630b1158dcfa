/**
 * A model worker: one onnxruntime session and one tokenizer on a thread of
 * its own, so inference never blocks the JavaScript thread (onnxruntime-node
 * runs a session synchronously on the calling thread). Answers one
 * {@link EmbedRequest} at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Tokenizer } from '@huggingface/tokenizers';
import ort from 'onnxruntime-node';
import type { EmbedRequest, WorkerReply, WorkerSetup } from './messages.js';
import { bertOnnxFromSafetensors } from './safetensors-graph.js';
import { poolBatch } from './pooling.js';

const { model, threads } = workerData as WorkerSetup;
const port = parentPort!;
const tokenizer = new Tokenizer(model.tokenizer.json, model.tokenizer.config);

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/** Token ids of one text, truncated to the model's length the way sentence-transformers does: the leading tokens, then the closing special token. */
function encode(text: string): number[] {
  const ids = tokenizer.encode(text).ids;
  return ids.length <= model.maxLength ? ids : [...ids.slice(0, model.maxLength - 1), ids[ids.length - 1]!];
}

async function start(): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  return model.weights.format === 'onnx'
    ? ort.InferenceSession.create(model.weights.path, options)
    : ort.InferenceSession.create(bertOnnxFromSafetensors(model), options);
}

async function embed(session: ort.InferenceSession, texts: string[]): Promise<Float32Array> {
  const encoded = texts.map(encode);
  const batch = texts.length;
  const sequence = Math.max(...encoded.map((ids) => ids.length));
  const ids = new BigInt64Array(batch * sequence);
  const mask = new BigInt64Array(batch * sequence);
  const maskNumbers = new Uint8Array(batch * sequence);
  encoded.forEach((row, b) => {
    row.forEach((id, t) => {
      ids[b * sequence + t] = BigInt(id);
      mask[b * sequence + t] = 1n;
      maskNumbers[b * sequence + t] = 1;
    });
  });
  const inputs: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [batch, sequence]),
    attention_mask: new ort.Tensor('int64', mask, [batch, sequence]),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(batch * sequence), [batch, sequence]),
  };
  const feeds = Object.fromEntries(session.inputNames.map((name) => [name, inputs[name]!]));
  const outputs = await session.run(feeds);
  const hidden = outputs.last_hidden_state ?? outputs[session.outputNames[0]!]!;
  const rows = poolBatch(hidden.data as Float32Array, maskNumbers, { batch, sequence, dimensions: model.dimensions }, model.pooling, model.normalize);
  const flat = new Float32Array(batch * model.dimensions);
  rows.forEach((row, b) => flat.set(row, b * model.dimensions));
  return flat;
}

start().then(
  (session) => {
    // One request at a time: the session already uses its threads, and the
    // main thread hands out work only to idle workers.
    port.on('message', (request: EmbedRequest) => {
      embed(session, request.texts).then(
        (vectors) => reply({ kind: 'vectors', id: request.id, vectors }, [vectors.buffer as ArrayBuffer]),
        (error: Error) => reply({ kind: 'error', id: request.id, code: 'INTERNAL', message: `embedding failed: ${error.message}` }),
      );
    });
    reply({ kind: 'ready' });
  },
  (error: Error) => reply({ kind: 'error', id: null, code: 'INVALID_ARGUMENT', message: `${model.weights.path} could not be loaded by onnxruntime: ${error.message}` }),
);
