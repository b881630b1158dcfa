import { describe, expect, it } from 'vitest';
import { EmbeddedDB, type Embedder, type LoomPlugin } from '@loomdb/db';
import { errorCode } from './error-code.js';

/** A plugin whose factory records the options it was given. */
function recordingPlugin(seen: unknown[]): LoomPlugin {
  return {
    name: 'recording',
    register(registry) {
      registry.registerEmbedder('model', (options): Embedder => {
        seen.push(options);
        return { dimensions: 2, id: `model:${String(options.variant ?? 'latest')}`, embed: async (texts) => texts.map(() => new Float32Array([1, 0])) };
      });
    },
  };
}

describe('embedder ids', () => {
  it("looks up '<name>:<variant>' as the factory <name> with the option variant, so a space finds the model that filled it", () => {
    const seen: unknown[] = [];
    const db = EmbeddedDB.open(undefined, { storage: 'memory', plugins: [recordingPlugin(seen)] });
    expect(db.embedder('model').id).toBe('model:latest');
    expect(db.embedder('model:weights@abc123', { threads: 1 }).id).toBe('model:weights@abc123');
    expect(seen).toEqual([{}, { threads: 1, variant: 'weights@abc123' }]);
    db.close();
  });

  it('an unknown name is NOT_FOUND naming it, with or without a variant', () => {
    const db = EmbeddedDB.open(undefined, { storage: 'memory' });
    expect(errorCode(() => db.embedder('nope:v1'))).toBe('NOT_FOUND');
    expect(() => db.embedder('nope')).toThrow(/no embedder named "nope"/);
    db.close();
  });
});
