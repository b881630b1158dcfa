import type { Node } from '@loomdb/db';
import type { QueryItem } from '@loomdb/query';
import { NodeTypes } from '@loomdb/query/memory';
import { z } from 'zod';

/** What a tool shows of a Message node: its text and where it sits, without storage internals. */
export const MessageView = z.object({
  id: z.string().describe('Message node id (use with get_conversation_context)'),
  eventId: z.string().describe('The id given to remember'),
  conversationId: z.string(),
  role: z.string(),
  content: z.string(),
  timestamp: z.number().describe('ms since epoch'),
  time: z.string().describe('timestamp as ISO 8601'),
  score: z.number().optional().describe('relevance 0..1, higher is better (recall)'),
  distance: z.number().optional().describe('vector distance, lower is nearer (recall)'),
});
export type MessageView = z.infer<typeof MessageView>;

export const EntityView = z.object({ id: z.string(), name: z.string(), kind: z.string() });

export const NodeView = z.object({
  id: z.string(),
  type: z.string(),
  properties: z.record(z.string(), z.unknown()),
  createdAt: z.number(),
});

export function messageView(node: Node, item?: Pick<QueryItem, 'score' | 'distance'>): MessageView {
  const p = node.properties;
  const timestamp = Number(p.timestamp);
  return {
    id: node.id,
    eventId: String(p.eventId),
    conversationId: String(p.conversationId),
    role: String(p.role),
    content: String(p.content),
    timestamp,
    time: new Date(timestamp).toISOString(),
    ...(item?.score === undefined ? {} : { score: item.score }),
    ...(item?.distance === undefined ? {} : { distance: item.distance }),
  };
}

export const entityView = (node: Node) => ({ id: node.id, name: String(node.properties.name), kind: String(node.properties.kind) });

export const nodeView = (node: Node) => ({ id: node.id, type: node.type, properties: node.properties as Record<string, unknown>, createdAt: node.createdAt });

/** Splits a memory page into its messages and its entities (getConversationContext returns both in one list). */
export function split(items: QueryItem[]): { messages: MessageView[]; entities: Array<z.infer<typeof EntityView>> } {
  return {
    messages: items.filter((it) => it.node.type === NodeTypes.Message).map((it) => messageView(it.node, it)),
    entities: items.filter((it) => it.node.type === NodeTypes.Entity).map((it) => entityView(it.node)),
  };
}
