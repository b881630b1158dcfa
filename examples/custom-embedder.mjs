// A custom embedder plugin: registered by name, named by a space, used for text.
// Run: node examples/custom-embedder.mjs
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDB } from '@loomdb/db';
import { query } from '@loomdb/query';

/** Letter frequencies of a-z, L2-normalised: a toy, but a real Embedder. */
function letters(text) {
  const v = new Float32Array(26);
  for (const c of text.toLowerCase()) {
    const i = c.charCodeAt(0) - 97;
    if (i >= 0 && i < 26) v[i] += 1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

const lettersPlugin = {
  name: 'letters',
  register: (registry) =>
    registry.registerEmbedder('letters', () => ({
      dimensions: 26,
      embed: async (texts) => texts.map(letters),
      embedSync: (texts) => texts.map(letters),
    })),
};

const db = EmbeddedDB.open(join(mkdtempSync(join(tmpdir(), 'loomdb-embedder-')), 'embedder.loomdb'), {
  plugins: [lettersPlugin],
  spaces: { default: { dimensions: 26, metric: 'cosine', embedder: 'letters' } },
});
const embedder = db.embedder('letters');
for (const word of ['banana', 'bandana', 'zebra', 'quartz']) {
  const node = db.insertNode({ type: 'Word', properties: { word } });
  const [vector] = await embedder.embed([word]);
  db.insertEmbedding(node.id, vector);
}

const { items } = await query(db).type('Word').similarTo('cabana', { k: 2 }).execute(); // text, embedded by 'letters'
const words = items.map((i) => i.node.properties.word);
assert.deepEqual(words, ['banana', 'bandana']);
console.log('nearest to cabana:', words.join(', '));
db.close();
