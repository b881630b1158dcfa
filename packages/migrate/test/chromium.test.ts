/**
 * The exporter in real Chromium: a page on a 127.0.0.1 origin fills
 * IndexedDB with the legacy layout (~20k records: Dates, Float32Array
 * vectors, Blobs, a compound key), runs the bundled exporter
 * (dist/browser.global.js) with a callback sink exposed by playwright, and
 * the Node importer consumes that stream as it arrives.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { MemoryQueries } from '@loomdb/query';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportChannel, importIndexedDBExport, nodeIdFor, type ExportManifest, type ExportMessage } from '../src/index.js';
import { fillLegacyDatabase, type LegacyFill } from './fixtures/legacy-db.js';
import { freshDb, nextChain, removeTemps } from './helpers.js';

const CHROMIUM = process.env.LOOMDB_CHROMIUM ?? '/usr/bin/chromium';
const BUNDLE = fileURLToPath(new URL('../dist/browser.global.js', import.meta.url));
const FILL: LegacyFill = { name: 'memory', conversations: 400, messagesPerConversation: 24, entities: 50, dimensions: 64, badMessages: 3 };

let server: Server;
let origin: string;
let browser: Browser;

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM} (apt-get install chromium, or set LOOMDB_CHROMIUM)`).toBe(true);
  expect(existsSync(BUNDLE), `build first (npm run build): ${BUNDLE}`).toBe(true);
  const bundle = readFileSync(BUNDLE, 'utf8');
  server = createServer((req, res) => {
    if (req.url === '/migrate.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script src="/migrate.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  removeTemps();
});

describe('exportIndexedDB in Chromium → importIndexedDBExport in Node', () => {
  it('moves ~20k records across stores, verified, searchable and in conversation order', async () => {
    const page = await browser.newPage();
    await page.goto(origin);
    const records = await page.evaluate(`(${fillLegacyDatabase.toString()})(indexedDB, ${JSON.stringify(FILL)})`) as number;
    expect(records).toBeGreaterThanOrEqual(20_000);

    const channel = new ExportChannel();
    const seen: ExportMessage[] = [];
    await page.exposeFunction('loomSink', (message: ExportMessage) => {
      seen.push(message);
      return channel.write(message);
    });
    const db = freshDb();
    const importing = importIndexedDBExport(db, channel);
    const manifest = await page.evaluate(`LoomMigrate.exportIndexedDB('memory', { batchSize: 500, sink: LoomMigrate.callbackSink((m) => window.loomSink(m)) })`) as ExportManifest;
    channel.end();
    const report = await importing;

    expect(Object.values(manifest.stores).reduce((n, s) => n + s.count, 0)).toBe(records);
    for (const [store, expected] of Object.entries(manifest.stores)) {
      expect(report.stores[store], store).toMatchObject({ exported: expected.count, checksum: expected.checksum, verified: true });
    }
    expect(report.stores.messages).toMatchObject({ exported: 9600, imported: 9597, skipped: 3 });
    expect(report.stores.embeddings).toMatchObject({ imported: 9597, skipped: 3 });
    expect(report.stores.attachments).toMatchObject({ exported: 400, skipped: 400 });
    expect([...db.iterateNodes({ type: 'Message' })]).toHaveLength(9597);

    // Vectors arrived bit for bit from a Float32Array in the page, and are searchable.
    const id = nodeIdFor('messages', 'c00123-m007');
    const vector = db.getEmbedding(id, { space: 'legacy' })!;
    expect(vector).toHaveLength(64);
    expect(db.searchVectors(vector, { space: 'legacy', k: 3 })[0]!.id).toBe(id);

    // Conversation order comes from the messages' Date timestamps.
    const history = await new MemoryQueries(db).getChatHistory(nodeIdFor('conversations', 'c00123'), { limit: 50 });
    const inOrder = Array.from({ length: 24 }, (_, m) => nodeIdFor('messages', `c00123-m${String(m).padStart(3, '0')}`));
    expect(history.items.map((i) => i.node.id)).toEqual(inOrder);
    expect(nextChain(db, inOrder[0]!)).toEqual(inOrder);
    expect(seen.at(-1)).toEqual(manifest);
    db.close();
    await page.close();
  });
});
