import type { Pooling } from './model.js';

/**
 * One sentence vector per row of a `[batch, sequence, dimensions]` hidden
 * state, as sentence-transformers computes it: the mean of the unmasked token
 * vectors, the first ([CLS]) token, or the elementwise max of the unmasked
 * tokens; then, if asked, scaled to unit length.
 */
export function poolBatch(
  hidden: Float32Array,
  mask: ArrayLike<number>,
  shape: { batch: number; sequence: number; dimensions: number },
  pooling: Pooling,
  normalize: boolean,
): Float32Array[] {
  const { batch, sequence, dimensions } = shape;
  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const vector = new Float32Array(dimensions);
    if (pooling === 'cls') {
      vector.set(hidden.subarray(b * sequence * dimensions, b * sequence * dimensions + dimensions));
    } else {
      let count = 0;
      if (pooling === 'max') vector.fill(-Infinity);
      for (let t = 0; t < sequence; t++) {
        if (!mask[b * sequence + t]) continue;
        count++;
        const row = (b * sequence + t) * dimensions;
        for (let d = 0; d < dimensions; d++) {
          const v = hidden[row + d]!;
          vector[d] = pooling === 'max' ? Math.max(vector[d]!, v) : vector[d]! + v;
        }
      }
      // sentence-transformers clamps the token count at 1e-9; a row always has [CLS] and [SEP], so count > 0.
      if (pooling === 'mean') for (let d = 0; d < dimensions; d++) vector[d]! /= Math.max(count, 1e-9);
    }
    if (normalize) scaleToUnit(vector);
    out.push(vector);
  }
  return out;
}

/** Divides by the Euclidean norm, clamped at 1e-12 like `torch.nn.functional.normalize`. */
function scaleToUnit(vector: Float32Array): void {
  let sum = 0;
  for (const v of vector) sum += v * v;
  const norm = Math.max(Math.sqrt(sum), 1e-12);
  for (let d = 0; d < vector.length; d++) vector[d]! /= norm;
}
