import { describe, expect, it } from 'vitest';
import { replyMessages } from './chunking.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** What the extension does: group by id, order by chunk, join data, parse. */
function reassemble(messages: string[]): unknown {
  const parsed = messages.map((m) => JSON.parse(m) as { chunk?: number; chunks?: number; data?: string });
  if (parsed.length === 1 && parsed[0]?.chunks === undefined) return parsed[0];
  expect(parsed.map((p) => p.chunk)).toEqual(parsed.map((_, i) => i));
  for (const p of parsed) expect(p.chunks).toBe(parsed.length);
  return JSON.parse(parsed.map((p) => p.data).join(''));
}

describe('replyMessages', () => {
  it('a reply that fits is sent as it is', () => {
    const json = JSON.stringify({ id: 1, ok: true, result: 'x'.repeat(1000) });
    expect(replyMessages(1, json, 2000)).toEqual([json]);
  });

  it.each([
    ['ASCII', 'plain text '.repeat(500)],
    ['multi-byte characters', 'ünïcødé ✓ 日本語 '.repeat(300)],
    ['surrogate pairs', '🦀🧶'.repeat(700)],
    ['characters JSON escapes', '"\\\n\t\u0001'.repeat(600)],
    ['a mix', 'a"é🦀\u0000\\ '.repeat(400)],
  ])('%s: every chunk fits and the chunks reassemble into the reply', (_what, text) => {
    const reply = { id: 'r-7', ok: true, result: { items: [text, text.slice(3)] } };
    const json = JSON.stringify(reply);
    const max = 1024;
    const messages = replyMessages('r-7', json, max);
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) {
      expect(bytes(m)).toBeLessThanOrEqual(max);
      expect(JSON.parse(m).id).toBe('r-7');
    }
    expect(reassemble(messages)).toEqual(reply);
    // No chunk is needlessly small: all but the last use most of the room.
    for (const m of messages.slice(0, -1)) expect(bytes(m)).toBeGreaterThan(max * 0.7);
  });

  it('a surrogate pair is never split between chunks', () => {
    const messages = replyMessages(1, JSON.stringify({ id: 1, ok: true, result: '🦀'.repeat(2000) }), 512);
    for (const m of messages) {
      const data = (JSON.parse(m) as { data: string }).data;
      expect(data).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u);
    }
  });
});
