/**
 * Demo vectors: feature hashing of words and character trigrams into 384
 * dimensions, L2-normalised. Deterministic and offline, so the demo's search
 * results are meaningful without a model.
 */
export const DEMO_DIMENSIONS = 384;

/** FNV-1a, 32-bit. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function hashEmbed(text: string): Float32Array {
  const v = new Float32Array(DEMO_DIMENSIONS);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const add = (feature: string, weight: number) => {
    const h = hash(feature);
    v[h % DEMO_DIMENSIONS] += (h & 0x80000000 ? -1 : 1) * weight;
  };
  for (const word of words) {
    add(`w:${word}`, 1);
    const padded = ` ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) add(`c:${padded.slice(i, i + 3)}`, 0.5);
  }
  const norm = Math.hypot(...v);
  return norm === 0 ? v : v.map((x) => x / norm);
}
