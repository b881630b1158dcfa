import { afterAll, describe, expect, it } from 'vitest';
import { MemoryQueries } from '@loomdb/query';
import { WeaverController, type WeaverEvent } from '@loomdb/weaver';
import { freshDb, removeTemps } from './helpers.js';

afterAll(removeTemps);

const T0 = Date.UTC(2026, 5, 1);
const said = (id: string, conversationId: string, minute: number, role: 'user' | 'assistant', content: string): WeaverEvent => ({
  id,
  type: 'message',
  conversationId,
  role,
  content,
  timestamp: T0 + minute * 60_000,
});

describe('MemoryQueries on a weaver-built memory', () => {
  it('returns chat history, context, entity mentions and similar memories', async () => {
    const db = freshDb();
    const weaver = new WeaverController(db, { maxLatencyMs: 1, batchSize: 3 });
    await weaver.initialize();
    // Delivered out of order, with a repeat: the weaver orders by timestamp and applies each event once.
    const events: WeaverEvent[] = [
      said('h3', 'hike', 3, 'user', 'Grace Hopper wants to join the hike as well.'),
      said('h1', 'hike', 1, 'user', 'Should we hike around Lake Como on Saturday with Ada Lovelace?'),
      said('r1', 'rust', 10, 'user', 'How does LoomDB store adjacency in LMDB?'),
      said('h2', 'hike', 2, 'assistant', 'Lake Como has a lovely lakeside trail; Ada Lovelace might like the ferry.'),
      said('h4', 'hike', 4, 'assistant', 'Then book the ferry for three to Bellagio.'),
      said('r2', 'rust', 11, 'assistant', 'LoomDB keeps adjacency tables keyed by node and edge type.'),
      { id: 'title', type: 'conversation', conversationId: 'hike', title: 'Weekend hike' },
    ];
    await weaver.submitEvents(events);
    await weaver.submitEvents(events.slice(0, 2));
    await weaver.shutdown({ drain: true });
    const memory = new MemoryQueries(db);
    const eventIds = (page: { items: Array<{ node: { properties: Record<string, unknown> } }> }) => page.items.map((i) => i.node.properties.eventId);

    expect(eventIds(await memory.getChatHistory('hike'))).toEqual(['h1', 'h2', 'h3', 'h4']);
    expect(db.getNode('hike')?.properties.title).toBe('Weekend hike');

    const h3 = db.listNodes({ type: 'Message', where: { eventId: 'h3' }, limit: 1 }).items[0]!;
    const context = await memory.getConversationContext(h3.id, { before: 1, after: 1 });
    expect(context.items.filter((i) => i.node.type === 'Message').map((i) => i.node.properties.eventId)).toEqual(['h2', 'h3', 'h4']);
    expect(context.items.filter((i) => i.node.type === 'Entity').map((i) => i.node.properties.name)).toEqual(
      expect.arrayContaining(['Ada Lovelace', 'Grace Hopper', 'Bellagio', 'Lake Como']),
    );

    const ada = await memory.searchByEntity('Ada Lovelace', { types: ['Message'] });
    expect(eventIds(ada).sort()).toEqual(['h1', 'h2']);
    expect(eventIds(await memory.searchByEntity('ada lovelace', { types: ['Message'] })).sort()).toEqual(['h1', 'h2']);
    // No entity has the name: the entity name index finds the ones it is part of.
    expect(eventIds(await memory.searchByEntity('Lovelace', { types: ['Message'] })).sort()).toEqual(['h1', 'h2']);
    expect(eventIds(await memory.searchByEntity('grace', { types: ['Message'] }))).toEqual(['h3']);
    expect((await memory.searchByEntity('Turing')).items).toEqual([]);

    const similar = await memory.findSimilarMemories('which database stores adjacency tables?', { k: 2 });
    expect(eventIds(similar).sort()).toEqual(['r1', 'r2']);
    db.close();
  });

  it('initialize gives entities written without a normalizedName one, so lookups by name in any case find them', async () => {
    const db = freshDb();
    db.insertNode({ id: 'anna', type: 'Entity', properties: { name: 'Anna  Karenina', kind: 'person', key: 'person:anna karenina' } });
    db.insertNode({ id: 'm', type: 'Message', properties: { conversationId: 'c', role: 'user', content: 'hi', timestamp: T0 } });
    db.insertEdge({ type: 'MENTIONS', from: 'm', to: 'anna' });
    const memory = new MemoryQueries(db);
    expect((await memory.searchByEntity('anna karenina')).items).toEqual([]);
    const weaver = new WeaverController(db);
    await weaver.initialize();
    await weaver.shutdown();
    expect(db.getNode('anna')?.properties.normalizedName).toBe('anna karenina');
    expect((await memory.searchByEntity('ANNA KARENINA')).items.map((i) => i.node.id)).toEqual(['m']);
    db.close();
  });
});
