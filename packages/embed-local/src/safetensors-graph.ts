/**
 * Runs a safetensors BERT checkpoint on onnxruntime: reads the tensors and
 * writes the BERT encoder (embeddings, self-attention layers, GELU
 * feed-forward, post-layer norms: Hugging Face `BertModel`) as an ONNX graph
 * in memory, with the checkpoint's weights as its initializers. onnxruntime's
 * optimiser then fuses it as it does an exported model. Only the BERT family
 * (`model_type` bert, also MiniLM and BGE checkpoints) is understood; other
 * architectures need a `model.onnx`.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { LoomError } from '@loomdb/db';
import type { ModelInfo } from './model.js';

interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The tensors of a `.safetensors` file by name (float32 only), each with its shape. */
export function readSafetensors(path: string): Map<string, { shape: number[]; data: Float32Array }> {
  const file = readFileSync(path);
  if (file.length < 8) throw new LoomError('INVALID_ARGUMENT', `${path} is not a safetensors file (${file.length} bytes)`);
  const headerLength = Number(file.readBigUInt64LE(0));
  if (headerLength > file.length - 8) throw new LoomError('INVALID_ARGUMENT', `${path} is not a safetensors file (header length ${headerLength})`);
  let header: Record<string, SafetensorsEntry | Record<string, string>>;
  try {
    header = JSON.parse(file.subarray(8, 8 + headerLength).toString('utf8'));
  } catch (error) {
    throw new LoomError('INVALID_ARGUMENT', `${path} is not a safetensors file (its header is not JSON)`, { cause: error });
  }
  const base = 8 + headerLength;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: [start, end] } = entry as SafetensorsEntry;
    if (dtype !== 'F32') continue; // position_ids (I64) and the like are not weights the graph uses
    const bytes = file.subarray(base + start, base + end);
    // Copy: the slice of the file buffer may not be 4-byte aligned.
    tensors.set(name, { shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) });
  }
  return tensors;
}

// The subset of onnx.proto this file writes (field numbers from onnx/onnx.proto).
const ONNX = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: { fields: { irVersion: { type: 'int64', id: 1 }, producerName: { type: 'string', id: 2 }, graph: { type: 'GraphProto', id: 7 }, opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 } } },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: { fields: { tensorType: { type: 'TypeProtoTensor', id: 1 } } },
        TypeProtoTensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } },
      },
    },
  },
});

const FLOAT = 1;
const INT64 = 7;
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;

type Attribute = number | number[];

/** Collects nodes and initializers; names are made unique by a counter. */
class GraphBuilder {
  readonly nodes: object[] = [];
  readonly initializers: object[] = [];
  #count = 0;

  constant(name: string, dims: number[], data: Float32Array | BigInt64Array): string {
    this.initializers.push({ name, dims, dataType: data instanceof Float32Array ? FLOAT : INT64, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, { float = new Set<string>() } = {}): string {
    const output = `${opType.toLowerCase()}_${this.#count++}`;
    const attribute = Object.entries(attributes).map(([name, value]) =>
      Array.isArray(value) ? { name, ints: value, type: ATTRIBUTE_INTS } : float.has(name) ? { name, f: value, type: ATTRIBUTE_FLOAT } : { name, i: value, type: ATTRIBUTE_INT },
    );
    this.nodes.push({ opType, input: inputs, output: [output], name: output, attribute });
    return output;
  }
}

/** Float32 copy of a `[rows, columns]` matrix, transposed (a `Linear` weight is `[out, in]`; MatMul wants `[in, out]`). */
function transpose(data: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = data[r * columns + c]!;
  return out;
}

/**
 * The ONNX bytes of a BERT encoder with the checkpoint's weights, taking
 * `input_ids`, `attention_mask` and `token_type_ids` (`int64 [batch,
 * sequence]`) and giving `last_hidden_state` (`float32 [batch, sequence,
 * hidden]`), the same interface as an exported model.
 */
export function bertOnnxFromSafetensors(model: ModelInfo): Uint8Array {
  const { config } = model;
  if (config.model_type !== undefined && config.model_type !== 'bert') {
    throw new LoomError('UNSUPPORTED', `${model.weights.path}: model_type "${config.model_type}" cannot run from safetensors; give a model.onnx (only bert checkpoints are built into a graph)`);
  }
  const tensors = readSafetensors(model.weights.path);
  const prefix = tensors.has('bert.embeddings.word_embeddings.weight') ? 'bert.' : '';
  const weight = (name: string) => {
    const tensor = tensors.get(prefix + name) ?? tensors.get(prefix + name.replace(/\.weight$/, '.gamma').replace(/\.bias$/, '.beta'));
    if (!tensor) throw new LoomError('INVALID_ARGUMENT', `${model.weights.path} has no tensor ${prefix + name} (not a BERT checkpoint?)`);
    return tensor;
  };
  const hidden = config.hidden_size;
  const heads = config.num_attention_heads ?? 12;
  const layers = config.num_hidden_layers ?? 12;
  const headSize = hidden / heads;
  const epsilon = config.layer_norm_eps ?? 1e-12;
  if (!Number.isInteger(headSize)) throw new LoomError('INVALID_ARGUMENT', `config.json: hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}`);

  const g = new GraphBuilder();
  const param = (name: string) => {
    const t = weight(name);
    return g.constant(name, t.shape, t.data);
  };
  const linear = (x: string, name: string) => {
    const w = weight(`${name}.weight`);
    const [out, inp] = w.shape as [number, number];
    const wt = g.constant(`${name}.weight_t`, [inp, out], transpose(w.data, out, inp));
    return g.op('Add', [g.op('MatMul', [x, wt]), param(`${name}.bias`)]);
  };
  const layerNorm = (x: string, name: string) =>
    g.op('LayerNormalization', [x, param(`${name}.weight`), param(`${name}.bias`)], { axis: -1, epsilon }, { float: new Set(['epsilon']) });
  const scalar = (name: string, value: number) => g.constant(name, [], new Float32Array([value]));
  const ints = (name: string, values: number[]) => g.constant(name, [values.length], BigInt64Array.from(values.map(BigInt)));

  // Embeddings: word + position + token type, then LayerNorm.
  const sequenceLength = g.op('Gather', [g.op('Shape', ['input_ids']), g.constant('one_index', [], BigInt64Array.from([1n]))], { axis: 0 });
  const positions = g.op('Range', [g.constant('zero_i64', [], BigInt64Array.from([0n])), sequenceLength, g.constant('one_i64', [], BigInt64Array.from([1n]))]);
  const words = g.op('Gather', [param('embeddings.word_embeddings.weight'), 'input_ids'], { axis: 0 });
  const place = g.op('Gather', [param('embeddings.position_embeddings.weight'), positions], { axis: 0 });
  const kinds = g.op('Gather', [param('embeddings.token_type_embeddings.weight'), 'token_type_ids'], { axis: 0 });
  let x = layerNorm(g.op('Add', [g.op('Add', [words, place]), kinds]), 'embeddings.LayerNorm');

  // Attention bias: 0 where a token is real, -1e9 where it is padding ([batch, 1, 1, sequence]).
  const mask = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], { to: FLOAT }), ints('mask_axes', [1, 2])]);
  const maskBias = g.op('Mul', [g.op('Sub', [scalar('one_f', 1), mask]), scalar('masked_f', -1e9)]);
  const splitHeads = ints('split_heads', [0, 0, heads, headSize]);
  const mergeHeads = ints('merge_heads', [0, 0, hidden]);
  const scale = scalar('attention_scale', 1 / Math.sqrt(headSize));
  const sqrtHalf = scalar('sqrt_half', Math.SQRT1_2);
  const half = scalar('half', 0.5);
  const one = 'one_f';

  for (let i = 0; i < layers; i++) {
    const p = `encoder.layer.${i}`;
    const heads4 = (name: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [linear(x, `${p}.attention.self.${name}`), splitHeads])], { perm });
    const q = heads4('query', [0, 2, 1, 3]);
    const k = heads4('key', [0, 2, 3, 1]);
    const v = heads4('value', [0, 2, 1, 3]);
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), maskBias]);
    const context = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [context], { perm: [0, 2, 1, 3] }), mergeHeads]);
    const attended = layerNorm(g.op('Add', [linear(merged, `${p}.attention.output.dense`), x]), `${p}.attention.output.LayerNorm`);
    // GELU, exact (erf) form, as BERT's "gelu" activation.
    const up = linear(attended, `${p}.intermediate.dense`);
    const gelu = g.op('Mul', [g.op('Mul', [up, half]), g.op('Add', [g.op('Erf', [g.op('Mul', [up, sqrtHalf])]), one])]);
    x = layerNorm(g.op('Add', [linear(gelu, `${p}.output.dense`), attended]), `${p}.output.LayerNorm`);
  }
  g.nodes.push({ opType: 'Identity', input: [x], output: ['last_hidden_state'], name: 'last_hidden_state', attribute: [] });

  const tensorType = (elemType: number, dims: Array<string | number>) => ({
    tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } },
  });
  const ModelProto = ONNX.lookupType('onnx.ModelProto');
  const message = ModelProto.fromObject({
    irVersion: 8,
    producerName: '@loomdb/embed-local',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => ({ name, type: tensorType(INT64, ['batch', 'sequence']) })),
      output: [{ name: 'last_hidden_state', type: tensorType(FLOAT, ['batch', 'sequence', hidden]) }],
    },
  });
  return ModelProto.encode(message).finish();
}
