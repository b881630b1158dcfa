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

/** Node types of the memory graph. */
export const NodeTypes = {
  Conversation: 'Conversation',
  Message: 'Message',
  Entity: 'Entity',
} as const;
export type MemoryNodeType = (typeof NodeTypes)[keyof typeof NodeTypes];

/** Edge types of the memory graph; each comment gives its direction. */
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
export type MemoryEdgeType = (typeof EdgeTypes)[keyof typeof EdgeTypes];

/** Who wrote a message. */
export type Role = 'user' | 'assistant' | 'system' | 'tool';
export const ROLES: readonly Role[] = ['user', 'assistant', 'system', 'tool'];

/** Properties of a `Message` node. */
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

/** Properties of a `Conversation` node. */
export interface ConversationProperties {
  [key: string]: string | number | undefined;
  title?: string;
  source?: string;
  /** Time of its first message, ms since epoch. */
  startedAt?: number;
}

/** Properties of an `Entity` node. */
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
 */
export function normalizeEntityName(name: string): string {
  return name.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

/** The space holding message embeddings. */
export const MESSAGE_SPACE = 'default';

/** Its spec when LoomDB creates it: 384-d cosine with the built-in offline `hashing` embedder. */
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

/** The text index over message content that hybrid memory search reads (the weaver creates it). */
export const MESSAGE_TEXT_INDEX = 'default';
export const MESSAGE_TEXT_INDEX_SPEC: TextIndexSpec = { types: [NodeTypes.Message], fields: ['content'] };

/** Property indexes the memory queries rely on (the weaver creates them). */
export const MEMORY_INDEXES = [
  { type: NodeTypes.Message, property: 'conversationId' },
  { type: NodeTypes.Message, property: 'timestamp' },
  { type: NodeTypes.Message, property: 'eventId' },
  { type: NodeTypes.Entity, property: 'key' },
  { type: NodeTypes.Entity, property: 'normalizedName' },
] as const;
