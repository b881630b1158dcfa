import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAPPING, mappingJsonSchema } from '../src/index.js';

describe('mapping.schema.json', () => {
  it('is the schema the code validates with (regenerate: node -e "import(\'./dist/index.js\')…mappingJsonSchema()")', () => {
    const published = JSON.parse(readFileSync(new URL('../mapping.schema.json', import.meta.url), 'utf8'));
    expect(published).toEqual(JSON.parse(JSON.stringify(mappingJsonSchema())));
    expect(JSON.stringify(published)).toContain('embeddingsOf');
    expect(Object.keys(DEFAULT_MAPPING.stores)).toEqual(['conversations', 'entities', 'messages', 'embeddings']);
  });
});
