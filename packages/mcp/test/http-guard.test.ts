import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, httpClient, httpServer, tempDir } from './helpers';

const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '0' } } };

async function post(url: URL, headers: Record<string, string>) {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(initialize) });
}

describe('the HTTP endpoint', () => {
  const dir = tempDir('http');
  let server: Awaited<ReturnType<typeof httpServer>>;
  const token = 'test-token-1234';

  beforeAll(async () => {
    server = await httpServer(join(dir.path, 'db'), { LOOMDB_MCP_TOKEN: token });
  });
  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  it('is bound to 127.0.0.1 only', () => {
    expect(server.url.hostname).toBe('127.0.0.1');
  });

  it('refuses a request without the bearer token, or with a wrong one', async () => {
    expect((await post(server.url, {})).status).toBe(401);
    expect((await post(server.url, { authorization: 'Bearer wrong-token-123' })).status).toBe(401);
  });

  it('refuses a foreign Origin and a foreign Host (DNS rebinding)', async () => {
    const auth = { authorization: `Bearer ${token}` };
    expect((await post(server.url, { ...auth, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(server.url, { ...auth, origin: `http://localhost:${server.url.port}.evil.example` })).status).toBe(403);
    const rebound = new URL(server.url);
    // fetch sets Host from the URL; a rebound name resolving to 127.0.0.1 is what an attacker's page would send.
    rebound.hostname = 'localhost';
    expect((await post(rebound, { ...auth, origin: 'http://attacker.localhost' })).status).toBe(403);
    expect((await post(server.url, { ...auth, origin: `http://localhost:${server.url.port}` })).status).toBe(200);
  });

  it('answers a body that is not JSON with 400 and keeps serving', async () => {
    const r = await fetch(server.url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{"jsonrpc":' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/^Parse error/);
  });

  it('serves an SDK client that sends the token', async () => {
    const client = await httpClient(server.url, { authorization: `Bearer ${token}` });
    expect((await call(client, 'read_graph')).structuredContent).toEqual({ entities: [], relations: [] });
    await client.close();
  });
});
