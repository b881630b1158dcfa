/**
 * The LoomDB weaver: a durable, batched inbox that turns chat events into
 * the memory graph of `@loomdb/query/memory`.
 *
 * ```ts
 * import { EmbeddedDB } from '@loomdb/db';
 * import { WeaverController } from '@loomdb/weaver';
 *
 * const db = EmbeddedDB.open('./memory.loomdb');
 * const weaver = new WeaverController(db);
 * await weaver.initialize();
 * await weaver.submitEvent({ id: 'm1', type: 'message', conversationId: 'c1', role: 'user', content: 'Ask @grace about #rust', timestamp: Date.now() });
 * await weaver.shutdown({ drain: true });
 * ```
 *
 * @packageDocumentation
 */
export { WeaverController, type WeaverOptions, type SubmitResult, type WeaverEvents } from './controller.js';
export { parseEvent, MAX_CONTENT_LENGTH, type WeaverEvent, type MessageEvent, type ConversationEvent, type EntityEvent, type ForgetEvent } from './events.js';
export {
  extractEntitiesNlp,
  createNlpExtractor,
  nlpExtractorPlugin,
  NLP_EXTRACTOR,
  extractEntities,
  createRuleExtractor,
  ruleExtractorPlugin,
  RULES_EXTRACTOR,
  type NameKind,
} from './extractor.js';
export type { WeaverStats } from './stats.js';
