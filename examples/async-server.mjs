// AsyncEmbeddedDB behind a node:http handler: every call runs off the JS thread.
// Run: node examples/async-server.mjs   (starts on a free port, calls itself, stops)
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsyncEmbeddedDB } from '@loomdb/db';

const db = await AsyncEmbeddedDB.open(join(mkdtempSync(join(tmpdir(), 'loomdb-server-')), 'server.loomdb'));

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'POST' && url.pathname === '/notes') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const node = await db.insertNode({ type: 'Note', properties: { text: String(JSON.parse(body).text) } });
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(node));
    } else if (req.method === 'GET' && url.pathname.startsWith('/notes/')) {
      const node = await db.getNode(decodeURIComponent(url.pathname.slice('/notes/'.length)));
      res.writeHead(node ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(node));
    } else {
      res.writeHead(404).end();
    }
  } catch (e) {
    res.writeHead(e?.code === 'INVALID_ARGUMENT' ? 400 : 500, { 'content-type': 'application/json' }).end(JSON.stringify({ code: e?.code, message: e?.message }));
  }
});

await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}`;
const created = await (await fetch(`${base}/notes`, { method: 'POST', body: JSON.stringify({ text: 'hello from http' }) })).json();
const read = await fetch(`${base}/notes/${encodeURIComponent(created.id)}`);
assert.equal(read.status, 200);
assert.equal((await read.json()).properties.text, 'hello from http');
assert.equal((await fetch(`${base}/notes/nope`)).status, 404);
console.log('created and read back:', created.id);
server.close();
await db.close();
