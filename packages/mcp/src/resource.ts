import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
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
