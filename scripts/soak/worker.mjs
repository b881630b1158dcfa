// One soak worker process. argv: path role tag seed retainSeconds
//   writer  sync EmbeddedDB: nodes, write batches, transactions, queue steps, and
//           retirement: units older than retainSeconds are deleted whole, so the
//           live data levels off (0 keeps everything)
//   async   AsyncEmbeddedDB: concurrent write batches, and a weaver ingesting submitted events
//   reader  searches (vector, text), pages and stats, checking what it sees; backups;
//           closes its handle on request ('pause') so the parent can compact, reopens on 'resume'
//   compact compacts once and exits (the parent may kill it mid-way)
// Each acknowledged write is reported to the parent (process.send) only after
// its call returned: durability 'immediate', so it is on disk.
import { AsyncEmbeddedDB, EmbeddedDB } from '@loomdb/db';
import { WeaverController } from '@loomdb/weaver';
import { seededRandom } from '@loomdb/db/testing';
import { rmSync } from 'node:fs';
import { UNITS } from './units.mjs';

const [path, role, tag, seed, retainSeconds = '0'] = process.argv.slice(2);
const retainMs = Number(retainSeconds) * 1000;
const random = seededRandom(Number(seed));
const DIM = 16;
const words = ['memory', 'graph', 'vector', 'rust', 'kernel', 'garden', 'river', 'lantern', 'orbit', 'violin', 'harbor', 'pepper', 'quartz', 'meadow'];
const text = (n) => Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(' ');
const vector = () => Array.from({ length: DIM }, () => random() * 2 - 1);
/** Sends `msg` to the parent; `onSent` runs once it is written to the channel, so the parent will read it even if this process is killed next. */
const report = (msg, onSent) => process.send?.(msg, onSent);
let counts = {};
const count = (k) => (counts[k] = (counts[k] ?? 0) + 1);
setInterval(() => {
  report({ t: 'counts', counts });
  counts = {};
}, 1000).unref();

async function writer() {
  const db = EmbeddedDB.open(path, { busyTimeoutMs: 60_000 });
  const q = db.queue('soak');
  // Retiring deletes the oldest units of every kind whole, with a tombstone
  // naming them in the same transaction, so the checker can tell a
  // retirement that committed just before a kill from lost units. A later
  // retirement deletes the tombstones whose acknowledgement reached the
  // channel, so tombstones do not pile up.
  let acknowledgedTombs = [];
  let retirements = 0;
  const retire = () => {
    const cutoff = Date.now() - retainMs;
    const units = [];
    for (const [kind, { type }] of Object.entries(UNITS)) {
      for (const n of db.listNodes({ type, limit: 16, orderBy: 'createdAt' }).items) {
        if (n.createdAt < cutoff && !n.id.includes('/')) units.push({ id: n.id, kind });
      }
    }
    if (units.length === 0) return;
    const name = `del:${tag}-${retirements++}`;
    db.transaction((tx) => {
      for (const { id, kind } of units) for (const part of UNITS[kind].nodes) tx.deleteNode(`${id}${part}`);
      tx.insertNode({ id: name, type: 'Tomb', properties: { ids: units.map((u) => u.id) } });
      for (const old of acknowledgedTombs) tx.deleteNode(old);
    });
    acknowledgedTombs = [];
    report({ t: 'ack', kind: 'retire', units }, () => acknowledgedTombs.push(name));
  };
  for (let i = 0; ; i++) {
    // Let the channel drain (and the timers run) now and then.
    if (i % 16 === 0) await new Promise((res) => setImmediate(res));
    const r = random();
    const id = `${tag}-${i}`;
    if (r < 0.35) {
      db.insertNode({ id, type: 'Note', properties: { content: text(8), by: tag } });
      report({ t: 'ack', kind: 'node', id });
    } else if (r < 0.6) {
      db.writeBatch({
        insertNodes: [
          { id, type: 'Batch', properties: { content: text(6) } },
          { id: `${id}/x`, type: 'Batch', properties: { pad: 'x'.repeat(Math.floor(random() * 2000)) } },
        ],
        insertEdges: [{ id: `${id}/e`, type: 'PART', from: id, to: `${id}/x` }],
        insertEmbeddings: [
          { nodeId: id, vector: vector(), space: 'vec' },
          { nodeId: `${id}/x`, vector: vector(), space: 'vec' },
        ],
        queue: { name: 'soak', push: [{ id, payload: text(3) }] },
      });
      report({ t: 'ack', kind: 'batch', id });
    } else if (r < 0.8) {
      db.transaction((tx) => {
        for (const s of ['', '/b', '/c']) tx.insertNode({ id: `${id}${s}`, type: 'Tx', properties: { content: text(4) } });
        tx.insertEdge({ id: `${id}/e1`, type: 'R', from: id, to: `${id}/b` });
        tx.insertEdge({ id: `${id}/e2`, type: 'R', from: `${id}/b`, to: `${id}/c` });
      });
      report({ t: 'ack', kind: 'tx', id });
    } else if (r < 0.9) {
      if (retainMs > 0) retire();
    } else {
      const leased = q.lease({ holder: tag, max: 5, leaseMs: 30_000 });
      if (leased.length) q.ack(tag, leased.map((l) => l.seq));
      count('queueAcks');
    }
  }
}

async function asyncWorker() {
  const db = await AsyncEmbeddedDB.open(path, { busyTimeoutMs: 60_000 });
  const sync = EmbeddedDB.open(path, { busyTimeoutMs: 60_000 });
  const weaver = new WeaverController(sync, { batchSize: 32, leaseMs: 5000, maxLatencyMs: 5, pollMs: 50 });
  await weaver.initialize();
  let i = 0;
  const batches = async () => {
    for (;;) {
      const id = `${tag}-${i++}`;
      await db.writeBatch({
        insertNodes: [{ id, type: 'Async', properties: { content: text(5) } }],
        insertEmbeddings: [{ nodeId: id, vector: vector(), space: 'vec' }],
      });
      report({ t: 'ack', kind: 'async', id });
    }
  };
  const events = async () => {
    for (let n = 0; ; n++) {
      const group = Array.from({ length: 5 }, (_, j) => ({
        id: `${tag}-ev${n}-${j}`,
        type: 'message',
        conversationId: `conv${n % 7}`,
        role: j % 2 ? 'assistant' : 'user',
        content: `${text(10)} about #topic${n % 13} with @person${j}`,
        timestamp: Date.now(),
      }));
      const results = await weaver.submitEvents(group);
      for (const r of results) report({ t: 'ack', kind: 'event', id: r.id });
      // Woven messages are kept (the final check finds each once), so they are
      // the data that keeps growing: 10 events/s.
      await new Promise((res) => setTimeout(res, 500));
    }
  };
  await Promise.all([batches(), batches(), batches(), events()]);
}

async function reader() {
  let db = EmbeddedDB.open(path, { busyTimeoutMs: 60_000 });
  let paused = false;
  let backups = 0;
  process.on('message', (m) => {
    if (m.t === 'pause') {
      paused = true;
      db.close();
      report({ t: 'paused' });
    } else if (m.t === 'resume') {
      db = EmbeddedDB.open(path, { busyTimeoutMs: 60_000 });
      paused = false;
    } else if (m.t === 'backup') {
      const dest = `${path}.backup-${backups++}`;
      const restored = `${dest}-restored`;
      try {
        const started = Date.now();
        db.backup(dest);
        EmbeddedDB.restore(dest, restored);
        const copy = EmbeddedDB.open(restored);
        const ok = copy.verify().ok;
        copy.close();
        report({ t: 'backup', ok, ms: Date.now() - started });
      } catch (e) {
        report({ t: 'backup', ok: false, error: `${e.code ?? ''} ${e.message}` });
      }
      rmSync(dest, { recursive: true, force: true });
      rmSync(restored, { recursive: true, force: true });
    }
  });
  const wrong = (what) => report({ t: 'wrong', what });
  for (;;) {
    await new Promise((res) => setImmediate(res));
    if (paused) {
      await new Promise((res) => setTimeout(res, 50));
      continue;
    }
    const r = random();
    try {
      if (r < 0.4) {
        const query = vector();
        const search = () => db.searchVectors(query, { k: 10, space: 'vec' });
        const hits = search();
        count('vectorSearches');
        for (const h of hits) {
          // A hit may be retired between the search and this read, but then a
          // second search must not find it; and a unit goes whole: a root still
          // present after its part was missing is wrong.
          const node = db.getNode(h.id);
          if (node === null) {
            count('vectorHitsRetiredSince');
            if (search().some((again) => again.id === h.id)) wrong(`vector search found ${h.id} after it was deleted`);
          } else if (node.type === 'Batch' && !h.id.endsWith('/x') && db.getNode(`${h.id}/x`) === null && db.getNode(h.id) !== null) wrong(`batch ${h.id} without its part`);
        }
      } else if (r < 0.7) {
        const query = text(2);
        const search = () => db.searchText(query, { index: 'soak', k: 10 });
        const hits = search();
        count('textSearches');
        // A hit may be retired between the search and this read, but then a second search must not find it.
        for (const h of hits) {
          if (db.getNode(h.id) !== null) continue;
          count('textHitsRetiredSince');
          if (search().some((again) => again.id === h.id)) wrong(`text search found ${h.id} after it was deleted`);
        }
      } else if (r < 0.85) {
        const page = db.listNodes({ type: 'Tx', limit: 50, orderBy: 'createdAt', direction: 'desc' });
        count('pages');
        const roots = page.items.filter((n) => !n.id.includes('/'));
        for (const n of roots) if (db.getNode(`${n.id}/c`) === null && db.getNode(n.id) !== null) wrong(`transaction ${n.id} seen in part`);
      } else {
        db.stats();
        db.queue('soak').stats();
        count('stats');
      }
    } catch (e) {
      wrong(`${e.code ?? 'ERROR'} ${e.message}`);
    }
  }
}

async function compact() {
  const db = EmbeddedDB.open(path, { busyTimeoutMs: 60_000 });
  const started = Date.now();
  try {
    const result = db.compact();
    report({ t: 'compacted', ok: true, ms: Date.now() - started, result });
  } catch (e) {
    report({ t: 'compacted', ok: false, code: e.code, error: e.message });
  }
  db.close();
  process.exit(0);
}

process.on('disconnect', () => process.exit(0));
await { writer, async: asyncWorker, reader, compact }[role]();
