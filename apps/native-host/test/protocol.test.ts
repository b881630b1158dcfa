import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashingEmbed } from '@loomdb/db';
import { chatEvents, HostProcess, tempDir, TOPICS } from './host-client.js';

// One host process for the whole file: a real child on a real database, spoken to in frames.
const tmp = tempDir();
let host: HostProcess;

beforeAll(async () => {
  host = HostProcess.start(tmp.db, tmp.log);
  const submitted = await host.call('submitEvents', { events: chatEvents(4, 20) });
  expect(submitted).toHaveLength(80);
  expect(submitted.every((r: { stored: boolean }) => r.stored)).toBe(true);
  await host.settled();
});

afterAll(async () => {
  const { code } = await host.close();
  expect(code).toBe(0);
  tmp.remove();
});

describe('each request type', () => {
  it('hello reports versions, capabilities, limits and the migration state', async () => {
    const hello = await host.call('hello', { protocolVersion: 1 });
    expect(hello).toMatchObject({
      protocolVersion: 1,
      supportedProtocolVersions: [1],
      host: { name: '@loomdb/native-host' },
      limits: { maxRequestBytes: 64 * 1024 * 1024, maxMessageBytes: 1024 * 1024 },
      database: { path: tmp.db },
    });
    expect(hello.capabilities).toEqual(expect.arrayContaining(['submitEvents', 'findSimilarMemories', 'getConversationContext', 'searchByEntity', 'getChatHistory', 'query', 'stats', 'forget', 'migrate.begin', 'migrate.batch', 'migrate.end']));
    expect(typeof hello.migration.state).toBe('string');
    const other = await host.request('hello', { protocolVersion: 99 });
    expect(other).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED' } });
    expect(other.error?.message).toContain('99');
  });

  it('submitEvents acknowledges each event once stored, and an event id submitted again is not stored twice', async () => {
    const again = await host.call('submitEvents', { events: chatEvents(1, 2) });
    expect(again).toEqual([
      { id: 's0-m0', stored: false },
      { id: 's0-m1', stored: false },
    ]);
    const bad = await host.request('submitEvents', { events: [{ id: 'x', type: 'message', conversationId: 'c', role: 'robot', content: 'hi', timestamp: 1 }] });
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(bad.error?.message).toContain('events[0].role');
  });

  it('findSimilarMemories by text finds the messages of the matching conversation', async () => {
    for (const [s, t] of TOPICS.entries()) {
      const page = await host.call('findSimilarMemories', { text: t.assistant, k: 5 });
      expect(page.items).toHaveLength(5);
      expect(page.items[0].node.properties.conversationId).toBe(`session-${s}`);
      expect(page.items[0].node.properties.content).toContain(t.assistant);
    }
  });

  it('findSimilarMemories by vector with filters', async () => {
    const vector = Array.from(hashingEmbed(TOPICS[1].user));
    const page = await host.call('findSimilarMemories', { vector, k: 3, role: 'user', conversationId: 'session-1' });
    expect(page.items).toHaveLength(3);
    for (const item of page.items) expect(item.node.properties).toMatchObject({ role: 'user', conversationId: 'session-1' });
  });

  it('getConversationContext returns the message with its neighbours in time order', async () => {
    const history = await host.call('getChatHistory', { conversationId: 'session-2', limit: 20 });
    const middle = history.items[10].node;
    const page = await host.call('getConversationContext', { messageId: middle.id, before: 2, after: 2, includeEntities: false });
    expect(page.items.map((i: { node: { properties: { eventId: string } } }) => i.node.properties.eventId)).toEqual(['s2-m8', 's2-m9', 's2-m10', 's2-m11', 's2-m12']);
  });

  it('searchByEntity finds messages mentioning an entity by name', async () => {
    const page = await host.call('searchByEntity', { entity: 'Anna', k: 50, types: ['Message'] });
    expect(page.items.length).toBeGreaterThan(0);
    for (const item of page.items) expect(item.node.properties.content).toContain('Anna');
  });

  it('getChatHistory pages with limit, cursor and order', async () => {
    const first = await host.call('getChatHistory', { conversationId: 'session-3', limit: 8, order: 'desc' });
    expect(first.items.map((i: { node: { properties: { eventId: string } } }) => i.node.properties.eventId)).toEqual(Array.from({ length: 8 }, (_, i) => `s3-m${19 - i}`));
    const second = await host.call('getChatHistory', { conversationId: 'session-3', limit: 8, order: 'desc', cursor: first.nextCursor });
    expect(second.items[0].node.properties.eventId).toBe('s3-m11');
  });

  it('query runs a plan', async () => {
    const r = await host.call('query', { plan: { version: 1, types: ['Conversation'], orderBy: { key: 'createdAt', direction: 'asc' } } });
    expect(r.items.map((i: { node: { id: string } }) => i.node.id).sort()).toEqual(['session-0', 'session-1', 'session-2', 'session-3']);
    expect(r.stats.returned).toBe(4);
    const bad = await host.request('query', { plan: { version: 1, types: 'Conversation' } });
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
  });

  it('stats reports the database, the weaver and the inbox', async () => {
    const s = await host.call('stats');
    expect(s.database.nodes).toBeGreaterThanOrEqual(84);
    expect(s.weaver.processed).toBe(80);
    expect(s.inbox).toMatchObject({ pending: 0, done: 80 });
  });

  it('forget removes a conversation once the weaver reaches it', async () => {
    const ack = await host.call('forget', { conversationId: 'session-3' });
    expect(ack.stored).toBe(true);
    await host.settled();
    expect((await host.call('getChatHistory', { conversationId: 'session-3' })).items).toEqual([]);
    expect((await host.call('getChatHistory', { conversationId: 'session-2', limit: 1 })).items).toHaveLength(1);
  });
});

describe('bad parameters get an error reply naming them, and the host carries on', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['hello', { protocolVersion: 'one' }, 'hello.protocolVersion'],
    ['submitEvents', { events: 'not a list' }, 'submitEvents.events'],
    ['submitEvents', {}, 'submitEvents.events'],
    ['findSimilarMemories', { k: 3 }, 'exactly one of text and vector'],
    ['findSimilarMemories', { text: 'x', vector: [1] }, 'exactly one of text and vector'],
    ['findSimilarMemories', { text: 'x', k: 0 }, 'options.k'],
    ['findSimilarMemories', { text: 'x', k: 1.5 }, 'findSimilarMemories.k'],
    ['getConversationContext', { messageId: '' }, 'getConversationContext.messageId'],
    ['getConversationContext', { messageId: 'm', before: -1 }, 'options.before'],
    ['searchByEntity', { entity: 'Anna', hops: 'two' }, 'searchByEntity.hops'],
    ['getChatHistory', { conversationId: 'c', order: 'sideways' }, 'getChatHistory.order'],
    ['getChatHistory', { conversationId: 'c', limit: '10' }, 'getChatHistory.limit'],
    ['getChatHistory', { conversationId: 'c', colour: 'red' }, 'colour'],
    ['getChatHistory', { conversationId: 'c', cursor: 'garbage' }, 'cursor'],
    ['query', { plan: 'all' }, 'query.plan'],
    ['stats', { verbose: true }, 'verbose'],
    ['forget', {}, 'exactly one of conversationId and messageId'],
    ['forget', { conversationId: 'a', messageId: 'b' }, 'exactly one of conversationId and messageId'],
  ];

  it.each(cases)('%s %j', async (type, params, named) => {
    const r = await host.request(type, params);
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('INVALID_ARGUMENT');
    expect(r.error?.message).toContain(named);
    expect((await host.call('stats')).database.nodes).toBeGreaterThan(0);
  });

  it('a vector of the wrong length is DIMENSION_MISMATCH naming both lengths', async () => {
    const r = await host.request('findSimilarMemories', { vector: [1, 2, 3] });
    expect(r.error?.code).toBe('DIMENSION_MISMATCH');
    expect(r.error?.message).toMatch(/3\b[^]*384|384[^]*\b3\b/u);
  });
});

describe('the IndexedDB migration stream', () => {
  const header = (database: string) => ({ kind: 'header', format: 'loomdb-indexeddb-export', version: 1, database, databaseVersion: 1, stores: [{ name: 'conversations', keyPath: 'id', autoIncrement: false }] });
  const batch = { kind: 'batch', store: 'conversations', records: [{ key: 'c1', value: { id: 'c1', title: 'Lisbon trip' } }], lastKey: 'c1' };

  it('hello says whether a legacy database still needs migrating; begin, batch and end import it, verified', async () => {
    expect((await host.call('hello', { legacyDatabase: 'legacy-a' })).migration).toEqual({ state: 'needed', database: 'legacy-a' });
    expect(await host.call('migrate.begin', { header: header('legacy-a') })).toMatchObject({ state: 'running', database: 'legacy-a' });
    expect((await host.call('hello', {})).migration).toMatchObject({ state: 'running', database: 'legacy-a' });
    expect(await host.call('migrate.batch', { batch: { ...batch, records: [], lastKey: null } })).toMatchObject({ state: 'running' });
    const report = await host.call('migrate.end', { manifest: { kind: 'manifest', database: 'legacy-a', stores: { conversations: { count: 0, checksum: '0000000000000000' } } } });
    expect(report).toMatchObject({ database: 'legacy-a', alreadyComplete: false, stores: { conversations: { exported: 0, verified: true } } });
    expect((await host.call('hello', { legacyDatabase: 'legacy-a' })).migration).toEqual({ state: 'complete', database: 'legacy-a' });
  });

  it('a manifest that does not match fails the stream with CORRUPTION, and a new stream continues', async () => {
    await host.call('migrate.begin', { header: header('legacy-b') });
    await host.call('migrate.batch', { batch });
    const end = await host.request('migrate.end', { manifest: { kind: 'manifest', database: 'legacy-b', stores: { conversations: { count: 2, checksum: '0000000000000000' } } } });
    expect(end).toMatchObject({ ok: false, error: { code: 'CORRUPTION', message: expect.stringContaining('store "conversations": the export has 2 records, 1 arrived') } });
    expect((await host.call('hello', { legacyDatabase: 'legacy-b' })).migration).toMatchObject({ state: 'failed', error: { code: 'CORRUPTION' } });
    // The record arrived before the failure and stays: the next stream skips it.
    const listed = await host.call('query', { plan: { version: 1, types: ['Conversation'] } });
    expect(listed.items.filter((i: { node: { properties: { title?: string } } }) => i.node.properties.title === 'Lisbon trip')).toHaveLength(1);
  });

  it('out of order or malformed, each request gets an error naming the problem and the host carries on', async () => {
    expect(await host.request('migrate.batch', { batch })).toMatchObject({ ok: false, error: { code: 'CONFLICT', message: expect.stringContaining('send migrate.begin') } });
    expect(await host.request('migrate.begin', { header: { ...header('x'), kind: 'batch' } })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('migrate.begin.header.kind') } });
    expect(await host.request('migrate.begin', { header: { ...header('legacy-c'), format: 'something-else' } })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('not a LoomDB IndexedDB export') } });
    expect(await host.request('migrate.begin', { header: header('legacy-d'), mapping: { version: 1, stores: { conversations: { type: '' } } } })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('store "conversations" field "type"') } });
    await host.call('migrate.begin', { header: header('legacy-e') });
    expect(await host.request('migrate.begin', { header: header('legacy-f') })).toMatchObject({ ok: false, error: { code: 'CONFLICT', message: expect.stringContaining('"legacy-e" is still open') } });
    expect((await host.call('stats')).database.nodes).toBeGreaterThan(0);
  });
});
