import { afterEach, describe, expect, it } from 'vitest';
import { AsyncEmbeddedDB, createHashingEmbedder, EmbeddedDB, LoomError, MemoryStorage, type Extractor } from '@loomdb/db';
import { expectLoomError, seededRandom, withoutWriteBatches } from '@loomdb/db/testing';
import { WeaverController, type WeaverEvent, type WeaverOptions } from '@loomdb/weaver';
import { chain, freshDb, messages, removeTemps, snapshot, tempPath } from './helpers.js';

const weavers: WeaverController[] = [];
const dbs: EmbeddedDB[] = [];
afterEach(async () => {
  for (const w of weavers.splice(0)) await w.shutdown();
  for (const db of dbs.splice(0)) db.close();
  removeTemps();
});

async function start(options: WeaverOptions = {}, db = freshDb()): Promise<{ db: EmbeddedDB; weaver: WeaverController }> {
  dbs.push(db);
  const weaver = new WeaverController(db, { maxLatencyMs: 1, pollMs: 20, retryDelayMs: 5, ...options });
  weavers.push(weaver);
  await weaver.initialize();
  return { db, weaver };
}

/** Submits `events` (in chunks) and waits until the weaver has written everything. */
async function ingest(weaver: WeaverController, events: WeaverEvent[], chunk = events.length): Promise<void> {
  for (let i = 0; i < events.length; i += chunk) await weaver.submitEvents(events.slice(i, i + chunk));
  await weaver.shutdown({ drain: true });
}

describe('WeaverController', () => {
  it('writes the memory vocabulary: messages, conversations, entities, edges and embeddings', async () => {
    const { db, weaver } = await start();
    await ingest(weaver, [
      { id: 'c', type: 'conversation', conversationId: 'chat', title: 'Plans', source: 'cli' },
      { id: 'm2', type: 'message', conversationId: 'chat', role: 'assistant', content: 'Sure, ask Ada Lovelace and #rust folks.', timestamp: 2000, mood: 'happy' } as WeaverEvent,
      { id: 'm1', type: 'message', conversationId: 'chat', role: 'user', content: 'Should I ask Ada Lovelace about #Rust?', timestamp: 1000 },
      { id: 'm3', type: 'message', conversationId: 'chat', role: 'user', content: 'Thanks!', timestamp: 3000 },
    ]);
    expect(db.getNode('chat')).toMatchObject({ type: 'Conversation', properties: { title: 'Plans', source: 'cli', startedAt: 1000 } });
    const m2 = db.listNodes({ type: 'Message', where: { eventId: 'm2' }, limit: 1 }).items[0]!;
    expect(m2.properties).toEqual({ conversationId: 'chat', role: 'assistant', content: 'Sure, ask Ada Lovelace and #rust folks.', timestamp: 2000, eventId: 'm2', source: 'unknown', metadata: { mood: 'happy' } });
    expect(chain(db, 'chat')).toEqual(['m1', 'm2', 'm3']);
    expect(db.neighbors(m2.id, { direction: 'out', edgeTypes: ['IN_CONVERSATION'] }).map((n) => n.node.id)).toEqual(['chat']);
    const entities = [...db.iterateNodes({ type: 'Entity' })].map((n) => n.properties.key).sort();
    expect(entities).toEqual(['name:ada lovelace', 'tag:#rust']);
    const [ada, rust] = ['name:ada lovelace', 'tag:#rust'].map((key) => db.listNodes({ type: 'Entity', where: { key }, limit: 1 }).items[0]!);
    expect(db.degree(ada!.id, { direction: 'in', edgeTypes: ['MENTIONS'] })).toBe(2);
    // Co-mention is symmetric: one RELATED_TO edge for the pair, found from either end.
    const related = db.neighbors(ada!.id, { direction: 'both', edgeTypes: ['RELATED_TO'] });
    expect(related.map((r) => [r.node.id, r.edge.weight])).toEqual([[rust!.id, 2]]);
    expect(db.neighbors(rust!.id, { direction: 'both', edgeTypes: ['RELATED_TO'] }).map((r) => [r.node.id, r.edge.weight])).toEqual([[ada!.id, 2]]);
    expect([...db.iterateEdges({ type: 'RELATED_TO' })].map((e) => [e.from < e.to, e.weight])).toEqual([[true, 2]]);
    expect(Array.from(db.getEmbedding(m2.id)!)).toEqual(Array.from(createHashingEmbedder().embedSync!([m2.properties.content as string])[0]!));
    expect(db.searchVectors(createHashingEmbedder().embedSync!(['ask Ada Lovelace about Rust'])[0]!, { k: 1 })[0]!.id).not.toBe(
      db.listNodes({ type: 'Message', where: { eventId: 'm3' }, limit: 1 }).items[0]!.id,
    );
    expect(weaver.stats()).toMatchObject({ submitted: 4, pending: 0, processed: 4, failed: 0, deadLettered: 0 });
    expect(weaver.stats().batches).toBeGreaterThanOrEqual(1);
    expect(weaver.stats().latencyMs.p99).toBeGreaterThanOrEqual(weaver.stats().latencyMs.p50);
  });

  it('creates the message space with its embedder and the memory indexes when missing', async () => {
    const { db } = await start();
    expect(db.stats().spaces).toEqual([expect.objectContaining({ name: 'default', dimensions: 384, metric: 'cosine' })]);
    expect(db.stats().indexes.map((i) => i.name).sort()).toEqual(['Entity.key', 'Entity.normalizedName', 'Message.conversationId', 'Message.eventId', 'Message.timestamp', 'nodeType']);
    expect(db.stats().textIndexes).toEqual([
      expect.objectContaining({ name: 'default', types: ['Message'], fields: ['content'] }),
      expect.objectContaining({ name: 'entity-names', types: ['Entity'], fields: ['name'] }),
    ]);
    const other = freshDb({ spaces: { default: { dimensions: 8, metric: 'l2' } } });
    dbs.push(other);
    const err = await new WeaverController(other).initialize().catch((e: unknown) => e);
    expect(LoomError.is(err) && err.code).toBe('INVALID_ARGUMENT');
    expect((err as Error).message).toContain('384');
  });

  it('refuses an AsyncEmbeddedDB with INVALID_ARGUMENT naming the fix', async () => {
    const path = tempPath();
    const adb = await AsyncEmbeddedDB.open(path);
    try {
      const err = expectLoomError(() => new WeaverController(adb as never), 'INVALID_ARGUMENT');
      expect(err.message).toContain(`needs an EmbeddedDB, not an AsyncEmbeddedDB: pass EmbeddedDB.open(${JSON.stringify(path)})`);
    } finally {
      await adb.close();
    }
  });

  it('gives the same graph for out-of-order and repeated delivery as for in-order delivery', async () => {
    const events: WeaverEvent[] = [...messages(90, 4), { id: 'title', type: 'conversation', conversationId: 'c1', title: 'Renamed' }];
    const inOrder = await start({ batchSize: 16 });
    await ingest(inOrder.weaver, events);
    const random = seededRandom(42);
    const shuffled = [...events, ...events.filter(() => random() < 0.3)].sort(() => random() - 0.5);
    const messy = await start({ batchSize: 7 });
    await ingest(messy.weaver, shuffled, 11);
    expect(snapshot(messy.db)).toEqual(snapshot(inOrder.db));
    for (const c of ['c0', 'c1', 'c2', 'c3']) {
      expect(chain(messy.db, c)).toEqual(events.filter((e) => e.type === 'message' && e.conversationId === c).map((e) => e.id));
    }
    expect(messy.weaver.stats().submitted).toBe(91);
    expect(messy.weaver.stats().processed).toBe(91);
  });

  it('gives the same graph when two weavers share one database and inbox, their planned batches conflicting', async () => {
    const events = messages(400, 5);
    const alone = await start({ batchSize: 16 });
    await ingest(alone.weaver, events);
    const db = freshDb();
    const [a, b] = [await start({ batchSize: 16 }, db), await start({ batchSize: 16 }, db)];
    // Each submits half: both lease from the one inbox and write the same conversations.
    await Promise.all([a.weaver.submitEvents(events.filter((_, i) => i % 2 === 0)), b.weaver.submitEvents(events.filter((_, i) => i % 2 === 1))]);
    await Promise.all([a.weaver.shutdown({ drain: true }), b.weaver.shutdown({ drain: true })]);
    expect(snapshot(db)).toEqual(snapshot(alone.db));
    expect(a.weaver.stats().processed + b.weaver.stats().processed).toBe(400);
    expect(Math.min(a.weaver.stats().processed, b.weaver.stats().processed)).toBeGreaterThan(0);
    expect(db.verify().ok).toBe(true);
  });

  it('forgets a conversation or a message without a trace in queries, embeddings or stats', async () => {
    const all = messages(40, 2);
    const c1 = all.filter((m) => m.conversationId === 'c1');
    const expected = await start();
    await ingest(expected.weaver, [...c1.filter((m) => m.id !== 'e9')]);
    const { db, weaver } = await start({ batchSize: 8 });
    await weaver.submitEvents(all);
    await weaver.submitEvents([
      { id: 'f1', type: 'forget', conversationId: 'c0' },
      { id: 'f2', type: 'forget', messageId: 'e9' },
    ]);
    await weaver.shutdown({ drain: true });
    expect(snapshot(db)).toEqual(snapshot(expected.db));
    expect(db.getNode('c0')).toBeNull();
    expect(chain(db, 'c1')).toEqual(c1.filter((m) => m.id !== 'e9').map((m) => m.id));
    expect(db.stats().nodes).toBe(expected.db.stats().nodes);
    const probe = createHashingEmbedder().embedSync!([all[0]!.content])[0]!;
    const hits = db.searchVectors(probe, { k: 100 }).map((h) => db.getNode(h.id)?.properties.conversationId);
    expect(hits.every((c) => c === 'c1')).toBe(true);
  });

  it('dead-letters a poison event with its error while the rest of its batch is written', async () => {
    const rules = (await import('@loomdb/weaver')).createRuleExtractor();
    const picky: Extractor = {
      extract: (text) => {
        if (text.includes('POISON')) throw new Error('cannot read POISON');
        return rules.extract(text);
      },
    };
    const errors: string[] = [];
    const { db, weaver } = await start({ batchSize: 32, extractor: picky, maxAttempts: 2 });
    weaver.on('error', (e) => errors.push(e.message));
    const events = messages(20, 2);
    events[7] = { ...events[7]!, content: 'POISON pill' };
    await ingest(weaver, events);
    expect(db.stats().spaces[0]!.embeddings).toBe(19);
    expect([...db.iterateNodes({ type: 'Message' })].map((m) => m.properties.eventId)).not.toContain('e7');
    expect(chain(db, 'c1')).toEqual(['e1', 'e3', 'e5', 'e9', 'e11', 'e13', 'e15', 'e17', 'e19']);
    const dead = db.queue('weaver-inbox').deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ id: 'e7', attempts: 2 });
    expect(dead[0]!.error).toContain('cannot read POISON');
    expect(weaver.stats()).toMatchObject({ processed: 19, deadLettered: 1, failed: 2, pending: 0 });
    expect(errors.some((m) => m.includes('POISON'))).toBe(true);
  });

  it('writes explicit entities, waiting for a message that has not arrived yet', async () => {
    const { db, weaver } = await start({ batchSize: 4, retryDelayMs: 25, maxAttempts: 6 });
    await weaver.submitEvents([
      { id: 'x1', type: 'entity', name: 'LoomDB', kind: 'product', messageId: 'm1' },
      { id: 'x2', type: 'entity', name: 'Quiet', kind: 'topic' },
    ]);
    await new Promise((r) => setTimeout(r, 30));
    await weaver.submitEvent({ id: 'm1', type: 'message', conversationId: 'c', role: 'user', content: 'I like Rust', timestamp: 5 });
    await weaver.shutdown({ drain: true });
    const m1 = db.listNodes({ type: 'Message', where: { eventId: 'm1' }, limit: 1 }).items[0]!;
    const keys = db.neighbors(m1.id, { direction: 'out', edgeTypes: ['MENTIONS'] }).map((n) => n.node.properties.key).sort();
    expect(keys).toEqual(['name:rust', 'product:loomdb']);
    expect(db.listNodes({ type: 'Entity', where: { key: 'topic:quiet' }, limit: 1 }).items).toHaveLength(1);
    const rust = db.listNodes({ type: 'Entity', where: { key: 'name:rust' }, limit: 1 }).items[0]!;
    expect(db.neighbors(rust.id, { direction: 'both', edgeTypes: ['RELATED_TO'] }).map((n) => [n.node.properties.key, n.edge.weight])).toEqual([['product:loomdb', 1]]);
    expect(weaver.stats()).toMatchObject({ processed: 3, deadLettered: 0 });
  });

  it('rejects invalid events with INVALID_ARGUMENT naming the field, storing nothing', async () => {
    const { db, weaver } = await start();
    const ok = messages(1)[0]!;
    const bad: Array<[unknown, string]> = [
      [{ ...ok, role: 'robot' }, 'events[1].role'],
      [{ ...ok, timestamp: Number.NaN }, 'events[1].timestamp'],
      [{ ...ok, timestamp: -1 }, 'events[1].timestamp'],
      [{ ...ok, conversationId: '' }, 'events[1].conversationId'],
      [{ ...ok, id: 'x'.repeat(300) }, 'events[1].id'],
      [{ ...ok, content: 42 }, 'events[1].content'],
      [{ ...ok, type: 'shout' }, 'events[1].type'],
      [{ id: 'f', type: 'forget' }, 'events[1].conversationId'],
      [{ id: 'f', type: 'forget', conversationId: 'a', messageId: 'b' }, 'events[1].conversationId'],
      [{ ...ok, extra: () => 1 }, 'events[1].metadata.extra'],
      [null, 'events[1]'],
    ];
    for (const [event, field] of bad) {
      const err = await weaver.submitEvents([ok, event as WeaverEvent]).catch((e: unknown) => e);
      expect(LoomError.is(err) && err.code, `${field}: ${String(err)}`).toBe('INVALID_ARGUMENT');
      expect((err as Error).message).toContain(field);
    }
    await expect(weaver.submitEvents('x' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(db.queue('weaver-inbox').stats()).toEqual({ pending: 0, done: 0, dead: 0 });
    expect(weaver.stats().submitted).toBe(0);
    expect(() => new WeaverController(db, { batchSize: 0 })).toThrow(/options.batchSize/);
    expect(() => new WeaverController(db, { onBackpressure: 'drop' as never })).toThrow(/options.onBackpressure/);
    expect(() => new WeaverController(db, { bogus: 1 } as never)).toThrow(/options.bogus/);
    expect(() => new WeaverController({} as never)).toThrow(LoomError);
    await expect(new WeaverController(db).submitEvent(ok)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('rejects unpaired surrogates at submit time with INVALID_ARGUMENT naming the field (they would become U+FFFD)', async () => {
    const { db, weaver } = await start();
    const ok = messages(1)[0]!;
    const bad: Array<[unknown, string]> = [
      [{ ...ok, id: 'm\ud800' }, 'events[1].id'],
      [{ ...ok, conversationId: 'c\udc00' }, 'events[1].conversationId'],
      [{ ...ok, content: 'half an emoji \ud83d' }, 'events[1].content'],
      [{ ...ok, metadata: { tags: ['ok', 'x\udfff'] } }, 'events[1].metadata.tags[1]'],
      [{ ...ok, metadata: { 'k\ud800': 1 } }, 'events[1].metadata'],
      [{ ...ok, extra: '\ud800' }, 'events[1].metadata.extra'],
    ];
    for (const [event, field] of bad) {
      const err = await weaver.submitEvents([ok, event as WeaverEvent]).catch((e: unknown) => e);
      expect(LoomError.is(err) && err.code, `${field}: ${String(err)}`).toBe('INVALID_ARGUMENT');
      expect((err as Error).message).toContain(field);
      expect((err as Error).message).toContain('unpaired UTF-16 surrogate');
    }
    expect(db.queue('weaver-inbox').stats()).toEqual({ pending: 0, done: 0, dead: 0 });
    await weaver.submitEvents([{ ...ok, content: 'a whole emoji 😀' }]);
    expect(weaver.stats().submitted).toBe(1);
  });

  it('writes a message without words (a zero vector, which a cosine space refuses) with no embedding, not dead-lettered', async () => {
    const { db, weaver } = await start();
    await ingest(weaver, [
      { id: 'm1', type: 'message', conversationId: 'chat', role: 'user', content: '👍 !!!', timestamp: 1000 },
      { id: 'm2', type: 'message', conversationId: 'chat', role: 'user', content: '', timestamp: 2000 },
      { id: 'm3', type: 'message', conversationId: 'chat', role: 'user', content: 'words here', timestamp: 3000 },
    ]);
    expect(weaver.stats()).toMatchObject({ processed: 3, deadLettered: 0 });
    const node = (eventId: string) => db.listNodes({ type: 'Message', where: { eventId }, limit: 1 }).items[0]!;
    expect(db.getEmbedding(node('m1').id)).toBeNull();
    expect(db.getEmbedding(node('m2').id)).toBeNull();
    expect(db.getEmbedding(node('m3').id)).not.toBeNull();
  });

  it('applies backpressure past maxPending: BACKPRESSURE, or waiting for room', async () => {
    const slow: Extractor = { extract: async () => new Promise((r) => setTimeout(() => r([]), 20)) };
    const { weaver } = await start({ maxPending: 10, batchSize: 5, extractor: slow });
    await weaver.submitEvents(messages(10));
    await expect(weaver.submitEvent(messages(11)[10]!)).rejects.toMatchObject({ code: 'BACKPRESSURE' });
    const waiting = await start({ maxPending: 10, batchSize: 5, extractor: slow, onBackpressure: 'wait' });
    await waiting.weaver.submitEvents(messages(10));
    const results = await waiting.weaver.submitEvents(messages(15).slice(10));
    expect(results.every((r) => r.stored)).toBe(true);
    await waiting.weaver.shutdown({ drain: true });
    expect(waiting.weaver.stats().processed).toBe(15);
  });

  it('stops without draining, leaving the rest in the inbox for the next initialize', async () => {
    const db = freshDb();
    const first = await start({ batchSize: 10 }, db);
    await first.weaver.submitEvents(messages(200, 2));
    await first.weaver.shutdown({ drain: false });
    const done = first.weaver.stats().processed;
    expect(done).toBeLessThan(200);
    expect(first.weaver.stats().pending).toBe(200 - done);
    await expect(first.weaver.submitEvent(messages(1)[0]!)).rejects.toMatchObject({ code: 'CLOSED' });
    const second = new WeaverController(db, { maxLatencyMs: 1 });
    weavers.push(second);
    await second.initialize();
    await second.shutdown({ drain: true });
    expect(second.stats().processed).toBe(200 - done);
    expect(chain(db, 'c0')).toHaveLength(100);
    expect(db.stats().spaces[0]!.embeddings).toBe(200);
  });

  it('stops when its AbortSignal aborts', async () => {
    const controller = new AbortController();
    const { weaver } = await start({ signal: controller.signal });
    await weaver.submitEvents(messages(5));
    controller.abort();
    await weaver.shutdown();
    await expect(weaver.submitEvent(messages(1)[0]!)).rejects.toMatchObject({ code: 'CLOSED' });
    expectLoomError(() => {
      throw new LoomError('CLOSED', 'x');
    }, 'CLOSED');
  });

  it('stops by itself when the database is closed under it', async () => {
    const db = freshDb();
    const weaver = new WeaverController(db, { pollMs: 5 });
    await weaver.initialize();
    const errors: string[] = [];
    weaver.on('error', (e) => errors.push(e.code));
    db.close();
    await new Promise((r) => setTimeout(r, 30));
    await weaver.shutdown({ drain: true });
    expect(errors).toContain('CLOSED');
    await expect(weaver.submitEvent(messages(1)[0]!)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('rejects a submission whose inbox commit finds the database closed', async () => {
    const db = freshDb();
    const weaver = new WeaverController(db, { pollMs: 5 });
    await weaver.initialize();
    weaver.on('error', () => {});
    const submitted = weaver.submitEvent(messages(1)[0]!);
    db.close(); // before the group commit runs
    await expect(submitted).rejects.toMatchObject({ code: 'CLOSED' });
    await weaver.shutdown();
  });

  it('keeps going when its listeners throw', async () => {
    const { db, weaver } = await start();
    weaver.on('batch', () => {
      throw new Error('listener bug');
    });
    weaver.on('error', () => {
      throw new Error('error listener bug');
    });
    await ingest(weaver, messages(10));
    expect(weaver.stats()).toMatchObject({ processed: 10, failed: 0 });
    expect(db.stats().spaces[0]!.embeddings).toBe(10);
  });

  it('runs on a backend without write batches, through transactions', async () => {
    const db = EmbeddedDB.open(undefined, { storage: withoutWriteBatches(new MemoryStorage()) });
    const { weaver } = await start({ batchSize: 8 }, db);
    await ingest(weaver, messages(30, 2));
    expect(chain(db, 'c0')).toHaveLength(15);
    expect(db.stats().spaces[0]!.embeddings).toBe(30);
    expect(weaver.stats()).toMatchObject({ processed: 30, deadLettered: 0 });
  });

  it('runs on the in-memory backend too', async () => {
    const db = EmbeddedDB.open(undefined, { storage: 'memory' });
    const { weaver } = await start({}, db);
    await ingest(weaver, messages(30, 2));
    expect(chain(db, 'c0')).toHaveLength(15);
    expect(db.stats().spaces[0]!.embeddings).toBe(30);
  });
});
