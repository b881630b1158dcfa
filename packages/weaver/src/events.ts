import { LoomError, MAX_ID_BYTES, type JsonValue } from '@loomdb/db';
import { ROLES, type Role } from '@loomdb/query/memory';
import { z } from 'zod';

/**
 * Longest message content, in characters.
 *
 * @example
 * ```ts
 * const content = text.length > MAX_CONTENT_LENGTH ? text.slice(0, MAX_CONTENT_LENGTH) : text;
 * await weaver.submitEvent({ id: 'e1', type: 'message', conversationId: 'c1', role: 'user', content, timestamp: Date.now() });
 * ```
 */
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

/** Fields every event has. Fields an event type does not define are moved into `metadata`. */
interface EventBase {
  /** Unique per event: an id submitted twice is applied once. At most 256 bytes of UTF-8. */
  id: string;
  /** JSON values kept with what the event writes. */
  metadata?: Record<string, JsonValue>;
  [field: string]: unknown;
}

/**
 * A chat message: becomes a `Message` node in its conversation, embedded and mined for entities.
 *
 * @example
 * ```ts
 * const event: MessageEvent = { id: 'e1', type: 'message', conversationId: 'c1', role: 'user', content: 'Ask @grace about #rust', timestamp: Date.now(), source: 'cli' };
 * await weaver.submitEvent(event);
 * ```
 */
export interface MessageEvent extends EventBase {
  type: 'message';
  /** Id of its `Conversation` node (created when missing). */
  conversationId: string;
  role: Role;
  content: string;
  /** When it was written, ms since epoch: the order of `NEXT`, whatever the arrival order. */
  timestamp: number;
  /** Where it came from (`'chatgpt.com'`, `'cli'`, …); `'unknown'` when absent. */
  source?: string;
  /** The conversation's title, if it has none yet. */
  title?: string;
}

/**
 * Starts a conversation or renames it.
 *
 * @example
 * ```ts
 * const event: ConversationEvent = { id: 'e0', type: 'conversation', conversationId: 'c1', title: 'Weekend plans' };
 * await weaver.submitEvent(event);
 * ```
 */
export interface ConversationEvent extends EventBase {
  type: 'conversation';
  conversationId: string;
  title?: string;
  source?: string;
  /** Its start, ms since epoch (the earliest of this and its messages' timestamps). */
  timestamp?: number;
}

/**
 * An explicit entity (bring your own, no extraction), mentioned by a message when `messageId` is given.
 *
 * @example
 * ```ts
 * const event: EntityEvent = { id: 'e2', type: 'entity', name: 'Grace Hopper', kind: 'person', messageId: 'e1' };
 * await weaver.submitEvent(event);
 * ```
 */
export interface EntityEvent extends EventBase {
  type: 'entity';
  name: string;
  kind: string;
  /** Identity that merges mentions; default `` `${kind}:${name lower-cased}` ``. */
  key?: string;
  /** The id of the message event that mentions it (it waits, with retries, for that message). */
  messageId?: string;
}

/**
 * Removes a conversation or one message, their embeddings and edges, and entities left with no mention.
 *
 * @example
 * ```ts
 * const event: ForgetEvent = { id: 'e9', type: 'forget', conversationId: 'c1' };
 * await weaver.submitEvent(event); // the conversation's messages, embeddings and edges go
 * ```
 */
export interface ForgetEvent extends EventBase {
  type: 'forget';
  /** Forget this conversation and all its messages… */
  conversationId?: string;
  /** …or the message of this message event (exactly one of the two). */
  messageId?: string;
}

/**
 * What `submitEvent` accepts.
 *
 * @example
 * ```ts
 * const events: WeaverEvent[] = [
 *   { id: 'e0', type: 'conversation', conversationId: 'c1', title: 'Trip' },
 *   { id: 'e1', type: 'message', conversationId: 'c1', role: 'user', content: 'Lisbon in June?', timestamp: Date.now() },
 * ];
 * await weaver.submitEvents(events);
 * ```
 */
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
 *
 * @example
 * ```ts
 * const event = parseEvent(JSON.parse(line)); // INVALID_ARGUMENT naming the field when bad
 * await weaver.submitEvent(event);
 * ```
 */
export function parseEvent(value: unknown, what = 'event'): WeaverEvent {
  const result = eventSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    const got = issue.path.length > 0 ? describeAt(value, issue.path) : '';
    throw new LoomError('INVALID_ARGUMENT', `${what}${path}: ${issue.message}${got}`);
  }
  // `satisfies`: each schema produces its interface (a mismatch fails the build here).
  const event = (result.data satisfies WeaverEvent) as Record<string, unknown> & { type: WeaverEvent['type'] };
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
  const bad = unpairedSurrogateAt(out, '');
  if (bad !== null) {
    throw new LoomError('INVALID_ARGUMENT', `${what}${bad}: contains an unpaired UTF-16 surrogate (it cannot be stored as UTF-8, where it would become U+FFFD)`);
  }
  return out as unknown as WeaverEvent;
}

const wellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/** The path of the first string or key in `v` that is not well-formed UTF-16, or null. */
function unpairedSurrogateAt(v: unknown, path: string): string | null {
  if (typeof v === 'string') return wellFormed(v) ? null : path;
  if (v === null || typeof v !== 'object') return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const bad = unpairedSurrogateAt(v[i], `${path}[${i}]`);
      if (bad !== null) return bad;
    }
    return null;
  }
  for (const [key, x] of Object.entries(v)) {
    if (!wellFormed(key)) return `${path} (key ${JSON.stringify(key)})`;
    const bad = unpairedSurrogateAt(x, `${path}.${key}`);
    if (bad !== null) return bad;
  }
  return null;
}

function describeAt(value: unknown, path: PropertyKey[]): string {
  let at: unknown = value;
  for (const p of path) at = at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[p] : undefined;
  if (at === undefined) return '';
  const shown = typeof at === 'string' ? JSON.stringify(at.length > 40 ? `${at.slice(0, 40)}…` : at) : typeof at === 'object' ? typeof at : String(at);
  return ` (got ${shown})`;
}
