import { LoomError, MAX_ID_BYTES, type JsonValue } from '@loomdb/db';
import { ROLES, type Role } from '@loomdb/query/memory';
import { z } from 'zod';

/** Longest message content, in characters. */
export const MAX_CONTENT_LENGTH = 1_000_000;

const encoder = new TextEncoder();

/** An id: non-empty, at most {@link MAX_ID_BYTES} bytes of UTF-8 (it becomes a key). */
const id = z
  .string()
  .min(1)
  .refine((s) => encoder.encode(s).length <= MAX_ID_BYTES, { message: `must be at most ${MAX_ID_BYTES} bytes of UTF-8` });
const text = z.string().max(10_000);
/** ms since epoch. */
const timestamp = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const json: z.ZodType<JsonValue> = z.lazy(() => z.union([z.null(), z.boolean(), z.number().finite(), z.string(), z.array(json), z.record(z.string(), json)]));
const metadata = z.record(z.string(), json);

const messageSchema = z.looseObject({
  id,
  type: z.literal('message'),
  conversationId: id,
  role: z.enum(ROLES as [Role, ...Role[]]),
  content: z.string().max(MAX_CONTENT_LENGTH),
  timestamp,
  source: text.min(1).optional(),
  title: text.optional(),
  metadata: metadata.optional(),
});

const conversationSchema = z.looseObject({
  id,
  type: z.literal('conversation'),
  conversationId: id,
  title: text.optional(),
  source: text.min(1).optional(),
  timestamp: timestamp.optional(),
  metadata: metadata.optional(),
});

const entitySchema = z.looseObject({
  id,
  type: z.literal('entity'),
  name: text.min(1),
  kind: text.min(1),
  /** Defaults to `${kind}:${name lower-cased}`. */
  key: text.min(1).optional(),
  /** The id of the message event that mentions it. */
  messageId: id.optional(),
  metadata: metadata.optional(),
});

const forgetSchema = z
  .looseObject({
    id,
    type: z.literal('forget'),
    conversationId: id.optional(),
    /** The id of the message event to forget. */
    messageId: id.optional(),
    metadata: metadata.optional(),
  })
  .refine((e) => (e.conversationId === undefined) !== (e.messageId === undefined), {
    message: 'a forget event names exactly one of conversationId and messageId',
    path: ['conversationId'],
  });

const eventSchema = z.discriminatedUnion('type', [messageSchema, conversationSchema, entitySchema, forgetSchema]);

/** A chat message: becomes a `Message` node in its conversation, embedded and mined for entities. */
export type MessageEvent = z.input<typeof messageSchema>;
/** Starts a conversation or renames it. */
export type ConversationEvent = z.input<typeof conversationSchema>;
/** An explicit entity (bring your own, no extraction), mentioned by a message when `messageId` is given. */
export type EntityEvent = z.input<typeof entitySchema>;
/** Removes a conversation or one message, their embeddings and edges, and entities left with no mention. */
export type ForgetEvent = z.input<typeof forgetSchema>;
/** What `submitEvent` accepts. Fields not listed here are kept in `metadata`. */
export type WeaverEvent = MessageEvent | ConversationEvent | EntityEvent | ForgetEvent;

const KNOWN: Record<WeaverEvent['type'], ReadonlySet<string>> = {
  message: new Set(Object.keys(messageSchema.shape)),
  conversation: new Set(Object.keys(conversationSchema.shape)),
  entity: new Set(Object.keys(entitySchema.shape)),
  forget: new Set(Object.keys(forgetSchema.shape)),
};

/**
 * Validates an event and moves the fields its type does not define into
 * `metadata` (which must then be JSON). Throws `INVALID_ARGUMENT` naming the
 * field, prefixed with `what` (`event`, `events[3]`).
 */
export function parseEvent(value: unknown, what = 'event'): WeaverEvent {
  const result = eventSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    const got = issue.path.length > 0 ? describeAt(value, issue.path) : '';
    throw new LoomError('INVALID_ARGUMENT', `${what}${path}: ${issue.message}${got}`);
  }
  const event = result.data as Record<string, unknown> & { type: WeaverEvent['type'] };
  const known = KNOWN[event.type];
  const out: Record<string, unknown> = {};
  const extra: Record<string, unknown> = { ...((event.metadata as object | undefined) ?? {}) };
  for (const [key, v] of Object.entries(event)) {
    if (key === 'metadata' || v === undefined) continue;
    if (known.has(key)) out[key] = v;
    else extra[key] = v;
  }
  if (Object.keys(extra).length > 0) {
    const checked = metadata.safeParse(extra);
    if (!checked.success) {
      const issue = checked.error.issues[0] as z.core.$ZodIssue;
      throw new LoomError('INVALID_ARGUMENT', `${what}.metadata.${issue.path.map(String).join('.')}: ${issue.message} (metadata holds JSON values only)`);
    }
    out.metadata = checked.data;
  }
  return out as unknown as WeaverEvent;
}

function describeAt(value: unknown, path: PropertyKey[]): string {
  let at: unknown = value;
  for (const p of path) at = at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[p] : undefined;
  if (at === undefined) return '';
  const shown = typeof at === 'string' ? JSON.stringify(at.length > 40 ? `${at.slice(0, 40)}…` : at) : typeof at === 'object' ? typeof at : String(at);
  return ` (got ${shown})`;
}
