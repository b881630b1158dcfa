import { randomUUID } from 'node:crypto';
import { LoomError, MAX_K } from '@loomdb/db';
import { fromPlan, parsePlan } from '@loomdb/query';
import { ROLES } from '@loomdb/query/memory';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { MemoryContext } from '../context.js';
import { findMessage, forget } from '../forget.js';
import { EntityView, MessageView, NodeView, messageView, nodeView, split } from '../memory-views.js';
import { jsonResult, tool } from '../tool-result.js';

const read = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

/** A time as a model writes it: ISO 8601 text or ms since epoch. */
const Time = z
  .union([z.number(), z.string()])
  .transform((t, ctx) => {
    const ms = typeof t === 'number' ? t : Date.parse(t);
    if (!Number.isFinite(ms)) ctx.addIssue({ code: 'custom', message: `not a time: ${String(t)} (give ISO 8601 or ms since epoch)` });
    return ms;
  });

const MAX_REMEMBER = 1_000;

const RememberMessage = z.object({
  content: z.string().min(1).describe('The message text'),
  role: z.enum(ROLES as [string, ...string[]]).describe('Who wrote it'),
  conversationId: z.string().min(1).optional().describe('Conversation it belongs to; default the call’s conversationId'),
  id: z.string().min(1).optional().describe('A stable id; a repeated id is stored once. Default: generated'),
  timestamp: Time.optional().describe('When it was written; default now'),
});

export function registerMemoryTools(server: McpServer, context: MemoryContext): void {
  const { db, memory, weaver } = context;

  server.registerTool(
    'remember',
    {
      title: 'Remember messages',
      description:
        'Store chat messages in long-term memory. Returns once they are durably saved; entities are extracted and embeddings built in the background (recall finds them a moment later). Use for things said in a conversation; use create_entities/add_observations for facts about a named thing.',
      inputSchema: {
        conversationId: z.string().min(1).describe('The conversation these messages belong to (any stable id, e.g. a session id)'),
        messages: z.array(RememberMessage).min(1).max(MAX_REMEMBER),
        source: z.string().min(1).optional().describe("Where they came from, e.g. 'claude-desktop'; default 'mcp'"),
        title: z.string().optional().describe('A title for the conversation, if it has none yet'),
      },
      outputSchema: {
        conversationId: z.string(),
        remembered: z.array(z.object({ id: z.string(), stored: z.boolean().describe('false: this id was remembered before (kept once)') })),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    tool(async ({ conversationId, messages, source, title }) => {
      const now = Date.now();
      const events = messages.map((m, i) => ({
        id: m.id ?? randomUUID(),
        type: 'message' as const,
        conversationId: m.conversationId ?? conversationId,
        role: m.role as (typeof ROLES)[number],
        content: m.content,
        // Messages given without times keep their order within the call.
        timestamp: m.timestamp ?? now + i,
        source: source ?? 'mcp',
        ...(title === undefined ? {} : { title }),
      }));
      const results = await weaver.submitEvents(events);
      return jsonResult({ conversationId, remembered: results.map((r) => ({ id: r.id, stored: r.stored })) });
    }),
  );

  server.registerTool(
    'recall',
    {
      title: 'Recall memories',
      description:
        'Find remembered chat messages relevant to a question, by meaning and by words (hybrid search), best first. Narrow by conversation, role, time span or a mentioned entity. Then get_conversation_context on a hit shows what was said around it.',
      inputSchema: {
        query: z.string().min(1).describe('What to look for, in natural language'),
        k: z.number().int().min(1).max(MAX_K).optional().describe('How many messages; default 10'),
        conversationId: z.string().min(1).optional().describe('Only this conversation'),
        role: z.enum(ROLES as [string, ...string[]]).optional(),
        since: Time.optional().describe('Only messages at or after this time (ISO 8601 or ms)'),
        until: Time.optional().describe('Only messages at or before this time'),
        entity: z.string().min(1).optional().describe('Only messages mentioning this entity (name or id)'),
        mode: z.enum(['hybrid', 'text', 'vector']).optional().describe("'hybrid' (default), 'text' (words only) or 'vector' (meaning only)"),
      },
      outputSchema: { memories: z.array(MessageView) },
      annotations: read,
    },
    tool(async ({ query, ...filters }) => {
      const options = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined));
      const { items } = await memory.findSimilarMemories(query, options);
      return jsonResult({ memories: items.map((it) => messageView(it.node, it)) });
    }),
  );

  server.registerTool(
    'get_conversation_context',
    {
      title: 'Conversation context',
      description: 'The messages just before and after one message (by its id from recall, or the id given to remember), in time order, and the entities they mention.',
      inputSchema: {
        messageId: z.string().min(1),
        before: z.number().int().min(0).max(1_000).optional().describe('Earlier messages; default 5'),
        after: z.number().int().min(0).max(1_000).optional().describe('Later messages; default 5'),
      },
      outputSchema: { messages: z.array(MessageView), entities: z.array(EntityView) },
      annotations: read,
    },
    tool(async ({ messageId, before, after }) => {
      const message = await findMessage(db, messageId);
      if (!message) throw new LoomError('NOT_FOUND', `no remembered message with id ${JSON.stringify(messageId)}`);
      const { items } = await memory.getConversationContext(message.id, { ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) });
      return jsonResult(split(items));
    }),
  );

  server.registerTool(
    'search_by_entity',
    {
      title: 'Search by entity',
      description:
        'Everything linked to an entity found in remembered messages (a person, place, @handle, #tag, URL…): the messages mentioning it and related entities, newest first, a page at a time.',
      inputSchema: {
        entity: z.string().min(1).describe('Entity name (any case) or id'),
        hops: z.number().int().min(1).max(4).optional().describe('How far along the graph; default 1'),
        types: z.array(z.enum(['Message', 'Entity', 'Conversation'])).optional().describe('Only these node types'),
        k: z.number().int().min(1).max(1_000).optional().describe('Page size; default 10'),
        cursor: z.string().optional().describe('nextCursor of the previous page'),
      },
      outputSchema: { nodes: z.array(NodeView), nextCursor: z.string().optional() },
      annotations: read,
    },
    tool(async ({ entity, ...rest }) => {
      const options = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
      const { items, nextCursor } = await memory.searchByEntity(entity, options);
      return jsonResult({ nodes: items.map((it) => nodeView(it.node)), ...(nextCursor ? { nextCursor } : {}) });
    }),
  );

  server.registerTool(
    'get_chat_history',
    {
      title: 'Chat history',
      description: 'A conversation’s messages in time order, a page at a time: pass nextCursor back as cursor for the next page.',
      inputSchema: {
        conversationId: z.string().min(1),
        limit: z.number().int().min(1).max(1_000).optional().describe('Messages per page; default 50'),
        cursor: z.string().optional(),
        order: z.enum(['asc', 'desc']).optional().describe("'asc' oldest first (default) or 'desc'"),
      },
      outputSchema: { messages: z.array(MessageView), nextCursor: z.string().optional() },
      annotations: read,
    },
    tool(async ({ conversationId, ...rest }) => {
      const options = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
      const { items, nextCursor } = await memory.getChatHistory(conversationId, options);
      return jsonResult({ messages: items.map((it) => messageView(it.node, it)), ...(nextCursor ? { nextCursor } : {}) });
    }),
  );

  server.registerTool(
    'forget',
    {
      title: 'Forget',
      description:
        'Permanently remove a whole conversation or one message from chat memory, with embeddings and the entities nothing else mentions. Reports what was removed. Only when the user asks to forget.',
      inputSchema: {
        conversationId: z.string().min(1).optional().describe('Forget this conversation…'),
        messageId: z.string().min(1).optional().describe('…or this one message (id from recall, or the id given to remember)'),
      },
      outputSchema: {
        applied: z.boolean().describe('false: still queued (it will be applied; the counts are then incomplete)'),
        messages: z.array(z.string()).describe('ids of removed messages'),
        entities: z.array(z.string()).describe('ids of entities removed with them'),
        conversation: z.boolean().describe('whether the conversation node was removed'),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    tool(async (target) => jsonResult({ ...(await forget(context, target)) })),
  );

  server.registerTool(
    'query',
    {
      title: 'Query (LoomDB plan)',
      description:
        'Run a read-only LoomDB query plan (JSON, version 1): node types, property conditions, graph hops, similarity, order and limit in one. For advanced questions the other tools cannot express; explain: true shows the chosen strategy instead of results. Without a limit, 100 results.',
      inputSchema: {
        plan: z.record(z.string(), z.unknown()).describe('A @loomdb/query plan, e.g. {"version":1,"types":["Message"],"where":[{"property":"role","op":"eq","value":"user"}],"limit":5}'),
        explain: z.boolean().optional(),
      },
      outputSchema: {
        items: z.array(z.object({ node: NodeView, distance: z.number().optional(), score: z.number().optional(), hops: z.number().optional() })).optional(),
        nextCursor: z.string().optional(),
        stats: z.record(z.string(), z.unknown()).optional(),
        explanation: z.record(z.string(), z.unknown()).optional(),
      },
      annotations: read,
    },
    tool(async ({ plan, explain }) => {
      const parsed = parsePlan({ limit: DEFAULT_QUERY_LIMIT, ...plan });
      const q = fromPlan(db, parsed);
      if (explain) return jsonResult({ explanation: { ...(await q.explain()) } });
      const { items, nextCursor, stats } = await q.execute();
      return jsonResult({
        items: items.map((it) => ({ ...it, node: nodeView(it.node) })),
        ...(nextCursor ? { nextCursor } : {}),
        stats: { ...stats },
      });
    }),
  );

  server.registerTool(
    'stats',
    {
      title: 'Memory statistics',
      description: 'How much is in memory: knowledge-graph entities, relations and observations, nodes and edges, embeddings, and the background weaver’s queue.',
      inputSchema: {},
      outputSchema: {
        path: z.string(),
        knowledgeGraph: z.object({ entities: z.number(), relations: z.number(), observations: z.number() }),
        nodes: z.number(),
        edges: z.number(),
        embeddings: z.record(z.string(), z.number()),
        weaver: z.object({ pending: z.number(), processed: z.number(), deadLettered: z.number() }),
      },
      annotations: read,
    },
    tool(async () => {
      const stats = await db.stats();
      const w = weaver.stats();
      return jsonResult({
        path: context.path,
        knowledgeGraph: await context.graph.counts(),
        nodes: stats.nodes,
        edges: stats.edges,
        embeddings: Object.fromEntries(stats.spaces.map((s) => [s.name, s.embeddings])),
        weaver: { pending: w.pending, processed: w.processed, deadLettered: w.deadLettered },
      });
    }),
  );
}

/** The query tool's page size when the plan sets none: a plan without a limit returns every match, too much for a model's context. */
const DEFAULT_QUERY_LIMIT = 100;
