import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, httpClient, httpServer, loomdb, tempDir, text } from './helpers';

const ALL_TOOLS = [
  'add_observations', 'create_entities', 'create_relations', 'delete_entities', 'delete_observations', 'delete_relations', 'open_nodes', 'read_graph', 'search_nodes',
  'forget', 'get_chat_history', 'get_conversation_context', 'query', 'recall', 'remember', 'search_by_entity', 'stats',
].sort();

const t0 = Date.UTC(2026, 0, 1);
const trip = [
  { id: 'trip-1', role: 'user', content: 'We should plan a hiking trip to Madeira with @grace in May', timestamp: t0 },
  { id: 'trip-2', role: 'assistant', content: 'Madeira has great levada walks; the Pico Ruivo trail is the classic one', timestamp: t0 + 1_000 },
  { id: 'trip-3', role: 'user', content: 'Book the flights from Lisbon then', timestamp: t0 + 2_000 },
];
const cooking = [
  { id: 'cook-1', role: 'user', content: 'How long do I bake sourdough bread?', timestamp: t0 + 10_000 },
  { id: 'cook-2', role: 'assistant', content: 'About 45 minutes at 230 degrees, lid on for the first 20', timestamp: t0 + 11_000 },
];

/** Every tool over one transport, on a database of its own. */
function suite(transport: 'stdio' | 'http') {
  describe(`memory tools over ${transport}`, () => {
    const dir = tempDir(`memory-${transport}`);
    let client: Client;
    let stop: () => Promise<void>;

    beforeAll(async () => {
      const dbPath = join(dir.path, 'db');
      if (transport === 'stdio') {
        const s = await loomdb(dbPath);
        client = s.client;
        stop = () => s.close();
      } else {
        const server = await httpServer(dbPath);
        client = await httpClient(server.url);
        stop = async () => {
          await client.close();
          await server.stop();
        };
      }
    });
    afterAll(async () => {
      await stop?.();
      dir.remove();
    });

    it('lists every tool, each with an output schema', async () => {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS);
      for (const t of tools) expect(t.outputSchema, t.name).toBeDefined();
    });

    it('remembers messages, acknowledged once stored, and recalls them by meaning and words', async () => {
      const r = await call(client, 'remember', { conversationId: 'trip', title: 'Madeira', messages: trip });
      expect(r.structuredContent).toEqual({ conversationId: 'trip', remembered: trip.map((m) => ({ id: m.id, stored: true })) });
      await call(client, 'remember', { conversationId: 'cooking', messages: cooking });
      const again = await call(client, 'remember', { conversationId: 'trip', messages: [trip[0]] });
      expect(again.structuredContent.remembered).toEqual([{ id: 'trip-1', stored: false }]);

      // Acknowledged means stored in the inbox; the weaver writes the messages a moment later.
      const woven = async (conversationId: string) => (await call(client, 'get_chat_history', { conversationId })).structuredContent.messages.length;
      await eventually(async () => (await woven('trip')) === 3 && (await woven('cooking')) === 2);
      const hits = (await call(client, 'recall', { query: 'sourdough baking time', k: 2 })).structuredContent.memories;
      expect(hits).toHaveLength(2);
      expect(hits[0]).toMatchObject({ conversationId: 'cooking', content: cooking[0]!.content, eventId: 'cook-1', time: new Date(cooking[0]!.timestamp).toISOString() });
      expect(JSON.parse(text(await call(client, 'recall', { query: 'sourdough', k: 1 })))).toEqual({ memories: [expect.objectContaining({ eventId: 'cook-1' })] });
    });

    it('recall filters by conversation, role and time', async () => {
      const inTrip = (await call(client, 'recall', { query: 'bake bread', conversationId: 'trip', k: 10 })).structuredContent.memories;
      expect(inTrip.length).toBeGreaterThan(0);
      expect(inTrip.every((m: { conversationId: string }) => m.conversationId === 'trip')).toBe(true);
      const users = (await call(client, 'recall', { query: 'trip', role: 'user', k: 10 })).structuredContent.memories;
      expect(users.map((m: { role: string }) => m.role)).not.toContain('assistant');
      const late = (await call(client, 'recall', { query: 'trip flights bread', since: new Date(t0 + 5_000).toISOString(), k: 10 })).structuredContent.memories;
      expect(late.map((m: { eventId: string }) => m.eventId).sort()).toEqual(['cook-1', 'cook-2']);
      const early = (await call(client, 'recall', { query: 'trip flights bread', until: t0 + 1_000, k: 10 })).structuredContent.memories;
      expect(early.map((m: { eventId: string }) => m.eventId).sort()).toEqual(['trip-1', 'trip-2']);
    });

    it('pages chat history with a cursor, in time order', async () => {
      const first = (await call(client, 'get_chat_history', { conversationId: 'trip', limit: 2 })).structuredContent;
      expect(first.messages.map((m: { eventId: string }) => m.eventId)).toEqual(['trip-1', 'trip-2']);
      const second = (await call(client, 'get_chat_history', { conversationId: 'trip', limit: 2, cursor: first.nextCursor })).structuredContent;
      expect(second.messages.map((m: { eventId: string }) => m.eventId)).toEqual(['trip-3']);
      expect(second.nextCursor).toBeUndefined();
      const desc = (await call(client, 'get_chat_history', { conversationId: 'trip', order: 'desc', limit: 1 })).structuredContent;
      expect(desc.messages[0].eventId).toBe('trip-3');
    });

    it('reads a conversation as the resource loomdb://conversation/{id}', async () => {
      const { resourceTemplates } = await client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('loomdb://conversation/{id}');
      const read = await client.readResource({ uri: 'loomdb://conversation/trip' });
      const body = JSON.parse(String((read.contents[0] as { text: string }).text));
      expect(body.conversationId).toBe('trip');
      expect(body.messages.map((m: { eventId: string }) => m.eventId)).toEqual(['trip-1', 'trip-2', 'trip-3']);
      await expect(client.readResource({ uri: 'loomdb://conversation/nope' })).rejects.toThrow(/NOT_FOUND|no messages/);
    });

    it('gives the context around a message, by its remember id, with the entities mentioned', async () => {
      const { structuredContent } = await call(client, 'get_conversation_context', { messageId: 'trip-2', before: 1, after: 0 });
      expect(structuredContent.messages.map((m: { eventId: string }) => m.eventId)).toEqual(['trip-1', 'trip-2']);
      expect(structuredContent.entities.map((e: { name: string }) => e.name)).toContain('@grace');
      const missing = await call(client, 'get_conversation_context', { messageId: 'nope' });
      expect(missing.isError).toBe(true);
      expect(text(missing)).toMatch(/^NOT_FOUND: /);
    });

    it('searches by entity: the messages mentioning it', async () => {
      const { structuredContent } = await call(client, 'search_by_entity', { entity: '@GRACE', types: ['Message'] });
      expect(structuredContent.nodes.map((n: { properties: { eventId: string } }) => n.properties.eventId)).toEqual(['trip-1']);
    });

    it('runs a read-only query plan, and explains it', async () => {
      const plan = { version: 1, types: ['Message'], where: [{ property: 'role', op: 'eq', value: 'assistant' }], orderBy: { key: 'property', property: 'timestamp', direction: 'asc' } };
      const { structuredContent } = await call(client, 'query', { plan });
      expect(structuredContent.items.map((it: { node: { properties: { eventId: string } } }) => it.node.properties.eventId)).toEqual(['trip-2', 'cook-2']);
      const explained = (await call(client, 'query', { plan, explain: true })).structuredContent;
      expect(explained.explanation).toMatchObject({ plan: expect.objectContaining({ types: ['Message'] }), returned: 2 });
      const bad = await call(client, 'query', { plan: { version: 99 } });
      expect(bad.isError).toBe(true);
      expect(text(bad)).toMatch(/^INVALID_ARGUMENT: plan.version/);
    });

    it('reports stats of both memories', async () => {
      await call(client, 'create_entities', { entities: [{ name: 'Madeira', entityType: 'island', observations: ['in the Atlantic'] }] });
      const { structuredContent } = await call(client, 'stats');
      expect(structuredContent.knowledgeGraph).toEqual({ entities: 1, relations: 0, observations: 1 });
      expect(structuredContent.embeddings.default).toBe(5);
      expect(structuredContent.weaver.deadLettered).toBe(0);
    });

    it('forgets one message and then a conversation, reporting what went', async () => {
      const one = (await call(client, 'forget', { messageId: 'trip-3' })).structuredContent;
      expect(one).toMatchObject({ applied: true, conversation: false });
      expect(one.messages).toHaveLength(1);
      expect((await call(client, 'get_chat_history', { conversationId: 'trip' })).structuredContent.messages.map((m: { eventId: string }) => m.eventId)).toEqual(['trip-1', 'trip-2']);
      const all = (await call(client, 'forget', { conversationId: 'trip' })).structuredContent;
      expect(all).toMatchObject({ applied: true, conversation: true });
      expect(all.messages).toHaveLength(2);
      expect(all.entities.length).toBeGreaterThan(0);
      expect((await call(client, 'get_chat_history', { conversationId: 'trip' })).structuredContent.messages).toEqual([]);
      const both = await call(client, 'forget', { conversationId: 'a', messageId: 'b' });
      expect(text(both)).toMatch(/^INVALID_ARGUMENT: /);
    });

    it('answers bad arguments with INVALID_ARGUMENT tool errors and keeps serving', async () => {
      for (const [name, args] of [
        ['remember', { conversationId: 'c', messages: [] }],
        ['remember', { conversationId: 'c', messages: [{ role: 'robot', content: 'x' }] }],
        ['recall', { query: 'x', k: 0 }],
        ['recall', { query: 'x', since: 'not a time' }],
        ['get_chat_history', { conversationId: 'c', limit: 1.5 }],
        ['get_chat_history', { conversationId: 'c', cursor: 'garbage' }],
      ] as const) {
        const r = await call(client, name, args as Record<string, unknown>);
        expect(r.isError, `${name} ${JSON.stringify(args)}`).toBe(true);
        expect(text(r)).toMatch(/^INVALID_ARGUMENT: /);
      }
      expect((await call(client, 'stats')).isError).toBeFalsy();
    });
  });
}

suite('stdio');
suite('http');
