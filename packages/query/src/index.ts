/**
 * LoomDB queries. The memory vocabulary lives in `@loomdb/query/memory`.
 *
 * @packageDocumentation
 */
export * from './memory.js';
