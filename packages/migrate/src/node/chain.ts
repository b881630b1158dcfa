/**
 * NEXT edges between the imported messages of each conversation, earlier →
 * later by `timestamp` (then id), as the weaver links live messages. Run
 * when a Message store is finished: the chain needs every message, and
 * export order is key order, not time order. Idempotent (deterministic
 * edge ids, existing edges kept), so a resumed import runs it again safely.
 */
import type { EdgeInput, EmbeddedDB } from '@loomdb/db';
import { EdgeTypes, NodeTypes } from '@loomdb/query/memory';
import { nodeIdPrefix } from './keys.js';
import { edgeIdFor } from './plan.js';

/** Edges written per commit. */
const CHUNK = 5000;

interface Link {
  id: string;
  timestamp: number;
}

const byTime = (a: Link, b: Link): number => a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Links the messages of `store` in each conversation; returns the edges written. */
export function chainConversations(db: EmbeddedDB, store: string): number {
  const prefix = nodeIdPrefix(store);
  const conversations = new Map<string, Link[]>();
  for (const node of db.iterateNodes({ type: NodeTypes.Message })) {
    const { conversationId, timestamp } = node.properties;
    if (!node.id.startsWith(prefix) || typeof conversationId !== 'string' || typeof timestamp !== 'number') continue;
    const links = conversations.get(conversationId) ?? [];
    links.push({ id: node.id, timestamp });
    conversations.set(conversationId, links);
  }
  let pending: EdgeInput[] = [];
  let written = 0;
  const flush = () => {
    if (pending.length > 0) db.writeBatch({ insertEdges: pending });
    written += pending.length;
    pending = [];
  };
  for (const links of conversations.values()) {
    links.sort(byTime);
    for (let i = 1; i < links.length; i++) {
      const from = links[i - 1]!.id, to = links[i]!.id;
      const id = edgeIdFor(EdgeTypes.NEXT, from, to);
      if (db.getEdge(id)) continue;
      pending.push({ id, type: EdgeTypes.NEXT, from, to });
      if (pending.length >= CHUNK) flush();
    }
  }
  flush();
  return written;
}
