import { randomUUID } from 'node:crypto';
import { LoomError, type Node } from '@loomdb/db';
import { EdgeTypes, NodeTypes } from '@loomdb/query/memory';
import type { MemoryContext } from './context.js';

/**
 * What to forget.
 *
 * @example
 * ```ts
 * const target: ForgetTarget = { conversationId: 'c1' }; // or { messageId }
 * await forget(context, target);
 * ```
 */
export interface ForgetTarget {
  conversationId?: string;
  messageId?: string;
}

/**
 * What was forgotten.
 *
 * @example
 * ```ts
 * const { applied, messages, entities, conversation }: ForgetReport = await forget(context, { conversationId: 'c1' });
 * ```
 */
export interface ForgetReport {
  /** Whether the weaver applied the forget within the wait (it applies it later otherwise: the event is durable). */
  applied: boolean;
  messages: string[];
  entities: string[];
  conversation: boolean;
}

const POLL_MS = 50;

/**
 * Forgets a conversation or one message through the weaver (which removes
 * the messages, their embeddings and edges, and entities no longer
 * mentioned), waits for it to be applied — by this process's weaver or
 * another's, they share the inbox — and reports what is gone.
 *
 * @example
 * ```ts
 * const report = await forget(context, { messageId: 'm42' });
 * if (!report.applied) console.log('queued: the weaver applies it later');
 * ```
 */
export async function forget(context: MemoryContext, target: ForgetTarget, waitMs = 30_000): Promise<ForgetReport> {
  const { db, weaver } = context;
  if ((target.conversationId === undefined) === (target.messageId === undefined)) {
    throw new LoomError('INVALID_ARGUMENT', 'forget needs exactly one of conversationId or messageId');
  }
  const messages = await targets(context, target);
  const mentioned = new Set<string>();
  for (const m of messages) {
    for (const { node } of await db.neighbors(m.id, { direction: 'out', edgeTypes: [EdgeTypes.MENTIONS] })) mentioned.add(node.id);
  }
  const conversation = target.conversationId !== undefined && (await db.getNode(target.conversationId))?.type === NodeTypes.Conversation;
  // The weaver identifies a message by the id its remember event had.
  const messageEventId = target.messageId === undefined ? undefined : (messages[0]?.properties.eventId as string | undefined) ?? target.messageId;
  await weaver.submitEvent({
    id: `forget:${randomUUID()}`,
    type: 'forget',
    ...(target.conversationId !== undefined ? { conversationId: target.conversationId } : { messageId: messageEventId as string }),
  });
  const gone = async () => {
    for (const m of messages) if (await db.getNode(m.id)) return false;
    return !(conversation && (await db.getNode(target.conversationId as string)));
  };
  const deadline = Date.now() + waitMs;
  let applied = await gone();
  while (!applied && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    applied = await gone();
  }
  const entities: string[] = [];
  for (const id of mentioned) if (!(await db.getNode(id))) entities.push(id);
  return { applied, messages: messages.map((m) => m.id), entities, conversation };
}

/** The Message nodes a forget removes: a conversation's, or one message given by node id or by its remember id. */
async function targets({ db }: MemoryContext, target: ForgetTarget): Promise<Node[]> {
  if (target.conversationId !== undefined) {
    const out: Node[] = [];
    for await (const n of db.streamNodes({ type: NodeTypes.Message, where: { conversationId: target.conversationId } })) out.push(n);
    return out;
  }
  return findMessage(db, target.messageId as string).then((m) => (m ? [m] : []));
}

/** A message by its node id or by the id its remember call gave it. */
export async function findMessage(db: MemoryContext['db'], id: string): Promise<Node | null> {
  const node = await db.getNode(id);
  if (node?.type === NodeTypes.Message) return node;
  return (await db.listNodes({ type: NodeTypes.Message, where: { eventId: id }, limit: 1 })).items[0] ?? null;
}
