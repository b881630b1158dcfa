import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedDB, type LoomPlugin } from '../index.js';
import { createHashingEmbedder, hashingEmbed, HASHING_DIMENSIONS, STOP_WORDS } from './hashing.js';

const dir = mkdtempSync(join(tmpdir(), 'loomdb-embedder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('hashing embedder', () => {
  it('is deterministic, 384-d and L2-normalised', () => {
    const a = hashingEmbed('Rust embedded databases use LMDB');
    expect(a).toHaveLength(HASHING_DIMENSIONS);
    expect(Array.from(hashingEmbed('Rust embedded databases use LMDB'))).toEqual(Array.from(a));
    expect(cosine(a, a)).toBeCloseTo(1, 5);
  });

  it('puts texts that share words and stems closer than unrelated ones', () => {
    const q = hashingEmbed('which database should I embed?');
    const near = hashingEmbed('an embedded database stores data in process');
    const far = hashingEmbed('we hiked up the mountain on saturday');
    expect(cosine(q, near)).toBeGreaterThan(cosine(q, far) + 0.1);
  });

  it('hashes each feature exactly as the FNV-1a of its text', () => {
    // The reference: build every feature string and hash it whole.
    const fnv = (t: string) => {
      let h = 0x811c9dc5;
      for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
      return h >>> 0;
    };
    const reference = (text: string) => {
      const v = new Float32Array(HASHING_DIMENSIONS);
      const add = (f: string, w: number) => {
        const h = fnv(f);
        v[h % HASHING_DIMENSIONS] += h & 0x80000000 ? -w : w;
      };
      const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
      words.forEach((word, i) => {
        if (STOP_WORDS.has(word)) return add(`w:${word}`, 0.2);
        add(`w:${word}`, 1);
        if (i > 0 && !STOP_WORDS.has(words[i - 1]!)) add(`b:${words[i - 1]} ${word}`, 0.7);
        for (const n of [3, 4]) for (let j = 0; j + n <= word.length + 2; j++) add(`c${n}:${`<${word}>`.slice(j, j + n)}`, 0.25);
      });
      const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
      return norm > 0 ? v.map((x) => x / norm) : v;
    };
    for (const text of ['Rust embedded databases use LMDB', 'How do I make the best coffee?', 'Ünïcode — 東京 and emoji 🎉 too', 'a', 'x y', 'Ada Lovelace, #rust @grace https://x.io']) {
      expect(Array.from(hashingEmbed(text))).toEqual(Array.from(reference(text)));
    }
  });

  it('maps a text without letters or digits to the zero vector', () => {
    expect(hashingEmbed('  ?! ').every((x) => x === 0)).toBe(true);
  });

  it('embeds batches sync and async alike, and rejects non-strings and bad dimensions', async () => {
    const e = createHashingEmbedder({ dimensions: 16 });
    expect(e.dimensions).toBe(16);
    const [sync] = e.embedSync!(['hello world']);
    const [async] = await e.embed(['hello world']);
    expect(Array.from(async!)).toEqual(Array.from(sync!));
    expect(() => e.embedSync!([42 as unknown as string])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('texts[0]') }));
    expect(() => createHashingEmbedder({ dimensions: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('embedder and extractor registry', () => {
  it('serves the built-in hashing embedder and plugins registered the same way', () => {
    const upper: LoomPlugin = {
      name: 'upper',
      register: (r) => {
        r.registerEmbedder('ones', () => ({ dimensions: 2, embed: async (t) => t.map(() => new Float32Array([1, 1])) }));
        r.registerExtractor('caps', () => ({ extract: (t) => (t.match(/[A-Z]\w+/g) ?? []).map((name) => ({ name, kind: 'name', key: name.toLowerCase() })) }));
      },
    };
    const db = EmbeddedDB.open(join(dir, 'registry'), { plugins: [upper] });
    expect(db.embedder('hashing').dimensions).toBe(384);
    expect(db.embedder('ones').dimensions).toBe(2);
    expect(db.extractor('caps').extract('Ada met Grace')).toEqual([
      { name: 'Ada', kind: 'name', key: 'ada' },
      { name: 'Grace', kind: 'name', key: 'grace' },
    ]);
    expect(() => db.embedder('nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: expect.stringContaining('"nope"') }));
    expect(() => db.extractor('nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    db.close();
  });
});
