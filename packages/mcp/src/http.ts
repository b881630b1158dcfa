import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { LoomError } from '@loomdb/db';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { MemoryContext } from './context.js';
import { checkOrigin, checkToken, type Refusal } from './http-guard.js';
import { log } from './log.js';
import { createServer } from './server.js';

/**
 * The HTTP path of the endpoint.
 *
 * @example
 * ```ts
 * const { port } = await serveHttp(context, { port: 0, token: 'secret' });
 * const url = `http://127.0.0.1:${port}${MCP_PATH}`;
 * ```
 */
export const MCP_PATH = '/mcp';
const MAX_BODY_BYTES = 16 << 20;

/**
 * Options of serveHttp.
 *
 * @example
 * ```ts
 * await serveHttp(context, { port: 8787, token: process.env.LOOMDB_MCP_TOKEN } satisfies HttpOptions);
 * ```
 */
export interface HttpOptions {
  port: number;
  /** Required bearer token; default `process.env.LOOMDB_MCP_TOKEN`. */
  token?: string;
}

/**
 * A running HTTP server.
 *
 * @example
 * ```ts
 * const http: RunningHttp = await serveHttp(context, { port: 0, token: 'secret' });
 * console.log(http.port);
 * await http.close();
 * ```
 */
export interface RunningHttp {
  /** The port actually bound (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

function refuse(res: ServerResponse, r: Refusal): void {
  res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: r.message }, id: null }));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new LoomError('INVALID_ARGUMENT', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

/**
 * Streamable HTTP on 127.0.0.1 at {@link MCP_PATH}: one MCP session (its own
 * server object and transport) per client, all over one memory context.
 *
 * @example
 * ```ts
 * const context = await openContext({ path: './memory.loomdb' });
 * const http = await serveHttp(context, { port: 8787, token: 'a-long-random-token' }); // POST /mcp with Authorization: Bearer …
 * ```
 */
export async function serveHttp(context: MemoryContext, options: HttpOptions): Promise<RunningHttp> {
  const token = options.token ?? process.env.LOOMDB_MCP_TOKEN;
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let port = options.port;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const refusal = checkOrigin(req, port) ?? checkToken(req, token);
    if (refusal) return refuse(res, refusal);
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== MCP_PATH) return refuse(res, { status: 404, message: `not found; the MCP endpoint is ${MCP_PATH}` });
    let body: unknown;
    if (req.method === 'POST') {
      try {
        body = await readJson(req);
      } catch (e) {
        return refuse(res, { status: 400, message: `Parse error: ${e instanceof Error ? e.message : String(e)}` });
      }
    }
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing) return existing.handleRequest(req, res, body);
    if (sessionId !== undefined) return refuse(res, { status: 404, message: 'Session not found' });
    if (req.method !== 'POST' || !isInitializeRequest(body)) return refuse(res, { status: 400, message: 'Bad Request: no valid session id; start with initialize' });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await createServer(context).connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const http: Server = createHttpServer((req, res) => {
    handle(req, res).catch((e) => {
      log(`http: ${e instanceof Error ? e.message : String(e)}`);
      if (!res.headersSent) refuse(res, { status: 500, message: 'Internal error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = http.address();
  port = typeof address === 'object' && address ? address.port : options.port;
  return {
    port,
    async close() {
      for (const t of sessions.values()) await t.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
