/**
 * A model process: one onnxruntime session and one tokenizer in a child
 * process of its own, so inference never blocks the JavaScript thread
 * (onnxruntime-node runs a session synchronously on the calling thread).
 * A process rather than a worker thread: onnxruntime-node aborts the whole
 * process when `process.exit()` tears down a worker thread that holds a
 * session, and a child's teardown cannot take its parent with it. Gets its
 * {@link WorkerSetup} as the first message, then answers one
 * {@link EmbedRequest} at a time; exits when its parent goes away.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import ort from 'onnxruntime-node';
import type { EmbedRequest, WorkerReply, WorkerSetup } from './messages.js';
import type { ModelInfo } from './model.js';
import { bertOnnxFromSafetensors } from './safetensors-graph.js';
import { poolBatch } from './pooling.js';

function reply(message: WorkerReply): void {
  process.send!(message);
}

// The parent closed the channel (it exited, was killed, or closed this embedder).
process.on('disconnect', () => process.exit(0));

/** Token ids of one text, truncated to the model's length the way sentence-transformers does: the leading tokens, then the closing special token. */
function encode(tokenizer: Tokenizer, model: ModelInfo, text: string): number[] {
  const ids = tokenizer.encode(text).ids;
  return ids.length <= model.maxLength ? ids : [...ids.slice(0, model.maxLength - 1), ids[ids.length - 1]!];
}

async function start({ model, threads }: WorkerSetup): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  return model.weights.format === 'onnx'
    ? ort.InferenceSession.create(model.weights.path, options)
    : ort.InferenceSession.create(bertOnnxFromSafetensors(model), options);
}

async function embed(session: ort.InferenceSession, tokenizer: Tokenizer, model: ModelInfo, texts: string[]): Promise<Float32Array> {
  const encoded = texts.map((text) => encode(tokenizer, model, text));
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

process.once('message', (setup: WorkerSetup) => {
  const { model } = setup;
  start(setup).then(
    (session) => {
      const tokenizer = new Tokenizer(model.tokenizer.json, model.tokenizer.config);
      // One request at a time: the session already uses its threads, and the
      // parent hands out work only to idle model processes.
      process.on('message', (request: EmbedRequest) => {
        embed(session, tokenizer, model, request.texts).then(
          (vectors) => reply({ kind: 'vectors', vectors }),
          (error: Error) => reply({ kind: 'error', message: `embedding failed: ${error.message}` }),
        );
      });
      reply({ kind: 'ready' });
    },
    (error: Error) => reply({ kind: 'unloadable', message: `${model.weights.path} could not be loaded by onnxruntime: ${error.message}` }),
  );
});
