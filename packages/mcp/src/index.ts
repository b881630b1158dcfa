/**
 * `@loomdb/mcp`: the `loomdb-mcp` Model Context Protocol memory server, and
 * its parts for embedding it in another program.
 *
 * @packageDocumentation
 */
export { openContext, type MemoryContext, type OpenContextOptions } from './context.js';
export { createServer, SERVER_NAME, SERVER_VERSION } from './server.js';
export { serveHttp, MCP_PATH, type HttpOptions, type RunningHttp } from './http.js';
export { KnowledgeGraphStore, KNOWLEDGE_ENTITY, KNOWLEDGE_RELATION, type Entity, type Relation, type KnowledgeGraph } from './knowledge-graph.js';
export { importMemoryFile, readMemoryFile, type ImportReport } from './import-jsonl.js';
export { forget, type ForgetReport, type ForgetTarget } from './forget.js';
