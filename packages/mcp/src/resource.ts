import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { LoomError } from '@loomdb/db';
import type { MemoryQueries } from '@loomdb/query';
import { messageView } from './memory-views.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { KnowledgeGraphStore } from './knowledge-graph.js';

export const KNOWLEDGE_GRAPH_URI = 'memory://knowledge-graph';

/**
 * The reference server's `memory://knowledge-graph` resource with its
 * subscriptions. Returns the function the write tools call after a change
 * (a notification goes only to a client that subscribed).
 */
export function registerKnowledgeGraphResource(server: McpServer, graph: KnowledgeGraphStore): () => void {
  server.registerResource(
    'knowledge-graph',
    KNOWLEDGE_GRAPH_URI,
    { title: 'Knowledge Graph', description: 'The full knowledge graph with all entities and relations', mimeType: 'application/json' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(await graph.readGraph(), null, 2) }] }),
  );
  const subscribed = new Set<string>();
  server.server.registerCapabilities({ resources: { subscribe: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    subscribed.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });
  return () => {
    if (subscribed.has(KNOWLEDGE_GRAPH_URI)) void server.server.sendResourceUpdated({ uri: KNOWLEDGE_GRAPH_URI }).catch(() => {});
  };
}

/** Most messages one read of a conversation resource returns (its `nextCursor` says where to go on with get_chat_history). */
const CONVERSATION_PAGE = 1000;

/**
 * `loomdb://conversation/{id}`: a conversation's messages in time order as
 * JSON (`{ conversationId, messages, nextCursor? }`), for clients that attach
 * resources rather than call tools.
 */
export function registerConversationResource(server: McpServer, memory: MemoryQueries): void {
  server.registerResource(
    'conversation',
    new ResourceTemplate('loomdb://conversation/{id}', { list: undefined }),
    { title: 'Conversation', description: 'A remembered conversation: its messages in time order (the first 1000; get_chat_history pages on)', mimeType: 'application/json' },
    async (uri, { id }) => {
      const conversationId = decodeURIComponent(String(id));
      const { items, nextCursor } = await memory.getChatHistory(conversationId, { limit: CONVERSATION_PAGE });
      if (items.length === 0) throw new LoomError('NOT_FOUND', `no messages of conversation "${conversationId}" are remembered`);
      const body = { conversationId, messages: items.map((it) => messageView(it.node)), ...(nextCursor ? { nextCursor } : {}) };
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(body, null, 2) }] };
    },
  );
}
