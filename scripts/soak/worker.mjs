// One soak worker process. argv: path role tag seed
//   writer  sync EmbeddedDB: nodes, write batches, transactions, deletes, queue steps
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

const [path, role, tag, seed] = process.argv.slice(2);
const random = seededRandom(Number(seed));
const DIM = 16;
const words = ['memory', 'graph', 'vector', 'rust', 'kernel', 'garden', 'river', 'lantern', 'orbit', 'violin', 'harbor', 'pepper', 'quartz', 'meadow'];
const text = (n) => Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(' ');
const vector = () => Array.from({ length: DIM }, () => random() * 2 - 1);
const report = (msg) => process.send?.(msg);
let counts = {};
const count = (k) => (counts[k] = (counts[k] ?? 0) + 1);
setInterval(() => {
  report({ t: 'counts', counts });
  counts = {};
}, 1000).unref();

async function writer() {
  const db = EmbeddedDB.open(path, { busyTimeoutMs: 60_000 });
  const q = db.queue('soak');
  const mine = [];
  for (let i = 0; ; i++) {
    const r = random();
    const id = `${tag}-${i}`;
    if (r < 0.35) {
      db.insertNode({ id, type: 'Message', properties: { content: text(8), by: tag } });
      mine.push(id);
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
    } else if (r < 0.9 && mine.length > 0) {
      // The delete and a tombstone in one transaction, so the checker can
      // tell a delete that committed just before a kill from a lost node.
      const victim = mine.splice(Math.floor(random() * mine.length), 1)[0];
      db.transaction((tx) => {
        tx.deleteNode(victim);
        tx.insertNode({ id: `del:${victim}`, type: 'Tomb' });
      });
      report({ t: 'ack', kind: 'delete', id: victim });
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
      await new Promise((res) => setTimeout(res, 20));
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
        const hits = db.searchVectors(vector(), { k: 10, space: 'vec' });
        count('vectorSearches');
        for (const h of hits) {
          // Batch and async nodes are never deleted: a hit must resolve, and a batch root must have its part.
          const node = db.getNode(h.id);
          if (node === null) wrong(`vector hit ${h.id} has no node`);
          else if (node.type === 'Batch' && !h.id.endsWith('/x') && db.getNode(`${h.id}/x`) === null) wrong(`batch ${h.id} without its part`);
        }
      } else if (r < 0.7) {
        const hits = db.searchText(text(2), { index: 'soak', k: 10 });
        count('textSearches');
        // A hit may be deleted by the writer between the search and this read.
        for (const h of hits) if (db.getNode(h.id) === null) count('textHitsDeletedSince');
      } else if (r < 0.85) {
        const page = db.listNodes({ type: 'Tx', limit: 50, orderBy: 'createdAt', direction: 'desc' });
        count('pages');
        const roots = page.items.filter((n) => !n.id.includes('/'));
        for (const n of roots) if (db.getNode(`${n.id}/c`) === null) wrong(`transaction ${n.id} seen in part`);
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
