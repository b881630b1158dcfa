import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConversation, loadPersona } from '../src/suites/recall-data.js';
import { score } from '../src/suites/recall.js';
import { chatCorpus, fts5Query, textQueries } from '../src/suites/text.js';

/** What `read` makes of `value` written as JSON to a temporary file `name` (removed after). */
function readFile<T>(name: string, value: unknown, read: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'recall-data-'));
  try {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(value));
    return read(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('text suite inputs', () => {
  it('builds the same seeded corpus and queries every time', () => {
    const a = chatCorpus(50);
    const b = chatCorpus(50);
    expect(a.messages).toEqual(b.messages);
    expect(new Set(a.messages).size).toBeGreaterThan(40);
    const q = textQueries(a.vocabulary, 20);
    expect(q).toEqual(textQueries(a.vocabulary, 20));
    for (const x of q) expect(x.split(' ').length).toBeGreaterThanOrEqual(2);
  });

  it('asks FTS5 the OR of the quoted terms', () => {
    expect(fts5Query('paris "trip" plan')).toBe('"paris" OR """trip""" OR "plan"');
  });
});

describe('recall suite', () => {
  it('scores recall_any, recall_all and nDCG as RealMem does', () => {
    const s = score(['a', 'b', 'c', 'd', 'e', 'f'], ['b', 'f']);
    expect(s['recall_any@5']).toBe(1);
    expect(s['recall_all@5']).toBe(0);
    expect(s['recall_all@10']).toBe(1);
    expect(s['ndcg@10']).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(7)) / (1 + 1 / Math.log2(3)), 10);
    expect(score(['x'], ['b'])['ndcg@10']).toBe(0);
  });

  it('takes a user turn as a query when the next assistant turn names the sessions it drew on', () => {
    const p = readFile(
      'p.json',
      {
        _metadata: { person_name: 'P' },
        dialogues: [
          {
            session_identifier: 'A:S1',
            session_uuid: 'u1',
            dialogue_turns: [
              { speaker: 'User', content: 'I adopted a cat named Miso.' },
              { speaker: 'Assistant', content: 'Lovely!' },
            ],
          },
          {
            session_identifier: 'B:S1',
            session_uuid: 'u2',
            dialogue_turns: [
              { speaker: 'User', content: 'What food suits my cat?' },
              {
                speaker: 'Assistant',
                content: 'For Miso, wet food.',
                memory_session_uuids: ['u1'],
              },
              { speaker: 'User', content: 'Thanks' },
              {
                speaker: 'Assistant',
                content: 'Any time.',
                memory_used: [{ session_uuid: 'u1' }],
              },
            ],
          },
        ],
      },
      loadPersona,
    );
    expect(p.name).toBe('P');
    expect(p.sessions.map((s) => s.messages.length)).toEqual([2, 4]);
    expect(p.queries).toEqual([
      { text: 'What food suits my cat?', gold: ['A:S1'], session: 1 },
      { text: 'Thanks', gold: ['A:S1'], session: 1 },
    ]);
  });

  it('reads a LoCoMo conversation: speaker-prefixed turns, categories 1–4, evidence inside the conversation', () => {
    const c = readFile(
      '26.json',
      {
        speaker_a: 'Ana',
        speaker_b: 'Ben',
        session_1_date_time: '1:56 pm on 8 May, 2023',
        session_1: [
          { speaker: 'Ana', dia_id: 'D1:1', text: 'I moved to Porto.' },
          { speaker: 'Ben', dia_id: 'D1:2', text: ' ' },
        ],
        session_2: [{ speaker: 'Ben', dia_id: 'D2:1', text: 'Got a puppy!' }],
        qa: [
          { question: 'Where does Ana live?', evidence: ['D1:1'], category: 4 },
          {
            question: 'What did Ben adopt?',
            evidence: ['D2:1', 'D9:9'],
            category: 1,
          },
          { question: 'Is Ana a pilot?', evidence: ['D1:1'], category: 5 },
          { question: 'When?', evidence: ['D7:1'], category: 2 },
        ],
      },
      loadConversation,
    );
    expect(c.messages.map((m) => [m.id, m.session, m.content])).toEqual([
      ['D1:1', 'session_1', 'Ana: I moved to Porto.'],
      ['D2:1', 'session_2', 'Ben: Got a puppy!'],
    ]);
    expect(c.messages[0]!.timestamp).toBeLessThan(c.messages[1]!.timestamp);
    expect(c.queries).toEqual([
      { text: 'Where does Ana live?', gold: ['D1:1'] },
      { text: 'What did Ben adopt?', gold: ['D2:1'] },
    ]);
  });
});
