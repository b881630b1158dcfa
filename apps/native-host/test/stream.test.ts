import { afterEach, describe, expect, it } from 'vitest';
import { frame, header, HostProcess, logLines, tempDir } from './host-client.js';

const MB = 1024 * 1024;
const hosts: HostProcess[] = [];
const dirs: Array<ReturnType<typeof tempDir>> = [];

function start() {
  const tmp = tempDir();
  dirs.push(tmp);
  const host = HostProcess.start(tmp.db, tmp.log);
  hosts.push(host);
  return { host, tmp };
}

afterEach(() => {
  for (const h of hosts.splice(0)) h.kill();
  for (const d of dirs.splice(0)) d.remove();
});

/** The host still answers a correct request. */
async function answers(host: HostProcess) {
  expect((await host.request('hello')).ok).toBe(true);
}

describe('replies over 1 MB', () => {
  it('come as numbered chunks under the limit that reassemble into the reply', async () => {
    const { host } = start();
    // Multi-byte text and characters JSON escapes, so chunk sizes are measured in encoded bytes, not characters.
    const content = (i: number) => `message ${i}: ${'ünïcødé ✓ "quoted" \\ back\tslash 🦀 '.repeat(7_000)}`;
    const events = Array.from({ length: 12 }, (_, i) => ({ id: `big-${i}`, type: 'message', conversationId: 'big', role: 'user', content: content(i), timestamp: 1000 + i }));
    await host.call('submitEvents', { events });
    await host.settled();
    const before = host.messages.length;
    const history = await host.call('getChatHistory', { conversationId: 'big', limit: 12 });
    const sent = host.messages.slice(before);
    expect(sent.length).toBeGreaterThan(3);
    for (const m of sent) expect(m.bytes).toBeLessThanOrEqual(MB);
    expect(sent.map((m) => m.value.chunk)).toEqual(sent.map((_, i) => i));
    expect(new Set(sent.map((m) => m.value.chunks))).toEqual(new Set([sent.length]));
    expect(history.items.map((i: { node: { properties: { content: string } } }) => i.node.properties.content)).toEqual(events.map((e) => e.content));
    await answers(host);
  });
});

describe('pipelining', () => {
  it('answers 1,000 requests written at once, each exactly once', async () => {
    const { host } = start();
    const kinds = [{ type: 'hello' }, { type: 'stats' }, { type: 'getChatHistory', conversationId: 'none' }, { type: 'nope' }];
    const requests = Array.from({ length: 1000 }, (_, i) => ({ id: `r${i}`, ...kinds[i % kinds.length] }));
    host.write(Buffer.concat(requests.map(frame)));
    const replies = await Promise.all(requests.map((r) => host.reply(r.id)));
    replies.forEach((reply, i) => {
      expect(reply.id).toBe(`r${i}`);
      expect(reply.ok).toBe(i % 4 !== 3);
    });
    expect(host.messages).toHaveLength(1000);
    await answers(host);
  });
});

describe('malformed frames get an error reply and the host carries on', () => {
  const body = (text: string | Buffer) => {
    const b = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    return Buffer.concat([header(b.length), b]);
  };
  const cases: Array<[string, Buffer, string | number | null, string, string]> = [
    ['invalid JSON', body('{"id": 1, "type": '), null, 'INVALID_ARGUMENT', 'not valid JSON'],
    ['invalid UTF-8', body(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), null, 'INVALID_ARGUMENT', 'not valid UTF-8'],
    ['an empty frame', header(0), null, 'INVALID_ARGUMENT', 'not valid JSON'],
    ['an array', body('[1, 2]'), null, 'INVALID_ARGUMENT', 'an array'],
    ['a number', body('42'), null, 'INVALID_ARGUMENT', 'number'],
    ['null', body('null'), null, 'INVALID_ARGUMENT', 'null'],
    ['no id', body('{"type": "hello"}'), null, 'INVALID_ARGUMENT', 'request.id'],
    ['an object id', body('{"id": {"a": 1}, "type": "hello"}'), null, 'INVALID_ARGUMENT', 'request.id'],
    ['a fractional id', body('{"id": 1.5, "type": "hello"}'), null, 'INVALID_ARGUMENT', 'request.id'],
    ['no type', body('{"id": 7}'), 7, 'UNSUPPORTED', 'unknown request type'],
    ['an unknown type', body('{"id": "u", "type": "dropDatabase"}'), 'u', 'UNSUPPORTED', 'dropDatabase'],
    ['a type that is an object method name', body('{"id": "p", "type": "__proto__"}'), 'p', 'UNSUPPORTED', '__proto__'],
  ];

  it('one after another on the same connection', async () => {
    const { host } = start();
    for (const [what, bytes, id, code, named] of cases) {
      host.write(bytes);
      const reply = await host.reply(id);
      expect(reply, what).toMatchObject({ id, ok: false, error: { code } });
      expect(reply.error?.message, what).toContain(named);
      await answers(host);
    }
  });

  it('a frame split across many writes, byte by byte, is read whole', async () => {
    const { host } = start();
    const bytes = frame({ id: 'slow', type: 'hello' });
    for (const byte of bytes) host.write(Buffer.from([byte]));
    expect((await host.reply('slow')).ok).toBe(true);
  });
});

describe('the connection ends cleanly', () => {
  it('when stdin closes: requests read before are answered, then exit 0', async () => {
    const { host, tmp } = start();
    host.write(Buffer.concat([frame({ id: 1, type: 'hello' }), frame({ id: 2, type: 'stats' })]));
    host.child.stdin.end();
    expect((await host.reply(1)).ok).toBe(true);
    expect((await host.reply(2)).ok).toBe(true);
    expect(await host.exited).toEqual({ code: 0, signal: null });
    expect(logLines(tmp.log).map((l) => l.end).filter(Boolean)).toEqual(['closed']);
    expect(host.stderr).toBe('');
  });

  it('when stdin closes mid-message: the partial message is dropped and logged, exit 0', async () => {
    const { host, tmp } = start();
    await answers(host);
    const partial = frame({ id: 'cut', type: 'hello', padding: 'x'.repeat(100) });
    host.write(partial.subarray(0, 40));
    host.child.stdin.end();
    expect(await host.exited).toEqual({ code: 0, signal: null });
    expect(host.messages.map((m) => m.value.id)).toEqual([1]);
    expect(logLines(tmp.log).find((l) => l.end)?.end).toBe('closed-mid-message');
  });

  it.each([
    ['over the 64 MiB limit', 64 * MB + 1],
    ['impossible (0xFFFFFFFF)', 0xffffffff],
  ])('when a length is %s: an error reply with id null, then exit 0 without reading further', async (_what, length) => {
    const { host } = start();
    await answers(host);
    host.write(Buffer.concat([header(length), frame({ id: 'after', type: 'hello' })]));
    const reply = await host.reply(null);
    expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(reply.error?.message).toContain(String(length));
    expect(await host.exited).toEqual({ code: 0, signal: null });
    expect(host.messages.some((m) => m.value.id === 'after')).toBe(false);
  });

  it('a message of 8 MB (over Chrome’s reply limit, under the request limit) is read and answered', async () => {
    const { host } = start();
    const events = Array.from({ length: 8 }, (_, i) => ({ id: `e${i}`, type: 'message', conversationId: 'c', role: 'user', content: 'y'.repeat(1_000_000), timestamp: i }));
    const r = await host.request('submitEvents', { events });
    expect(r.ok).toBe(true);
    expect(r.result).toHaveLength(8);
  });
});

describe('signals', () => {
  it('SIGTERM (what Chrome sends when it is done) stops the host cleanly: exit 0, database closed', async () => {
    const { host, tmp } = start();
    await answers(host);
    host.child.kill('SIGTERM');
    expect(await host.exited).toEqual({ code: 0, signal: null });
    expect(logLines(tmp.log).map((l) => l.message)).toContain('host stopped');
  });
});
