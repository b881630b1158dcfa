import { randomUUID } from 'node:crypto';
import { LoomError, type Stats } from '@loomdb/db';
import { fromPlan, type MemoryPage, type QueryResult } from '@loomdb/query';
import type { SubmitResult, WeaverEvent, WeaverStats } from '@loomdb/weaver';
import { MAX_INCOMING_BYTES, MAX_OUTGOING_BYTES } from './framing.js';
import type { MigrationSession, MigrationState } from './migration.js';
import { PROTOCOL_VERSION, REQUEST_TYPES, SUPPORTED_PROTOCOL_VERSIONS, type RequestParams, type RequestType } from './protocol.js';
import type { HostSession } from './session.js';
import { version } from '../package.json';

/**
 * What the handlers work on: the open database and the migration in progress, if any.
 *
 * @example
 * ```ts
 * const session = await HostSession.open({ path: './memory.loomdb' });
 * const context: HostContext = { session, migration: new MigrationSession(session), inbox: 'weaver-inbox' };
 * ```
 */
export interface HostContext {
  session: HostSession;
  migration: MigrationSession;
  /** The weaver's inbox queue (for `stats`). */
  inbox: string;
}

/**
 * `hello`'s result: what the extension needs to know before it sends anything else.
 *
 * @example
 * ```ts
 * const hello = (await HANDLERS.hello(context, { protocolVersion: PROTOCOL_VERSION })) as HelloResult;
 * console.log(hello.protocolVersion, hello.capabilities, hello.migration.state);
 * ```
 */
export interface HelloResult {
  protocolVersion: number;
  supportedProtocolVersions: readonly number[];
  host: { name: string; version: string };
  capabilities: readonly RequestType[];
  limits: { maxRequestBytes: number; maxMessageBytes: number };
  database: { path: string; formatVersion: number };
  migration: MigrationState;
}

/**
 * `stats`'s result.
 *
 * @example
 * ```ts
 * const { database, weaver, inbox } = (await HANDLERS.stats(context, {})) as StatsResult;
 * ```
 */
export interface StatsResult {
  database: Stats;
  weaver: WeaverStats;
  /** The durable inbox as stored, across every process that submits to it. */
  inbox: { pending: number; done: number; dead: number };
}

type Handler<T extends RequestType> = (context: HostContext, params: RequestParams<T>) => Promise<unknown>;

/** A text or a vector for `findSimilarMemories` (the schema allows exactly one). */
const similarTarget = (p: RequestParams<'findSimilarMemories'>): string | number[] => (p.text ?? p.vector) as string | number[];

/** Drops the fields not given, so a library call sees exactly the options the request named. */
function given<T extends Record<string, unknown>>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * One function per request type: each calls the library with the request's
 * parameters and returns what it returns, JSON as it is.
 *
 * @example
 * ```ts fragment
 * const page = await HANDLERS.getChatHistory(context, { conversationId: 'c1', limit: 20 });
 * ```
 */
export const HANDLERS: { [T in RequestType]: Handler<T> } = {
  async hello({ session, migration }, { protocolVersion, legacyDatabase }): Promise<HelloResult> {
    if (protocolVersion !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(protocolVersion)) {
      throw new LoomError('UNSUPPORTED', `protocol version ${protocolVersion} is not supported; this host speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`);
    }
    return {
      protocolVersion: PROTOCOL_VERSION,
      supportedProtocolVersions: SUPPORTED_PROTOCOL_VERSIONS,
      host: { name: '@loomdb/native-host', version },
      capabilities: REQUEST_TYPES,
      limits: { maxRequestBytes: MAX_INCOMING_BYTES, maxMessageBytes: MAX_OUTGOING_BYTES },
      database: { path: session.path, formatVersion: (await session.reader.stats()).formatVersion },
      migration: migration.state(legacyDatabase),
    };
  },

  async submitEvents({ session }, { events }): Promise<SubmitResult[]> {
    return session.weaver.submitEvents(events as WeaverEvent[]);
  },

  async findSimilarMemories({ session }, params): Promise<MemoryPage> {
    const { text: _text, vector: _vector, ...options } = params;
    return session.memory.findSimilarMemories(similarTarget(params), given(options));
  },

  async getConversationContext({ session }, { messageId, ...options }): Promise<MemoryPage> {
    return session.memory.getConversationContext(messageId, given(options));
  },

  async searchByEntity({ session }, { entity, ...options }): Promise<MemoryPage> {
    return session.memory.searchByEntity(entity, given(options));
  },

  async getChatHistory({ session }, { conversationId, ...options }): Promise<MemoryPage> {
    return session.memory.getChatHistory(conversationId, given(options));
  },

  async query({ session }, { plan }): Promise<QueryResult> {
    return fromPlan(session.reader, plan).execute();
  },

  async stats({ session, inbox }): Promise<StatsResult> {
    return { database: await session.reader.stats(), weaver: session.weaver.stats(), inbox: session.db.queue(inbox).stats() };
  },

  async forget({ session }, target): Promise<SubmitResult> {
    // The weaver removes the conversation or message when it reaches this event; the reply comes once it is durably queued.
    const event = { id: `forget-${randomUUID()}`, type: 'forget', ...given(target) } as WeaverEvent;
    return session.weaver.submitEvent(event);
  },

  async 'migrate.begin'({ migration }, params) {
    return migration.begin(params);
  },

  async 'migrate.batch'({ migration }, params) {
    return migration.batch(params);
  },

  async 'migrate.end'({ migration }, params) {
    return migration.end(params);
  },
};
