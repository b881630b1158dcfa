import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export const BIN = resolve(__dirname, '../bin/loomdb-mcp.cjs');
/** The reference server's entry (its package exports nothing, so it is found through its package.json). */
export const REFERENCE_BIN = join(dirname(createRequire(__filename).resolve('@modelcontextprotocol/server-memory/package.json')), 'dist/index.js');

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `loomdb-mcp-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A connected SDK client on a server process spawned over stdio; `stderr` collects the server's log. */
export async function stdioClient(command: string, args: string[], env: Record<string, string> = {}): Promise<{ client: Client; stderr: () => string; pid: number; close(): Promise<void> }> {
  const transport = new StdioClientTransport({ command, args, env: { ...(process.env as Record<string, string>), ...env }, stderr: 'pipe' });
  let log = '';
  transport.stderr?.on('data', (d) => (log += String(d)));
  const client = new Client({ name: 'loomdb-mcp-test', version: '0.0.0' });
  await client.connect(transport);
  return { client, stderr: () => log, pid: transport.pid as number, close: () => client.close() };
}

export const loomdb = (dbPath: string) => stdioClient(process.execPath, [BIN, '--path', dbPath]);
export const reference = (file: string) => stdioClient(process.execPath, [REFERENCE_BIN], { MEMORY_FILE_PATH: file });

/** Calls a tool and returns its result, typed loosely (tests look at structuredContent). */
export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult & { structuredContent?: any }> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult & { structuredContent?: any };
}

/** Polls `fn` until it returns a truthy value (the weaver applies remembered messages in the background). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const text = (r: CallToolResult) => (r.content[0] as { text: string }).text;

/** A loomdb-mcp --http process on a free port, and an SDK client connected to it over Streamable HTTP. */
export async function httpServer(dbPath: string, env: Record<string, string> = {}): Promise<{ url: URL; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [BIN, '--http', '--port', '0', '--path', dbPath], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  const url = await new Promise<URL>((resolveUrl, reject) => {
    let log = '';
    child.stderr.on('data', (d) => {
      log += String(d);
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(log);
      if (m) resolveUrl(new URL(m[1] as string));
    });
    child.once('exit', (code) => reject(new Error(`loomdb-mcp --http exited with ${code}: ${log}`)));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      // The HTTP server must not print on stdout either (it is never the protocol there, but logs belong on stderr).
      if (out !== '') throw new Error(`loomdb-mcp wrote to stdout: ${out}`);
    },
  };
}

export async function httpClient(url: URL, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'loomdb-mcp-test', version: '0.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
  return client;
}
