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
import type { SpaceSpec } from '@loomdb/db';

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

/** Property indexes the memory queries rely on (the weaver creates them). */
export const MEMORY_INDEXES = [
  { type: NodeTypes.Message, property: 'conversationId' },
  { type: NodeTypes.Message, property: 'timestamp' },
  { type: NodeTypes.Message, property: 'eventId' },
  { type: NodeTypes.Entity, property: 'key' },
  { type: NodeTypes.Entity, property: 'normalizedName' },
] as const;
