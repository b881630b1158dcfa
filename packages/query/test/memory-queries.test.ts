import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDB, hashingEmbed, LoomError } from '@loomdb/db';
import { MemoryQueries, query, type MemoryPage } from '@loomdb/query';
import { EdgeTypes, MEMORY_INDEXES, MESSAGE_SPACE, MESSAGE_SPACE_SPEC, MESSAGE_TEXT_INDEX, MESSAGE_TEXT_INDEX_SPEC, NodeTypes, normalizeEntityName } from '@loomdb/query/memory';
import { failure } from './failure.js';

const dir = mkdtempSync(join(tmpdir(), 'loomdb-memory-queries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 5, 1);
const minute = 60_000;

/** Three conversations as the weaver writes them: messages, NEXT chains, mentions, related entities, embeddings. */
const CONVERSATIONS = [
  {
    id: 'c-hike',
    title: 'Weekend hike',
    messages: [
      ['user', 'Should we hike around Lake Como on Saturday with Ada?', ['Ada', 'Lake Como']],
      ['assistant', 'Lake Como has a lovely lakeside trail; Ada might like the ferry too.', ['Ada', 'Lake Como']],
      ['user', 'Grace wants to join the hike as well.', ['Grace']],
      ['assistant', 'Then book the ferry for three people to Bellagio.', ['Bellagio']],
      ['user', 'Pack sandwiches and water for the trail.', []],
    ],
  },
  {
    id: 'c-rust',
    title: 'Rust project',
    messages: [
      ['user', 'Grace asked how LoomDB stores adjacency in LMDB.', ['Grace', 'LoomDB']],
      ['assistant', 'LoomDB keeps out and in adjacency tables keyed by node and edge type.', ['LoomDB']],
      ['user', 'Can the Rust engine run a whole query plan in one call?', ['Rust']],
      ['assistant', 'Yes, the Rust engine runs the plan inside one read transaction.', ['Rust']],
    ],
  },
  {
    id: 'c-food',
    title: 'Recipes',
    messages: [
      ['user', 'Ada shared a pasta recipe with lemon and basil.', ['Ada']],
      ['assistant', 'Lemon basil pasta is quick: boil, zest, toss with olive oil.', []],
      ['system', 'Summary: pasta recipe from Ada.', ['Ada']],
    ],
  },
] as const;

const KIND: Record<string, string> = { Ada: 'person', Grace: 'person', 'Lake Como': 'place', Bellagio: 'place', LoomDB: 'project', Rust: 'language' };

function seed(db: EmbeddedDB): Record<string, string> {
  for (const index of MEMORY_INDEXES) db.createIndex(index);
  const entityIds: Record<string, string> = {};
  for (const [name, kind] of Object.entries(KIND)) {
    entityIds[name] = db.insertNode({ id: `ent-${name.toLowerCase().replace(/ /g, '-')}`, type: NodeTypes.Entity, properties: { name, kind, key: `${kind}:${name.toLowerCase()}`, normalizedName: normalizeEntityName(name) } }).id;
  }
  const coMentions = new Map<string, number>();
  // Conversations interleave in time; insertion order is not time order.
  CONVERSATIONS.forEach((c, ci) => {
    db.insertNode({ id: c.id, type: NodeTypes.Conversation, properties: { title: c.title, source: 'test', startedAt: T0 + ci * minute } });
    let previous: string | undefined;
    [...c.messages.entries()].reverse().forEach(([i]) => {
      const [role, content] = c.messages[i]!;
      db.insertNode({
        id: `${c.id}-${i}`,
        type: NodeTypes.Message,
        properties: { conversationId: c.id, role, content, timestamp: T0 + (i * 3 + ci) * minute, eventId: `ev-${c.id}-${i}`, source: 'test' },
      });
    });
    c.messages.forEach(([, content, mentions], i) => {
      const id = `${c.id}-${i}`;
      db.insertEdge({ type: EdgeTypes.IN_CONVERSATION, from: id, to: c.id });
      if (previous) db.insertEdge({ type: EdgeTypes.NEXT, from: previous, to: id });
      previous = id;
      for (const name of mentions) db.insertEdge({ type: EdgeTypes.MENTIONS, from: id, to: entityIds[name]! });
      // One RELATED_TO edge per pair, from the smaller node id (the vocabulary's layout).
      for (const a of mentions) for (const b of mentions) if (entityIds[a]! < entityIds[b]!) coMentions.set(`${a}|${b}`, (coMentions.get(`${a}|${b}`) ?? 0) + 1);
      db.insertEmbedding(id, hashingEmbed(content));
    });
  });
  for (const [pair, weight] of coMentions) {
    const [a, b] = pair.split('|') as [string, string];
    db.insertEdge({ type: EdgeTypes.RELATED_TO, from: entityIds[a]!, to: entityIds[b]!, weight });
  }
  return entityIds;
}

const ids = (page: MemoryPage) => page.items.map((i) => i.node.id);


for (const storage of ['native', 'memory'] as const) {
  describe(`MemoryQueries on the ${storage} backend`, () => {
    let db: EmbeddedDB;
    let memory: MemoryQueries;
    let entity: Record<string, string>;
    beforeAll(() => {
      db = EmbeddedDB.open(join(dir, storage), { storage, spaces: { [MESSAGE_SPACE]: MESSAGE_SPACE_SPEC } });
      entity = seed(db);
      memory = new MemoryQueries(db, { embedder: 'hashing' });
    });
    afterAll(() => db.close());

    it('findSimilarMemories: a text the embedder finds nothing in is near nothing (an empty page, not an error)', async () => {
      expect(await memory.findSimilarMemories('?! …', { k: 5 })).toEqual({ items: [] });
      const { strategy, returned } = await query(db).type(NodeTypes.Message).similarTo('!!!', { k: 3 }).explain();
      expect({ strategy, returned }).toEqual({ strategy: 'none (text without features)', returned: 0 });
    });

    it('findSimilarMemories: nearest messages, narrowed by conversation, role, time and entity', async () => {
      const lake = await memory.findSimilarMemories('hiking at the lake', { k: 3 });
      expect(lake.items).toHaveLength(3);
      expect(ids(lake)[0]).toMatch(/^c-hike-/);
      // The message space's spec names its embedder, so text needs no embedder option.
      expect(ids(await new MemoryQueries(db).findSimilarMemories('hiking at the lake', { k: 3 }))).toEqual(ids(lake));
      expect(lake.items.map((i) => i.distance)).toEqual([...lake.items.map((i) => i.distance!)].sort((a, b) => a - b));
      const rust = await memory.findSimilarMemories('Rust engine query plan', { k: 2, conversationId: 'c-rust' });
      expect(ids(rust)).toEqual(['c-rust-2', 'c-rust-3']);
      const users = await memory.findSimilarMemories('Rust engine query plan', { k: 20, role: 'user' });
      expect(users.items).toHaveLength(6);
      expect(users.items.every((i) => i.node.properties.role === 'user')).toBe(true);
      const late = await memory.findSimilarMemories('ferry', { k: 20, since: T0 + 9 * minute, until: new Date(T0 + 12 * minute) });
      expect(ids(late).sort()).toEqual(['c-hike-3', 'c-hike-4', 'c-rust-3']);
      const ada = await memory.findSimilarMemories('pasta', { k: 10, entity: 'Ada' });
      expect(ids(ada).sort()).toEqual(['c-food-0', 'c-food-2', 'c-hike-0', 'c-hike-1']);
      expect(ids(ada)[0]).toMatch(/^c-food-/);
      expect(ids(await memory.findSimilarMemories('pasta', { k: 10, entity: entity.Ada! }))).toEqual(ids(ada));
      const vector = await memory.findSimilarMemories(hashingEmbed('zest and toss with olive oil'), { k: 1 });
      expect(ids(vector)).toEqual(['c-food-1']);
      expect((await memory.findSimilarMemories('anything', { entity: 'Nobody' })).items).toEqual([]);
    });

    it('getConversationContext: the message, its neighbours in time order, and what they mention', async () => {
      const ctx = await memory.getConversationContext('c-hike-2', { before: 1, after: 1 });
      const messages = ctx.items.filter((i) => i.node.type === NodeTypes.Message);
      const entities = ctx.items.filter((i) => i.node.type === NodeTypes.Entity);
      expect(messages.map((i) => i.node.id)).toEqual(['c-hike-1', 'c-hike-2', 'c-hike-3']);
      expect(entities.map((i) => i.node.properties.name)).toEqual(['Ada', 'Bellagio', 'Grace', 'Lake Como']);
      const edge = await memory.getConversationContext('c-rust-0', { before: 5, after: 0, includeEntities: false });
      expect(ids(edge)).toEqual(['c-rust-0']);
      const whole = await memory.getConversationContext('c-food-1', { before: 9, after: 9 });
      expect(ids(whole).slice(0, 3)).toEqual(['c-food-0', 'c-food-1', 'c-food-2']);
      // Absence is an empty page, as for an unknown entity or conversation.
      expect(await memory.getConversationContext('c-nope-1')).toEqual({ items: [] });
      expect(await memory.getConversationContext('c-hike')).toEqual({ items: [] });
    });

    it('searchByEntity: what is within hops of an entity, by name or id, newest first, paged', async () => {
      const grace = await memory.searchByEntity('Grace', { k: 10, types: [NodeTypes.Message] });
      expect(ids(grace).sort()).toEqual(['c-hike-2', 'c-rust-0']);
      const near = await memory.searchByEntity(entity.Grace!, { k: 50 });
      expect(ids(near).sort()).toEqual(['c-hike-2', 'c-rust-0', 'ent-loomdb'].sort());
      const created = near.items.map((i) => i.node.createdAt);
      expect(created).toEqual([...created].sort((a, b) => b - a));
      const two = await memory.searchByEntity('Ada', { k: 50, hops: 2, types: [NodeTypes.Conversation] });
      expect(ids(two).sort()).toEqual(['c-food', 'c-hike']);
      const first = await memory.searchByEntity('Ada', { k: 2 });
      expect(first.items).toHaveLength(2);
      const rest = await memory.searchByEntity('Ada', { k: 2, cursor: first.nextCursor! });
      const all = await memory.searchByEntity('Ada', { k: 50 });
      expect([...ids(first), ...ids(rest)]).toEqual(ids(all).slice(0, 4));
      expect((await memory.searchByEntity('Nobody')).items).toEqual([]);
      // Names match whatever their case and spacing, in both memory queries that take an entity.
      for (const spelling of ['grace', 'GRACE', ' Grace ']) expect(ids(await memory.searchByEntity(spelling, { k: 10, types: [NodeTypes.Message] })).sort()).toEqual(['c-hike-2', 'c-rust-0']);
      expect(ids(await memory.searchByEntity('lake   como', { k: 10, types: [NodeTypes.Message] })).sort()).toEqual(['c-hike-0', 'c-hike-1']);
      expect(ids(await memory.findSimilarMemories('ferry', { k: 10, entity: 'ada' })).sort()).toEqual(['c-food-0', 'c-food-2', 'c-hike-0', 'c-hike-1']);
    });

    it('getChatHistory: a conversation by timestamp, paged, either direction', async () => {
      const first = await memory.getChatHistory('c-hike', { limit: 2 });
      expect(ids(first)).toEqual(['c-hike-0', 'c-hike-1']);
      const second = await memory.getChatHistory('c-hike', { limit: 2, cursor: first.nextCursor! });
      expect(ids(second)).toEqual(['c-hike-2', 'c-hike-3']);
      const last = await memory.getChatHistory('c-hike', { limit: 2, cursor: second.nextCursor! });
      expect(ids(last)).toEqual(['c-hike-4']);
      expect(last.nextCursor).toBeUndefined();
      expect(ids(await memory.getChatHistory('c-rust', { order: 'desc' }))).toEqual(['c-rust-3', 'c-rust-2', 'c-rust-1', 'c-rust-0']);
      expect((await memory.getChatHistory('c-none')).items).toEqual([]);
    });

    it('rejects bad arguments with INVALID_ARGUMENT naming them', async () => {
      const cases: Array<[() => Promise<unknown>, string]> = [
        [() => memory.findSimilarMemories('x', { k: 0 }), 'options.k'],
        [() => memory.findSimilarMemories('x', { k: 1e9 }), 'options.k must be an integer from 1 to 100000, got 1000000000'],
        [() => memory.searchByEntity('Ada', { hops: 1e9 }), 'options.hops'],
        [() => memory.findSimilarMemories('x', { kk: 1 } as never), 'options.kk'],
        [() => memory.findSimilarMemories('x', { conversationId: 5 } as never), 'options.conversationId'],
        [() => memory.findSimilarMemories(null as never), 'findSimilarMemories'],
        [() => memory.getConversationContext('c-hike-1', { before: -1 }), 'options.before'],
        [() => memory.getConversationContext('c-hike-1', { includeEntities: 'yes' } as never), 'options.includeEntities'],
        [() => memory.getConversationContext(7 as never), 'messageId'],
        [() => memory.searchByEntity('', {}), 'nameOrId'],
        [() => memory.searchByEntity('Ada', { hops: 0 }), 'options.hops'],
        [() => memory.getChatHistory('c-hike', { order: 'up' } as never), 'options.order'],
        [() => memory.getChatHistory('c-hike', { limit: 1.5 }), 'options.limit'],
        [() => memory.getChatHistory('c-hike', { cursor: 'nope' }), 'plan.after'],
      ];
      for (const [fn, text] of cases) {
        const err = await failure(fn);
        expect(err.code, text).toBe('INVALID_ARGUMENT');
        expect(err.message).toContain(text);
      }
      expect(() => new MemoryQueries(db, { embedder: 'nope' })).toThrow(/no embedder named "nope"/);
      expect(() => new MemoryQueries({} as never)).toThrow(LoomError);
    });
  });
}

describe('hybrid findSimilarMemories (text index + vectors)', () => {
  let db: EmbeddedDB;
  let memory: MemoryQueries;
  beforeAll(() => {
    db = EmbeddedDB.open(join(dir, 'hybrid'), { spaces: { [MESSAGE_SPACE]: MESSAGE_SPACE_SPEC }, textIndexes: { [MESSAGE_TEXT_INDEX]: MESSAGE_TEXT_INDEX_SPEC } });
    seed(db);
    memory = new MemoryQueries(db);
  });
  afterAll(() => db.close());

  it('mixes the words and the vectors by default, scores 0 to 1 best first, under every filter', async () => {
    const ferry = await memory.findSimilarMemories('book the Bellagio ferry', { k: 3 });
    expect(ids(ferry)[0]).toBe('c-hike-3');
    const scores = ferry.items.map((i) => i.score!);
    expect(scores.every((s) => s > 0 && s <= 1)).toBe(true);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const textOnly = await memory.findSimilarMemories('ferry', { k: 5, mode: 'text' });
    expect(ids(textOnly).sort()).toEqual(['c-hike-1', 'c-hike-3']);
    const vectorOnly = await memory.findSimilarMemories('hiking at the lake', { k: 3, mode: 'vector' });
    expect(vectorOnly.items.every((i) => i.score === undefined && i.distance !== undefined)).toBe(true);
    const late = await memory.findSimilarMemories('ferry', { k: 20, since: T0 + 9 * minute, until: new Date(T0 + 12 * minute) });
    expect(ids(late).sort()).toEqual(['c-hike-3', 'c-hike-4', 'c-rust-3']);
    const ada = await memory.findSimilarMemories('pasta lemon', { k: 10, entity: 'Ada' });
    expect(ids(ada)[0]).toBe('c-food-0');
    expect(ids(ada).every((id) => ['c-food-0', 'c-food-2', 'c-hike-0', 'c-hike-1'].includes(id))).toBe(true);
    expect(ids(await memory.findSimilarMemories('pasta', { k: 2, conversationId: 'c-food', mode: 'text' }))).toEqual(['c-food-2', 'c-food-0']);
    // Weighting only the words ranks exactly as text search does.
    expect(ids(await memory.findSimilarMemories('Rust engine plan', { k: 2, textWeight: 1 }))).toEqual(db.searchText('Rust engine plan', { k: 2 }).map((h) => h.id));
    // The default weight is the engine's (0.7, shown by explain): the same fused scores as the plan without a weight.
    const plain = query(db).type(NodeTypes.Message).matches('ferry lake').similarTo('ferry lake', { k: 4 });
    expect((await plain.explain()).stages.find((s) => s.stage === 'fuse')?.detail).toBe('text weight 0.7');
    const byDefault = await memory.findSimilarMemories('ferry lake', { k: 4 });
    expect(byDefault.items.map((i) => [i.node.id, i.score])).toEqual((await plain.execute()).items.map((i) => [i.node.id, i.score]));
    expect(byDefault.items.map((i) => i.score)).not.toEqual((await memory.findSimilarMemories('ferry lake', { k: 4, textWeight: 0.6 })).items.map((i) => i.score));
  });

  it('query().matches() ranks by BM25 under filters, fuses with similarTo, and shows both in explain', async () => {
    const words = await query(db).type(NodeTypes.Message).where('role', 'eq', 'assistant').matches('ferry Bellagio').execute();
    expect(words.items.map((i) => i.node.id)).toEqual(['c-hike-3', 'c-hike-1']);
    expect(words.items[0]!.score!).toBeGreaterThan(words.items[1]!.score!);
    const both = query(db).type(NodeTypes.Message).matches('ferry', { textWeight: 0.5 }).similarTo('ferry to Bellagio', { k: 2 });
    const fused = await both.execute();
    expect(fused.items).toHaveLength(2);
    expect(fused.items[0]!.node.id).toBe('c-hike-3');
    const plan = await both.explain();
    expect(plan.stages.map((s) => s.stage)).toEqual(expect.arrayContaining(['text', 'fuse']));
    expect(query(db).matches('ferry').toPlan().matches).toEqual({ index: 'default', query: 'ferry' });
    expect(() => query(db).matches('   ')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const memoryDb = EmbeddedDB.open(undefined, { storage: 'memory' });
    await expect(query(memoryDb).matches('ferry').execute()).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    memoryDb.close();
  });

  it('refuses a bad mode or weight, and text mode without the index', async () => {
    await expect(memory.findSimilarMemories('x', { mode: 'fuzzy' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(memory.findSimilarMemories('x', { textWeight: 2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const plain = EmbeddedDB.open(undefined, { storage: 'memory', spaces: { [MESSAGE_SPACE]: MESSAGE_SPACE_SPEC } });
    await expect(new MemoryQueries(plain).findSimilarMemories('x', { mode: 'text' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    plain.close();
  });
});
