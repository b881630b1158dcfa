import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedDB } from '@loomdb/db';
import { fts5Query } from '../src/suites/text.js';

const dir = mkdtempSync(join(tmpdir(), 'loomdb-bm25-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Plain ASCII words, no stemming or stop words on either side: the same tokens, so the same BM25.
const CORPUS = [
  'the ferry to bellagio leaves at noon',
  'we took the ferry and then a ferry again',
  'ferries run every hour on the lake',
  'book the hotel near the lake before the ferry',
  'coffee at noon on the terrace',
  'a long message about hiking trails mountains lakes and one ferry ride at the very end of a long day',
  'fern garden by the lake',
  'the lake the lake the lake',
  'noon',
  'hotel booking confirmed for two nights at the lake hotel',
];
const QUERIES = ['ferry', 'lake hotel', 'ferry noon lake', 'fer*', 'the lake', 'hotel book*', 'missing words'];

describe('LoomDB BM25 against SQLite FTS5 bm25() on the same tokens', () => {
  it('returns the same documents in the same order with the same scores', () => {
    const db = EmbeddedDB.open(join(dir, 'db'), { textIndexes: { t: { types: ['Doc'], fields: ['text'], language: 'none', stopWords: false } } });
    db.insertNodesBatch(CORPUS.map((text, i) => ({ id: `d${i}`, type: 'Doc', properties: { text } })));
    const sqlite = new Database(':memory:');
    sqlite.exec(`CREATE VIRTUAL TABLE docs USING fts5(text, tokenize='unicode61 remove_diacritics 2')`);
    const insert = sqlite.prepare('INSERT INTO docs (rowid, text) VALUES (?, ?)');
    CORPUS.forEach((text, i) => insert.run(i, text));
    const fts = sqlite.prepare<[string], { rowid: number; score: number }>('SELECT rowid, bm25(docs) AS score FROM docs WHERE docs MATCH ? ORDER BY bm25(docs), rowid');
    for (const q of QUERIES) {
      // FTS5 syntax: the OR of the words, a trailing * kept outside the quotes as its prefix operator.
      const match = q
        .split(' ')
        .map((w) => (w.endsWith('*') ? `${fts5Query(w.slice(0, -1))}*` : fts5Query(w)))
        .join(' OR ');
      const want = fts.all(match).map((r) => [`d${r.rowid}`, -r.score]);
      const got = db.searchText(q, { index: 't', k: 100 }).map((h) => [h.id, h.score]);
      expect(got.map(([id]) => id), q).toEqual(want.map(([id]) => id));
      got.forEach(([, score], i) => expect(score as number, q).toBeCloseTo(want[i]![1] as number, 9));
    }
    sqlite.close();
    db.close();
  });
});
