/**
 * The messages the browser extension sends, as zod schemas: one per request
 * type, each a strict object of the parameters the matching library call
 * takes (an unknown field is an error naming it, not silently ignored).
 *
 * @module
 */
import { LoomError, MAX_ID_BYTES } from '@loomdb/db';
import { z } from 'zod';

/**
 * The protocol this host speaks; `hello` reports it, and a request for another version is `UNSUPPORTED`.
 *
 * @example
 * ```ts
 * port.postMessage({ id: 1, type: 'hello', params: { protocolVersion: PROTOCOL_VERSION } });
 * ```
 */
export const PROTOCOL_VERSION = 1;

/**
 * Every protocol version this host can speak.
 *
 * @example
 * ```ts
 * if (!SUPPORTED_PROTOCOL_VERSIONS.includes(2)) console.log('version 2 is not spoken here');
 * ```
 */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

/**
 * What identifies a request; its reply carries the same. `null` in a reply when none could be read.
 *
 * @example
 * ```ts
 * const id: RequestId = 42; // a string or number; null when the request had none readable
 * ```
 */
export type RequestId = string | number | null;

const encoder = new TextEncoder();
const requestId = z.union([
  z.string().refine((s) => encoder.encode(s).length <= MAX_ID_BYTES, { message: `must be at most ${MAX_ID_BYTES} bytes of UTF-8` }),
  z.number().int().refine(Number.isSafeInteger, { message: 'must be a safe integer' }),
]);

const nonEmpty = z.string().min(1);
const count = z.number().int();
/** ms since epoch. */
const time = z.number();

/** The messages of an IndexedDB export (`@loomdb/migrate`), checked as far as the host relies on their shape. */
const exportHeader = z.looseObject({ kind: z.literal('header'), format: z.string(), version: count, database: nonEmpty, databaseVersion: count, stores: z.array(z.looseObject({ name: z.string() })) });
const exportBatch = z.looseObject({ kind: z.literal('batch'), store: z.string(), records: z.array(z.looseObject({ key: z.unknown(), value: z.unknown() })), lastKey: z.unknown() });
const exportManifest = z.looseObject({ kind: z.literal('manifest'), database: nonEmpty, stores: z.record(z.string(), z.looseObject({ count, checksum: z.string() })) });

const exactlyOne = (a: string, b: string) => (value: Record<string, unknown>) => (value[a] === undefined) !== (value[b] === undefined);

/**
 * The parameters of each request type (everything in the request but `id` and `type`).
 *
 * @example
 * ```ts
 * const params = REQUEST_PARAMS.getChatHistory.parse({ conversationId: 'c1', limit: 20 });
 * ```
 */
export const REQUEST_PARAMS = {
  hello: z.strictObject({ protocolVersion: count.optional(), legacyDatabase: nonEmpty.optional() }),
  submitEvents: z.strictObject({ events: z.array(z.unknown()) }),
  findSimilarMemories: z
    .strictObject({
      text: z.string().optional(),
      vector: z.array(z.number()).optional(),
      k: count.optional(),
      conversationId: z.string().optional(),
      role: z.string().optional(),
      since: time.optional(),
      until: time.optional(),
      entity: z.string().optional(),
      mode: z.enum(['hybrid', 'text', 'vector']).optional(),
      textWeight: z.number().optional(),
    })
    .refine(exactlyOne('text', 'vector'), { message: 'give exactly one of text and vector', path: ['text'] }),
  getConversationContext: z.strictObject({
    messageId: nonEmpty,
    before: count.optional(),
    after: count.optional(),
    includeEntities: z.boolean().optional(),
  }),
  searchByEntity: z.strictObject({
    entity: nonEmpty,
    k: count.optional(),
    hops: count.optional(),
    types: z.array(nonEmpty).optional(),
    cursor: z.string().optional(),
  }),
  getChatHistory: z.strictObject({
    conversationId: nonEmpty,
    limit: count.optional(),
    cursor: z.string().optional(),
    order: z.enum(['asc', 'desc']).optional(),
  }),
  query: z.strictObject({ plan: z.record(z.string(), z.unknown()) }),
  stats: z.strictObject({}),
  forget: z
    .strictObject({ conversationId: nonEmpty.optional(), messageId: nonEmpty.optional() })
    .refine(exactlyOne('conversationId', 'messageId'), { message: 'give exactly one of conversationId and messageId', path: ['conversationId'] }),
  'migrate.begin': z.strictObject({ header: exportHeader, mapping: z.record(z.string(), z.unknown()).optional(), weave: z.boolean().optional() }),
  'migrate.batch': z.strictObject({ batch: exportBatch }),
  'migrate.end': z.strictObject({ manifest: exportManifest }),
} as const;

/**
 * A request type of the protocol.
 *
 * @example
 * ```ts
 * const type: RequestType = 'findSimilarMemories';
 * ```
 */
export type RequestType = keyof typeof REQUEST_PARAMS;

/**
 * Every request type, in the order the README documents them.
 *
 * @example
 * ```ts
 * console.log(REQUEST_TYPES.join(', ')); // hello, submitEvents, findSimilarMemories, …
 * ```
 */
export const REQUEST_TYPES = Object.keys(REQUEST_PARAMS) as RequestType[];

/**
 * The parameters of a request of type `T`, as validated.
 *
 * @example
 * ```ts
 * const params: RequestParams<'query'> = { plan: { version: 1, types: ['Message'], limit: 10 } };
 * ```
 */
export type RequestParams<T extends RequestType> = z.output<(typeof REQUEST_PARAMS)[T]>;

/**
 * A validated request.
 *
 * @example
 * ```ts
 * const request: Request = parseRequest({ id: 1, type: 'stats', params: {} });
 * console.log(request.type);
 * ```
 */
export type Request = { [T in RequestType]: { id: string | number; type: T; params: RequestParams<T> } }[RequestType];

/**
 * A reply: the result of the request with the same `id`, or the `LoomError` it failed with.
 *
 * @example
 * ```ts
 * const reply: Reply = { id: 1, ok: false, error: { code: 'NOT_FOUND', message: 'no conversation c9' } };
 * for (const m of replyMessages(reply.id, JSON.stringify(reply))) output.write(encodeFrame(m));
 * ```
 */
export type Reply =
  | { id: RequestId; ok: true; result: unknown }
  | { id: RequestId; ok: false; error: { code: string; message: string } };

/**
 * A request that could not be validated, with the id to answer it under.
 *
 * @example
 * ```ts
 * try {
 *   parseRequest({ id: 3, type: 'nope', params: {} });
 * } catch (e) {
 *   if (e instanceof RequestError) console.log(e.requestId, e.code); // 3 UNSUPPORTED
 * }
 * ```
 */
export class RequestError extends LoomError {
  readonly requestId: RequestId;

  constructor(requestId: RequestId, code: LoomError['code'], message: string) {
    super(code, message);
    this.requestId = requestId;
  }
}

function describeIssue(prefix: string, error: z.ZodError): string {
  const issue = error.issues[0] as z.core.$ZodIssue;
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return `${prefix}${path}: ${issue.message}`;
}

/**
 * Validates a parsed message as a request. Throws a {@link RequestError}
 * (`INVALID_ARGUMENT`, or `UNSUPPORTED` for an unknown type) naming the
 * field, with the request's id when it has a valid one.
 *
 * @example
 * ```ts
 * const request = parseRequest({ id: 7, type: 'getChatHistory', conversationId: 'c1', limit: 20 });
 * console.log(request.params); // { conversationId: 'c1', limit: 20 }
 * ```
 */
export function parseRequest(value: unknown): Request {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RequestError(null, 'INVALID_ARGUMENT', `a request must be a JSON object { id, type, ... }, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const { id: rawId, type, ...params } = value as Record<string, unknown>;
  const id = requestId.safeParse(rawId);
  if (!id.success) throw new RequestError(null, 'INVALID_ARGUMENT', describeIssue('request.id', id.error) + ` (got ${JSON.stringify(rawId) ?? 'nothing'})`);
  if (typeof type !== 'string' || !Object.hasOwn(REQUEST_PARAMS, type)) {
    throw new RequestError(id.data, 'UNSUPPORTED', `unknown request type ${JSON.stringify(type) ?? 'undefined'}; this host knows ${REQUEST_TYPES.join(', ')}`);
  }
  const parsed = REQUEST_PARAMS[type as RequestType].safeParse(params);
  if (!parsed.success) throw new RequestError(id.data, 'INVALID_ARGUMENT', describeIssue(type, parsed.error));
  return { id: id.data, type, params: parsed.data } as Request;
}
