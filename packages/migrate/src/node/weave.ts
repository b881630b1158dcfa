/**
 * Message records through the weaver, so imported memory is built the same
 * way as live events: entities extracted, text embedded in the message
 * space, NEXT in timestamp order.
 *
 * A record's planned `Message` node becomes a message event whose id is the
 * node id a direct import would use (it becomes the node's `eventId`); its
 * MENTIONS edges to imported entities become entity events (merged with the
 * imported Entity node by its `key`); its edge to its conversation is the
 * weaver's own IN_CONVERSATION. The rest (other edges, vectors) the importer
 * writes once the weaver has written the message, on the node it made.
 *
 * Re-submitting is harmless: the weaver's inbox applies an event id once,
 * ever, so a resumed import submits the cut-short batch again.
 */
import { createHash } from 'node:crypto';
import type { EmbeddedDB, NodeInput } from '@loomdb/db';
import { EdgeTypes, NodeTypes } from '@loomdb/query/memory';
import { parseEvent, type WeaverController, type WeaverEvent } from '@loomdb/weaver';
import type { RecordWrites } from './plan.js';

export interface WeaverRecord {
  /** The message event, then its entity events. */
  events: WeaverEvent[];
  /** Writes the weaver does not make, still naming the record's direct-import id. */
  rest: RecordWrites;
}

/** A deterministic event id within the weaver's 256-byte limit. */
const derivedEventId = (kind: string, ...parts: string[]): string =>
  `idb-${kind}:${createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 40)}`;

/**
 * The weaver's events for one planned Message record, or why the weaver
 * would refuse it (the record is then skipped and reported).
 */
export function weaverRecord(db: EmbeddedDB, store: string, writes: RecordWrites): WeaverRecord | string {
  const [message, ...others] = writes.nodes as [NodeInput, ...NodeInput[]];
  const id = message.id!;
  const { eventId: _eventId, ...fields } = message.properties ?? {};
  let event: WeaverEvent;
  try {
    event = parseEvent({ ...fields, id, type: 'message' }, `store "${store}" record`);
  } catch (error) {
    return `the weaver refuses it: ${(error as Error).message}`;
  }
  const events = [event];
  const rest: RecordWrites = { nodes: others, edges: [], embeddings: writes.embeddings, notes: writes.notes };
  for (const edge of writes.edges) {
    if (edge.from === id && edge.type === EdgeTypes.IN_CONVERSATION && edge.to === fields.conversationId) continue;
    const entity = edge.from === id && edge.type === EdgeTypes.MENTIONS ? db.getNode(edge.to) : null;
    if (entity?.type === NodeTypes.Entity && typeof entity.properties.name === 'string' && typeof entity.properties.kind === 'string') {
      events.push(parseEvent({
        id: derivedEventId('mention', id, entity.id),
        type: 'entity',
        name: entity.properties.name,
        kind: entity.properties.kind,
        ...(typeof entity.properties.key === 'string' ? { key: entity.properties.key } : {}),
        messageId: id,
      }));
      continue;
    }
    rest.edges.push(edge);
  }
  return { events, rest };
}

/** Where the weaver put each record's message: event id → node id. */
export class WovenMessages {
  readonly #nodes = new Map<string, string>();

  constructor(readonly db: EmbeddedDB, readonly weaver: WeaverController) {}

  /** The node the weaver wrote for this message event, if it has. */
  nodeOf(eventId: string): string | undefined {
    let node = this.#nodes.get(eventId);
    if (node === undefined) {
      node = this.db.listNodes({ type: NodeTypes.Message, where: { eventId }, limit: 1 }).items[0]?.id;
      if (node !== undefined) this.#nodes.set(eventId, node);
    }
    return node;
  }

  /**
   * Waits until the weaver has written these message events, or has no
   * events left pending (those still missing were dead-lettered: the
   * weaver's dead letters say why). Returns the ids still missing.
   */
  async settle(eventIds: readonly string[]): Promise<string[]> {
    let missing = [...eventIds];
    for (;;) {
      // Idle before the look-up: whatever is still missing then was not written.
      const idle = this.weaver.stats().pending === 0;
      missing = missing.filter((id) => this.nodeOf(id) === undefined);
      if (missing.length === 0 || idle) return missing;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.weaver.off('progress', wake);
          resolve();
        };
        const timer = setTimeout(wake, 50);
        this.weaver.on('progress', wake);
      });
    }
  }
}
