/**
 * End to end in real Chromium: the fixture extension (manifest v3, fixed
 * key) is loaded with --load-extension into Debian's chromium through
 * playwright-core, the host is installed for that browser profile with
 * `loomdb-native-host install --user-data-dir`, and the extension talks
 * to it with chrome.runtime.connectNative.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loomdb } from './cli-helper.js';
import { chatEvents, HOST_BIN, logLines, tempDir, TOPICS } from './host-client.js';

const CHROMIUM = process.env.LOOMDB_CHROMIUM ?? '/usr/bin/chromium';
const FIXTURE = resolve(__dirname, 'fixtures', 'extension');
const MIGRATE_BUNDLE = join(dirname(require.resolve('@loomdb/migrate/package.json')), 'dist', 'browser.global.js');

/** The id Chromium gives an extension: SHA-256 of its public key (DER), first 32 hex digits written with a–p. */
function extensionId(manifestPath: string): string {
  const key = Buffer.from((JSON.parse(readFileSync(manifestPath, 'utf8')) as { key: string }).key, 'base64');
  return [...createHash('sha256').update(key).digest('hex').slice(0, 32)].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
}

const ID = extensionId(join(FIXTURE, 'manifest.json'));
const tmp = tempDir('nh-chromium-');
/** The fixture with the migrate bundle beside it (the id comes from the manifest's key, not the path). */
const EXTENSION = join(tmp.dir, 'extension');
const profile = join(tmp.dir, 'profile');
let context: BrowserContext | undefined;

async function launch(): Promise<Worker> {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', `--disable-extensions-except=${EXTENSION}`, `--load-extension=${EXTENSION}`],
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 30_000 }));
  expect(new URL(worker.url()).host).toBe(ID);
  return worker;
}

async function closeBrowser(): Promise<void> {
  await context?.close();
  context = undefined;
}

/** Calls the host from inside the extension; the result, or the host's error as a thrown Error. */
function call(worker: Worker, type: string, params: Record<string, unknown> = {}): Promise<any> {
  return worker.evaluate(([t, p]) => (globalThis as any).loom.call(t, p), [type, params] as const);
}

async function settled(worker: Worker): Promise<void> {
  for (;;) {
    const s = await call(worker, 'stats');
    if (s.inbox.pending === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const contents = (page: { items: Array<{ node: { properties: { content: string } } }> }) => page.items.map((i) => i.node.properties.content);

beforeAll(() => {
  expect(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM} (apt-get install chromium, or set LOOMDB_CHROMIUM)`).toBe(true);
  expect(existsSync(MIGRATE_BUNDLE), `build @loomdb/migrate first: ${MIGRATE_BUNDLE}`).toBe(true);
  cpSync(FIXTURE, EXTENSION, { recursive: true });
  copyFileSync(MIGRATE_BUNDLE, join(EXTENSION, 'migrate.js'));
  const installed = spawnSync(process.execPath, [HOST_BIN, 'install', '--extension-id', ID, '--browser', 'chromium', '--user-data-dir', profile, '--path', tmp.db, '--log-file', tmp.log], { encoding: 'utf8' });
  expect(installed.status, installed.stderr).toBe(0);
});

afterAll(async () => {
  await closeBrowser();
  tmp.remove();
});

describe('the extension in Chromium talks to the host through connectNative', () => {
  const events = chatEvents(4, 75); // 300 messages in four sessions

  it('submits a multi-session chat and gets the right memories back', async () => {
    const worker = await launch();
    const hello = await call(worker, 'hello', { protocolVersion: 1 });
    expect(hello).toMatchObject({ protocolVersion: 1, database: { path: tmp.db } });
    for (let i = 0; i < events.length; i += 100) {
      const acks = await call(worker, 'submitEvents', { events: events.slice(i, i + 100) });
      expect(acks.every((a: { stored: boolean }) => a.stored)).toBe(true);
    }
    await settled(worker);

    for (const [s, topic] of TOPICS.entries()) {
      const similar = await call(worker, 'findSimilarMemories', { text: topic.user, k: 10 });
      expect(similar.items).toHaveLength(10);
      for (const item of similar.items) expect(item.node.properties.conversationId).toBe(`session-${s}`);
      expect(similar.items[0].node.properties.content).toContain(topic.user);

      const anchor = similar.items[0].node;
      const context = await call(worker, 'getConversationContext', { messageId: anchor.id, before: 2, after: 2, includeEntities: false });
      const at = context.items.findIndex((i: { node: { id: string } }) => i.node.id === anchor.id);
      expect(at).toBeGreaterThanOrEqual(0);
      const timestamps = context.items.map((i: { node: { properties: { timestamp: number } } }) => i.node.properties.timestamp);
      expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
      for (const item of context.items) expect(item.node.properties.conversationId).toBe(`session-${s}`);
      // The neighbours are the messages one second apart around the anchor, as submitted.
      const expected = events.filter((e) => e.conversationId === `session-${s}` && Math.abs((e.timestamp as number) - anchor.properties.timestamp) <= 2000).map((e) => e.content);
      expect(contents(context)).toEqual(expected);
    }
  });

  it('a reply over Chrome’s 1 MB limit arrives in chunks the extension reassembles', async () => {
    const worker = context ? (context.serviceWorkers()[0] as Worker) : await launch();
    const big = Array.from({ length: 3 }, (_, i) => ({ id: `attachment-${i}`, type: 'message', conversationId: 'attachments', role: 'user', content: `attachment ${i} ${'Zermatt ünïcødé 🦀 '.repeat(30_000)}`, timestamp: i }));
    await call(worker, 'submitEvents', { events: big });
    await settled(worker);
    const before = await worker.evaluate(() => (globalThis as any).loom.chunksReceived as number);
    const history = await call(worker, 'getChatHistory', { conversationId: 'attachments' });
    expect(contents(history)).toEqual(big.map((e) => e.content));
    expect(await worker.evaluate(() => (globalThis as any).loom.chunksReceived as number)).toBeGreaterThan(before + 1);
  });

  it('the CLI reads the same database while the host runs', async () => {
    expect(context).toBeDefined();
    const listed = await loomdb(['query', '--path', tmp.db, '--type', 'Message', '--where', 'conversationId=session-1', '--limit', '500']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.json.items).toHaveLength(75);
    const worker = context?.serviceWorkers()[0] as Worker;
    expect((await call(worker, 'stats')).database.nodes).toBeGreaterThan(300);
  });

  it('migrates the legacy IndexedDB memory through the host, once', async () => {
    const worker = context ? (context.serviceWorkers()[0] as Worker) : await launch();
    const records = await worker.evaluate(`(${fillLegacyMemory.toString()})(indexedDB, 'legacy-memory', 12, 10)`);
    expect(records).toBe(12 + 1 + 2 * 120);
    expect((await call(worker, 'hello', { legacyDatabase: 'legacy-memory' })).migration).toEqual({ state: 'needed', database: 'legacy-memory' });
    const { manifest, report } = await worker.evaluate(async () => {
      const g = globalThis as any;
      g.loom.connect();
      const sink = g.LoomMigrate.nativeMessagingSink(g.loom.port);
      const manifest = await g.LoomMigrate.exportIndexedDB('legacy-memory', { sink, batchSize: 50 });
      return { manifest, report: sink.report() };
    });
    for (const [store, { count, checksum }] of Object.entries(manifest.stores as Record<string, { count: number; checksum: string }>)) {
      expect(report.stores[store], store).toMatchObject({ exported: count, imported: count, checksum, verified: true });
    }
    expect(report.stores.messages.imported).toBe(120);
    expect((await call(worker, 'hello', { legacyDatabase: 'legacy-memory' })).migration).toEqual({ state: 'complete', database: 'legacy-memory' });
    // Through the weaver: found by text like live messages, in conversation order, the mentioned entity merged.
    const similar = await call(worker, 'findSimilarMemories', { text: 'marathon training: note 4 of chat 3', k: 3 });
    expect(similar.items[0].node.properties.eventId).toBe('idb:messages:"c3-m4"');
    const history = await call(worker, 'getChatHistory', { conversationId: 'idb:conversations:"c3"', limit: 20 });
    expect(history.items.map((i: { node: { properties: { eventId: string } } }) => i.node.properties.eventId)).toEqual(Array.from({ length: 10 }, (_, m) => `idb:messages:"c3-m${m}"`));
    const context3 = await call(worker, 'getConversationContext', { messageId: history.items[0].node.id, before: 0, after: 0, includeEntities: true });
    expect(JSON.stringify(context3)).toContain('Marco Rossi');
  });

  it('after Chromium restarts, the memory is still there', async () => {
    await closeBrowser();
    const worker = await launch();
    const history = await call(worker, 'getChatHistory', { conversationId: 'session-2', limit: 100 });
    expect(contents(history)).toEqual(events.filter((e) => e.conversationId === 'session-2').map((e) => e.content));
    const similar = await call(worker, 'findSimilarMemories', { text: TOPICS[3].assistant, k: 3 });
    for (const item of similar.items) expect(item.node.properties.conversationId).toBe('session-3');
    await closeBrowser();
    // Each browser session started a host, and each host stopped cleanly when Chromium closed its port.
    const log = logLines(tmp.log);
    expect(log.filter((l) => l.message === 'host started').length).toBe(2);
    await expect.poll(() => logLines(tmp.log).filter((l) => l.message === 'host stopped').length, { timeout: 10_000 }).toBe(2);
    expect(log.filter((l) => l.level === 'error')).toEqual([]);
  });
});

/** The legacy extension's IndexedDB layout, filled in the browser (self-contained: its source is sent to the worker). */
// IndexedDB typed loosely: this package compiles without the DOM library.
async function fillLegacyMemory(factory: { open(name: string, version: number): any }, name: string, conversations: number, perConversation: number): Promise<number> {
  const stores = ['conversations', 'messages', 'entities', 'embeddings'];
  const db = await new Promise<any>((resolve, reject) => {
    const request = factory.open(name, 1);
    request.onupgradeneeded = () => { for (const s of stores) request.result.createObjectStore(s, { keyPath: 'id' }); };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const topics = ['sourdough starter', 'ferry to Bellagio', 'Rust borrow checker', 'marathon training'];
  const tx = db.transaction(stores, 'readwrite');
  let records = 0;
  const put = (store: string, value: unknown) => { tx.objectStore(store).put(value); records++; };
  put('entities', { id: 'e0', name: 'Marco Rossi', kind: 'person' });
  const base = Date.UTC(2024, 4, 1);
  for (let c = 0; c < conversations; c++) {
    const topic = topics[c % topics.length];
    put('conversations', { id: `c${c}`, title: `About ${topic}`, source: 'chatgpt.com', createdAt: new Date(base + c * 86_400_000) });
    for (let m = 0; m < perConversation; m++) {
      const id = `c${c}-m${m}`;
      // Keys sort c3-m1 < c3-m10 < c3-m2: the order comes from the Date timestamps.
      put('messages', { id, conversationId: `c${c}`, role: m % 2 ? 'assistant' : 'user', content: `${topic}: note ${m} of chat ${c}`, timestamp: new Date(base + c * 86_400_000 + m * 60_000), entityIds: m === 0 ? ['e0'] : [] });
      put('embeddings', { id: `v-${id}`, messageId: id, vector: Float32Array.from({ length: 16 }, (_, i) => Math.sin(c * 31 + m * 7 + i)) });
    }
  }
  await new Promise<void>((resolve, reject) => { tx.oncomplete = () => resolve(); tx.onerror = () => reject(tx.error); });
  db.close();
  return records;
}
