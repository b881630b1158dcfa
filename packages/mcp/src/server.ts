import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { LoomErrorCode } from '@loomdb/db';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { MemoryContext } from './context.js';
import { registerKnowledgeTools } from './tools/knowledge-tools.js';
import { registerMemoryTools } from './tools/memory-tools.js';
import { registerConversationResource, registerKnowledgeGraphResource } from './resource.js';

/**
 * The server name.
 *
 * @example
 * ```ts
 * console.log(SERVER_NAME, SERVER_VERSION); // what the MCP initialize handshake reports
 * ```
 */
export const SERVER_NAME = 'loomdb-mcp';
/**
 * The server version.
 *
 * @example
 * ```ts
 * console.log(`${SERVER_NAME} ${SERVER_VERSION}`);
 * ```
 */
export const SERVER_VERSION = '0.1.0';

/**
 * The SDK answers arguments that fail a tool's schema with a bare
 * "Input validation error" message; clients and models get the LoomError
 * code as for every other failure, so one rule reads every tool error.
 * `createToolError` is private in the SDK's types, hence the cast.
 */
function tagValidationErrors(server: McpServer): void {
  const target = server as unknown as { createToolError(message: string): CallToolResult };
  const original = target.createToolError.bind(server);
  target.createToolError = (message: string) => original(`${sdkErrorCode(message)}: ${message}`);
}

/** The LoomError code of a failure the SDK reports itself (before or after a tool body ran). */
function sdkErrorCode(message: string): LoomErrorCode {
  if (/Input validation error|Invalid arguments/.test(message)) return 'INVALID_ARGUMENT';
  if (/^MCP error -?\d+: Tool .* not found$/.test(message)) return 'NOT_FOUND';
  if (/^MCP error -?\d+: Tool .* disabled$/.test(message)) return 'UNSUPPORTED';
  return 'INTERNAL';
}

/**
 * One MCP server (one client session) over a shared memory context.
 *
 * @example
 * ```ts
 * import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
 * const server = createServer(await openContext());
 * await server.connect(new StdioServerTransport());
 * ```
 */
export function createServer(context: MemoryContext): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    {
      // Clients may set a log level (logging/setLevel); the server's own diagnostics still go to stderr.
      capabilities: { logging: {} },
      instructions:
        'Long-term memory on LoomDB. Knowledge graph tools (create_entities … open_nodes) keep facts about named entities; remember stores chat messages, recall finds them by meaning and words, get_chat_history and get_conversation_context read conversations in order.',
    },
  );
  tagValidationErrors(server);
  const changed = registerKnowledgeGraphResource(server, context.graph);
  registerKnowledgeTools(server, context.graph, changed);
  registerMemoryTools(server, context);
  registerConversationResource(server, context.memory);
  return server;
}
