/**
 * The memory vocabulary: the node types, properties, edge types and the
 * message space that the weaver writes and `MemoryQueries` reads. This is
 * its single definition; import it rather than spelling the strings.
 *
 * ```
 * Message ─IN_CONVERSATION→ Conversation
 * Message ─NEXT→ Message            (earlier → later, by timestamp)
 * Message ─MENTIONS→ Entity
 * Entity ─RELATED_TO─ Entity        (one edge per pair, from the smaller id; weight = co-mentions)
 * ```
 *
 * @module
 */
import { LoomError, type EmbeddedDB, type Embedder, type SpaceSpec, type TextIndexSpec } from '@loomdb/db';

/**
 * Node types of the memory graph.
 *
 * @example
 * ```ts
 * db.insertNode({ type: NodeTypes.Conversation, properties: { title: 'Trip' } });
 * await query(db).type(NodeTypes.Message).execute();
 * ```
 */
export const NodeTypes = {
  Conversation: 'Conversation',
  Message: 'Message',
  Entity: 'Entity',
} as const;
/**
 * A memory node type.
 *
 * @example
 * ```ts
 * const type: MemoryNodeType = 'Entity';
 * ```
 */
export type MemoryNodeType = (typeof NodeTypes)[keyof typeof NodeTypes];

/**
 * Edge types of the memory graph; each comment gives its direction.
 *
 * @example
 * ```ts
 * db.insertEdge({ type: EdgeTypes.MENTIONS, from: messageId, to: entityId });
 * db.neighbors(messageId, { direction: 'out', edgeTypes: [EdgeTypes.IN_CONVERSATION] });
 * ```
 */
export const EdgeTypes = {
  /** Message → the Conversation it belongs to. */
  IN_CONVERSATION: 'IN_CONVERSATION',
  /** Message → the next Message of the same conversation (by `timestamp`). */
  NEXT: 'NEXT',
  /** Message → an Entity it mentions. */
  MENTIONS: 'MENTIONS',
  /**
   * Entity — Entity mentioned in the same message; `weight` = messages
   * mentioning both. Symmetric, so stored once per pair (from the smaller
   * node id to the larger): hop it with `direction: 'both'`.
   */
  RELATED_TO: 'RELATED_TO',
} as const;
/**
 * A memory edge type.
 *
 * @example
 * ```ts
 * const type: MemoryEdgeType = 'RELATED_TO';
 * ```
 */
export type MemoryEdgeType = (typeof EdgeTypes)[keyof typeof EdgeTypes];

/**
 * Who wrote a message.
 *
 * @example
 * ```ts
 * const role: Role = 'assistant';
 * await query(db).type('Message').where('role', 'eq', role).execute();
 * ```
 */
export type Role = 'user' | 'assistant' | 'system' | 'tool';
/**
 * Every role.
 *
 * @example
 * ```ts
 * const valid = (r: string): r is Role => (ROLES as readonly string[]).includes(r);
 * ```
 */
export const ROLES: readonly Role[] = ['user', 'assistant', 'system', 'tool'];

/**
 * Properties of a `Message` node.
 *
 * @example
 * ```ts
 * const properties: MessageProperties = { conversationId: 'c1', role: 'user', content: 'hi', timestamp: Date.now(), eventId: 'e1', source: 'cli' };
 * db.insertNode({ type: NodeTypes.Message, properties: { ...properties } });
 * ```
 */
export interface MessageProperties {
  [key: string]: string | number;
  /** Id of its `Conversation` node. */
  conversationId: string;
  role: Role;
  content: string;
  /** When it was written, ms since epoch (the order of `NEXT` and of chat history). */
  timestamp: number;
  /** Id of the event it came from (the weaver dedupes on it). */
  eventId: string;
  /** Where it came from: `'chatgpt.com'`, `'cli'`, … */
  source: string;
}

/**
 * Properties of a `Conversation` node.
 *
 * @example
 * ```ts
 * const properties: ConversationProperties = { title: 'Weekend plans', source: 'chatgpt' };
 * db.insertNode({ id: 'c1', type: NodeTypes.Conversation, properties: { ...properties } });
 * ```
 */
export interface ConversationProperties {
  [key: string]: string | number | undefined;
  title?: string;
  source?: string;
  /** Time of its first message, ms since epoch. */
  startedAt?: number;
}

/**
 * Properties of an `Entity` node.
 *
 * @example
 * ```ts
 * const properties: EntityProperties = { name: 'Lisbon', kind: 'place', key: 'name:lisbon', normalizedName: normalizeEntityName('Lisbon') };
 * ```
 */
export interface EntityProperties {
  [key: string]: string;
  /** As first seen: `'Ada Lovelace'`, `'@grace'`, `'#rust'`. */
  name: string;
  /** `'person'`, `'handle'`, `'tag'`, `'url'`, `'email'`, `'code'`, … (extractor-defined). */
  kind: string;
  /** Normalised identity merging mentions: `` `${kind}:${normalised name}` ``. */
  key: string;
  /** `normalizeEntityName(name)`: what a lookup by name matches, whatever its case or spacing. */
  normalizedName: string;
}

/**
 * How an entity's name is compared when it is looked up by name
 * (`searchByEntity`, `findSimilarMemories({ entity })`): Unicode NFKC,
 * lower-cased, runs of whitespace as one space, trimmed — so `'anna'`,
 * `'Anna'` and `' ANNA '` find the same entity. Stored on each `Entity`
 * as `normalizedName`.
 *
 * @example
 * ```ts
 * normalizeEntityName('  Ada   LOVELACE '); // 'ada lovelace'
 * ```
 */
export function normalizeEntityName(name: string): string {
  return name.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

/**
 * The space holding message embeddings.
 *
 * @example
 * ```ts
 * db.searchVectors(vector, { space: MESSAGE_SPACE, k: 5 });
 * ```
 */
export const MESSAGE_SPACE = 'default';

/**
 * Its spec when LoomDB creates it: 384-d cosine with the built-in offline `hashing` embedder.
 *
 * @example
 * ```ts
 * const db = EmbeddedDB.open('./memory.loomdb', { spaces: { [MESSAGE_SPACE]: MESSAGE_SPACE_SPEC } });
 * ```
 */
export const MESSAGE_SPACE_SPEC: SpaceSpec & { embedder: string } = { dimensions: 384, metric: 'cosine', embedder: 'hashing' };

/**
 * The embedder of the message space, creating the space when it is missing
 * with that embedder's dimensions and id recorded (a model's id names its
 * weights too). The space's recorded embedder is the one used, unless
 * `preferred` (a registered name) is given: then it must be that one, else
 * `CONFLICT`, never vectors of two embedders in one space. With neither, the
 * built-in `hashing` embedder.
 *
 * @example
 * ```ts fragment
 * const embedder = ensureMessageSpace(db, 'local');
 * const [vector] = await embedder.embed(['where did we plan to hike?']);
 * ```
 */
export function ensureMessageSpace(db: Pick<EmbeddedDB, 'stats' | 'embedder' | 'createSpace'>, preferred?: string): Embedder {
  const space = db.stats().spaces.find((s) => s.name === MESSAGE_SPACE);
  const name = preferred ?? space?.embedder ?? MESSAGE_SPACE_SPEC.embedder;
  const embedder = db.embedder(name);
  const id = embedder.id ?? name;
  if (space?.embedder !== undefined && space.embedder !== id) {
    throw new LoomError('CONFLICT', `space "${MESSAGE_SPACE}" holds vectors of embedder "${space.embedder}", not "${id}"; use that embedder, or re-embed the space first: await db.reembed('${MESSAGE_SPACE}', { embedder: '${name}' })`);
  }
  if (space && space.dimensions !== embedder.dimensions) {
    throw new LoomError('INVALID_ARGUMENT', `embedder "${name}" makes ${embedder.dimensions}-d vectors; space "${MESSAGE_SPACE}" has ${space.dimensions} dimensions`);
  }
  if (!space) db.createSpace(MESSAGE_SPACE, { ...MESSAGE_SPACE_SPEC, dimensions: embedder.dimensions, embedder: id });
  return embedder;
}

/**
 * The text index over message content that hybrid memory search reads (the weaver creates it).
 *
 * @example
 * ```ts
 * db.searchText('ferry', { index: MESSAGE_TEXT_INDEX, k: 5 });
 * ```
 */
export const MESSAGE_TEXT_INDEX = 'default';
/**
 * The message text index spec.
 *
 * @example
 * ```ts
 * db.createTextIndex(MESSAGE_TEXT_INDEX, MESSAGE_TEXT_INDEX_SPEC);
 * ```
 */
export const MESSAGE_TEXT_INDEX_SPEC: TextIndexSpec = { types: [NodeTypes.Message], fields: ['content'] };

/**
 * The text index over entity names that `searchByEntity` falls back on
 * when no entity has the name asked for (the weaver creates it): "Patel"
 * finds "Dr. Patel".
 *
 * @example
 * ```ts
 * db.searchText('patel', { index: ENTITY_TEXT_INDEX, k: 3 });
 * ```
 */
export const ENTITY_TEXT_INDEX = 'entity-names';
/**
 * The entity name index spec: no stop words, since names are made of them too ("The Who").
 *
 * @example
 * ```ts
 * db.createTextIndex(ENTITY_TEXT_INDEX, ENTITY_TEXT_INDEX_SPEC);
 * ```
 */
export const ENTITY_TEXT_INDEX_SPEC: TextIndexSpec = { types: [NodeTypes.Entity], fields: ['name'], stopWords: false };

/**
 * Text indexes the memory queries read (the weaver creates them).
 *
 * @example
 * ```ts
 * for (const { name, spec } of MEMORY_TEXT_INDEXES) db.createTextIndex(name, spec); // what the weaver's initialize() does
 * ```
 */
export const MEMORY_TEXT_INDEXES = [
  { name: MESSAGE_TEXT_INDEX, spec: MESSAGE_TEXT_INDEX_SPEC },
  { name: ENTITY_TEXT_INDEX, spec: ENTITY_TEXT_INDEX_SPEC },
] as const;

/**
 * Property indexes the memory queries rely on (the weaver creates them).
 *
 * @example
 * ```ts
 * for (const index of MEMORY_INDEXES) db.createIndex(index); // what the weaver's initialize() does
 * ```
 */
export const MEMORY_INDEXES = [
  { type: NodeTypes.Message, property: 'conversationId' },
  { type: NodeTypes.Message, property: 'timestamp' },
  { type: NodeTypes.Message, property: 'eventId' },
  { type: NodeTypes.Entity, property: 'key' },
  { type: NodeTypes.Entity, property: 'normalizedName' },
] as const;
