/** Creates a mapping's embedding spaces on first use, sized by the first vector. */
import type { EmbeddedDB } from '@loomdb/db';

/** Returns a function that answers why `vector` cannot go in `space` (a dimension mismatch), or `undefined`. */
export function ensureSpaces(db: EmbeddedDB): (space: string, vector: Float32Array) => string | undefined {
  const known = new Map(db.stats().spaces.map((s) => [s.name, s.dimensions]));
  return (space, vector) => {
    const dimensions = known.get(space);
    if (dimensions === undefined) {
      // Legacy vectors come from an unknown model: cosine, and no embedder, so nothing re-embeds them as another model's.
      db.createSpace(space, { dimensions: vector.length, metric: 'cosine' });
      known.set(space, vector.length);
      return undefined;
    }
    return dimensions === vector.length ? undefined : `space "${space}" has ${dimensions} dimensions, this vector ${vector.length}`;
  };
}
