// npm run soak -- [--minutes 30] [--out bench/results] [--seed 1] [--kill-every 15] [--retain 120] [--dir <tmp>]
//
// Mixed load on one database from 3 processes (scripts/soak/worker.mjs):
// a sync writer (nodes, write batches, transactions, queue steps, and the
// retirement of units older than --retain seconds, so the live data levels
// off and memory and file size can be flat),
// an async writer with a weaver ingesting events, and a long-lived reader
// (vector and text searches, pages, stats; backups on request). Every
// --kill-every seconds one writer process is killed with SIGKILL and
// restarted; every acknowledged write of the killed process is checked
// (lost if absent, partial if in part) and units after its last
// acknowledgement must be whole or absent. Now and then every writer is
// killed, the reader closes its handle and a compaction runs in its own
// process (killed mid-way every other time). RSS and descriptor counts of
// each process and the data file size are sampled every 5 s. At the end the
// weaver inbox is drained and every acknowledged event must be in the graph
// once. Results: <out>/soak.json and <out>/soak.md.
import { fork, execSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedDB } from '@loomdb/db';
import { KIND_OF_TYPE, UNITS } from './units.mjs';
import { WeaverController } from '@loomdb/weaver';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const minutes = Number(option('minutes', '30'));
const out = resolve(root, option('out', 'bench/results'));
const seed = Number(option('seed', '1'));
const killEvery = Number(option('kill-every', '15')) * 1000;
const compactEvery = Number(option('compact-every', String(Math.max(60, (minutes * 60) / 8)))) * 1000;
const backupEvery = Number(option('backup-every', '60')) * 1000;
const retainSeconds = Number(option('retain', '120'));
if (!(minutes > 0)) throw new Error(`--minutes must be a positive number, got ${option('minutes')}`);
if (!(retainSeconds >= 0)) throw new Error(`--retain must be a number of seconds (0 keeps everything), got ${option('retain')}`);
const workDir = option('dir', undefined) ?? mkdtempSync(join(tmpdir(), 'loomdb-soak-'));
const path = join(workDir, 'db');
const log = (...a) => console.error(`[soak ${((Date.now() - t0) / 1000).toFixed(0)}s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- setup
const t0 = Date.now();
{
  const db = EmbeddedDB.open(path);
  db.ensureSpace('vec', { dimensions: 16, metric: 'cosine' });
  db.createTextIndex('soak', { types: Object.values(UNITS).map((u) => u.type), fields: ['content'] });
  db.close();
}

// ---- bookkeeping
const totals = {
  rounds: 0,
  killsByRole: { writer: 0, async: 0, reader: 0 },
  crashes: [],
  lost: [],
  partial: [],
  wrong: [],
  verify: { runs: 0, failed: [] },
  compactions: { finished: 0, killed: 0, failed: [] },
  backups: { ok: 0, failed: [] },
  acknowledged: {},
  retiredUnits: 0,
  reads: {},
  checkedUnits: 0,
};
/** Per incarnation tag: the highest unit index acknowledged, and its live acknowledged units (id -> kind). */
const acks = new Map();
/** Units whose retirement was acknowledged and not yet checked (id -> kind). */
const retired = new Map();
const tagOf = (id) => id.slice(0, id.lastIndexOf('-'));
const indexOf = (id) => Number(id.slice(id.lastIndexOf('-') + 1));
const events = new Set();
const samples = [];
let incarnation = 0;
const workers = new Map(); // role -> { proc, tag, role, killedByUs }

function spawnWorker(role) {
  const tag = `${role[0]}${incarnation++}`;
  const proc = fork(join(here, 'worker.mjs'), [path, role, tag, String(seed * 1000 + incarnation), String(retainSeconds)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const w = { proc, tag, role, killedByUs: false, started: Date.now(), exited: null };
  acks.set(tag, { last: -1, units: new Map() });
  // Settled once the process is gone and every message it sent was handled
  // (the channel closes after the last one), so the checks see every acknowledgement.
  const disconnected = new Promise((res) => proc.on('disconnect', res));
  w.exited = new Promise((res) =>
    proc.on('exit', async (code, signal) => {
      await disconnected;
      if (!w.killedByUs && !stopping) {
        totals.crashes.push({ role, tag, code, signal, stderr });
        log(`CRASH ${tag}: ${code ?? signal}\n${stderr}`);
        if (workers.get(role) === w) workers.set(role, spawnWorker(role));
      }
      res({ code, signal });
    }),
  );
  proc.on('message', (m) => {
    if (m.t === 'ack') {
      totals.acknowledged[m.kind] = (totals.acknowledged[m.kind] ?? 0) + 1;
      if (m.kind === 'event') events.add(m.id);
      else if (m.kind === 'retire') {
        totals.retiredUnits += m.units.length;
        for (const u of m.units) {
          acks.get(tagOf(u.id))?.units.delete(u.id);
          retired.set(u.id, u.kind);
        }
      } else {
        const entry = acks.get(tag);
        entry.units.set(m.id, m.kind);
        entry.last = Math.max(entry.last, indexOf(m.id));
      }
    } else if (m.t === 'counts') {
      for (const [k, n] of Object.entries(m.counts)) totals.reads[k] = (totals.reads[k] ?? 0) + n;
    } else if (m.t === 'wrong') {
      totals.wrong.push({ tag, what: m.what });
      log(`WRONG ${tag}: ${m.what}`);
    } else if (m.t === 'backup') {
      if (m.ok) totals.backups.ok++;
      else totals.backups.failed.push(m.error ?? 'restored copy did not verify');
    }
    w.onMessage?.(m);
  });
  return w;
}

async function kill(role) {
  const w = workers.get(role);
  w.killedByUs = true;
  w.proc.kill('SIGKILL');
  await w.exited;
  totals.rounds++;
  totals.killsByRole[role]++;
  return w;
}

// ---- checks
function whole(db, kind, id) {
  const u = UNITS[kind];
  const parts = [
    ...u.nodes.map((x) => db.getNode(`${id}${x}`)),
    ...u.edges.map((x) => db.getEdge(`${id}${x}`)),
    ...u.vectors.map((x) => db.getEmbedding(`${id}${x}`, { space: 'vec' })),
  ];
  const present = parts.filter((p) => p !== null).length;
  return present === parts.length ? 'whole' : present === 0 ? 'absent' : 'partial';
}

/** Ids named by a tombstone: retired by a transaction that committed, acknowledged or not. */
function tombstoned(db) {
  const ids = new Set();
  for (const t of db.iterateNodes({ type: 'Tomb' })) for (const id of t.properties.ids) ids.add(id);
  return ids;
}

/** Checks every acknowledged unit of `tag`, the units after its last acknowledgement, and every acknowledged retirement. */
function checkIncarnation(db, tag) {
  const { last, units } = acks.get(tag);
  const tombs = tombstoned(db);
  for (const [id, kind] of units) {
    totals.checkedUnits++;
    const state = whole(db, kind, id);
    if (state === 'absent' && tombs.has(id)) units.delete(id);
    else if (state === 'absent') note(totals.lost, { tag, kind, id });
    else if (state === 'partial') note(totals.partial, { tag, kind, id, acknowledged: true });
  }
  // Units in flight at the kill: whole or absent.
  for (let i = last + 1; i <= last + 12; i++) {
    const id = `${tag}-${i}`;
    const node = db.getNode(id);
    if (node === null) continue;
    totals.checkedUnits++;
    const kind = KIND_OF_TYPE[node.type];
    if (whole(db, kind, id) === 'partial') note(totals.partial, { tag, kind, id, acknowledged: false });
  }
  // An acknowledged retirement took the whole unit.
  for (const [id, kind] of retired) {
    totals.checkedUnits++;
    const state = whole(db, kind, id);
    if (state === 'whole') note(totals.lost, { tag: tagOf(id), kind: 'retirement', id });
    else if (state === 'partial') note(totals.partial, { tag: tagOf(id), kind: 'retirement', id, acknowledged: true });
  }
  retired.clear();
}

/** Records a problem once, however many checks see it. */
const noted = new Set();
function note(list, problem) {
  const key = `${list === totals.lost ? 'lost' : 'partial'} ${problem.kind} ${problem.id}`;
  if (noted.has(key)) return;
  noted.add(key);
  list.push(problem);
  log(`${key} (${problem.tag ?? ''})`);
}

function verify(db, when) {
  totals.verify.runs++;
  const report = db.verify();
  if (!report.ok) {
    totals.verify.failed.push({ when, errors: report.errors.slice(0, 5) });
    log(`VERIFY FAILED ${when}`, report.errors.slice(0, 3));
  }
}

// ---- sampling
function procStats(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    // RssFile is mostly the mapped data file (LMDB reads through the map); RssAnon is the process's own heap.
    return { rss: kb('VmRSS'), rssAnon: kb('RssAnon'), rssFile: kb('RssFile'), fds };
  } catch {
    return null;
  }
}

function sample() {
  const t = (Date.now() - t0) / 1000;
  const file = existsSync(join(path, 'data.mdb')) ? statSync(join(path, 'data.mdb')).size : 0;
  const row = { t, fileBytes: file, soak: procStats(process.pid) };
  for (const [role, w] of workers) row[role] = { tag: w.tag, ageS: (Date.now() - w.started) / 1000, ...(procStats(w.proc.pid) ?? {}) };
  samples.push(row);
}

// ---- compaction round: stop every writer, pause the reader, compact in a child (killed mid-way every other time)
let compactRound = 0;
let lastCompactMs = 2000;
async function compactionRound() {
  for (const role of ['writer', 'async']) {
    const w = await kill(role);
    const db = EmbeddedDB.open(path);
    checkIncarnation(db, w.tag);
    db.close();
  }
  const reader = workers.get('reader');
  await new Promise((res) => {
    reader.onMessage = (m) => m.t === 'paused' && res();
    reader.proc.send({ t: 'pause' });
  });
  reader.onMessage = undefined;
  const killMidway = compactRound++ % 2 === 1;
  const child = fork(join(here, 'worker.mjs'), [path, 'compact', 'c', '0'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let result = null;
  child.on('message', (m) => m.t === 'compacted' && (result = m));
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  if (killMidway) setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * lastCompactMs));
  const { signal } = await exited;
  if (signal === 'SIGKILL') {
    totals.compactions.killed++;
    totals.rounds++;
  } else if (result?.ok) {
    totals.compactions.finished++;
    lastCompactMs = Math.max(200, result.ms);
  } else totals.compactions.failed.push(result ?? { signal });
  const db = EmbeddedDB.open(path);
  verify(db, `after compaction round ${compactRound} (${signal === 'SIGKILL' ? 'killed' : 'finished'})`);
  // Everything acknowledged so far is still there.
  for (const tag of acks.keys()) if (![...workers.values()].some((w) => w.tag === tag)) checkIncarnation(db, tag);
  db.close();
  reader.proc.send({ t: 'resume' });
  for (const role of ['writer', 'async']) workers.set(role, spawnWorker(role));
  log(`compaction round ${compactRound}: ${signal === 'SIGKILL' ? 'killed mid-way' : result?.ok ? `finished in ${result.ms} ms` : 'failed'}`);
}

// ---- run
let stopping = false;
for (const role of ['reader', 'writer', 'async']) workers.set(role, spawnWorker(role));
const end = t0 + minutes * 60_000;
let nextKill = Date.now() + killEvery;
let nextCompact = Date.now() + compactEvery;
let nextBackup = Date.now() + backupEvery / 2;
let nextSample = Date.now();
let victim = 0;
while (Date.now() < end) {
  await sleep(200);
  const now = Date.now();
  if (now >= nextSample) {
    sample();
    nextSample = now + 5000;
  }
  if (now >= nextBackup) {
    workers.get('reader').proc.send({ t: 'backup' });
    nextBackup = now + backupEvery;
  }
  if (now >= nextCompact && end - now > 20_000) {
    await compactionRound();
    nextCompact = Date.now() + compactEvery;
    nextKill = Date.now() + killEvery;
    continue;
  }
  if (now >= nextKill) {
    const role = victim++ % 2 === 0 ? 'writer' : 'async';
    const w = await kill(role);
    const db = EmbeddedDB.open(path);
    checkIncarnation(db, w.tag);
    if (totals.rounds % 4 === 0) verify(db, `round ${totals.rounds}`);
    db.close();
    workers.set(role, spawnWorker(role));
    nextKill = Date.now() + killEvery;
    log(`round ${totals.rounds}: killed ${w.tag}; lost ${totals.lost.length}, partial ${totals.partial.length}, wrong ${totals.wrong.length}, crashes ${totals.crashes.length}`);
  }
}
sample();

// ---- final: kill the writers (a last round), stop the reader, drain the inbox, check everything
for (const role of ['writer', 'async']) {
  const w = await kill(role);
  const db = EmbeddedDB.open(path);
  checkIncarnation(db, w.tag);
  db.close();
}
stopping = true;
const reader = workers.get('reader');
reader.proc.disconnect();
await reader.exited;
const db = EmbeddedDB.open(path);
verify(db, 'final');
const weaver = new WeaverController(db, { leaseMs: 5000, maxLatencyMs: 5 });
await weaver.initialize();
await weaver.shutdown({ drain: true });
const inbox = db.queue('weaver-inbox').stats();
const seen = new Map();
for (const m of db.iterateNodes({ type: 'Message' })) {
  const e = m.properties.eventId;
  if (typeof e === 'string') seen.set(e, (seen.get(e) ?? 0) + 1);
}
const lostEvents = [...events].filter((id) => !seen.has(id));
const repeatedEvents = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
for (const id of lostEvents) note(totals.lost, { kind: 'event', id });
for (const id of repeatedEvents) note(totals.partial, { kind: 'event written twice', id });
// Every acknowledged unit once more, after every compaction and restart.
const lostBefore = totals.lost.length;
for (const tag of acks.keys()) checkIncarnation(db, tag);
const lostAtEnd = totals.lost.length - lostBefore;
verify(db, 'after drain');
const stats = db.stats();
db.close();

// ---- report
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : null;
};
/** `value(sample)` over the run: `key.field` of each sample, or the top-level `key` when `field` is absent. */
function trend(key, field) {
  const value = (r) => (field === undefined ? r[key] : r[key]?.[field]);
  const warmup = Math.min(120, (samples.at(-1)?.t ?? 0) / 5);
  const values = samples.filter((r) => r.t > warmup).map(value).filter((v) => v !== undefined);
  if (values.length === 0) return { first: null, last: null, max: null, change: null };
  const n = Math.max(1, Math.floor(values.length / 5));
  const first = median(values.slice(0, n));
  const last = median(values.slice(-n));
  const max = Math.max(...values);
  return { first, last, max, change: first ? Number(((last - first) / first).toFixed(3)) : null };
}
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { cwd: root, encoding: 'utf8' }).trim();
} catch {}
const durationS = Math.round((Date.now() - t0) / 1000);
const acknowledgedTotal = Object.values(totals.acknowledged).reduce((a, b) => a + b, 0);
const readsTotal = Object.values(totals.reads).reduce((a, b) => a + b, 0);
const result = {
  suite: 'soak',
  date: new Date().toISOString(),
  source: commit,
  machine: { cpus: cpus().length, node: process.version, platform: process.platform },
  options: { minutes, seed, retainSeconds, killEverySeconds: killEvery / 1000, compactEverySeconds: compactEvery / 1000, backupEverySeconds: backupEvery / 1000 },
  durationSeconds: durationS,
  counts: {
    rounds: totals.rounds,
    kills: totals.killsByRole,
    cases: acknowledgedTotal + readsTotal + totals.checkedUnits,
    acknowledgedWrites: totals.acknowledged,
    reads: totals.reads,
    retiredUnits: totals.retiredUnits,
    checkedUnits: totals.checkedUnits,
    crashes: totals.crashes.length,
    lostAcknowledgedWrites: totals.lost.length,
    lostAtFinalCheck: lostAtEnd,
    partialWrites: totals.partial.length,
    wrongAnswers: totals.wrong.length,
    verifyRuns: totals.verify.runs,
    verifyFailures: totals.verify.failed.length,
    compactions: { finished: totals.compactions.finished, killedMidway: totals.compactions.killed, failed: totals.compactions.failed.length },
    backups: { restoredAndVerified: totals.backups.ok, failed: totals.backups.failed.length },
    events: { acknowledged: events.size, inGraph: seen.size, lost: lostEvents.length, writtenTwice: repeatedEvents.length, inboxAfterDrain: inbox },
  },
  final: { nodes: stats.nodes, edges: stats.edges, spaces: stats.spaces.map((s) => ({ name: s.name, embeddings: s.embeddings })) },
  trend: {
    note: 'median of the first vs the last fifth of the samples after the first 2 minutes (a fifth of a shorter run); the reader lives the whole run, writer processes are restarted at every kill',
    readerRssBytes: trend('reader', 'rss'),
    readerRssAnonBytes: trend('reader', 'rssAnon'),
    readerRssFileBytes: trend('reader', 'rssFile'),
    readerFds: trend('reader', 'fds'),
    soakRssBytes: trend('soak', 'rss'),
    soakFds: trend('soak', 'fds'),
    writerRssAnonBytes: trend('writer', 'rssAnon'),
    asyncRssAnonBytes: trend('async', 'rssAnon'),
    writerRssBytes: trend('writer', 'rss'),
    asyncRssBytes: trend('async', 'rss'),
    asyncFds: trend('async', 'fds'),
    fileBytes: trend('fileBytes'),
  },
  problems: { crashes: totals.crashes, lost: totals.lost.slice(0, 50), partial: totals.partial.slice(0, 50), wrong: totals.wrong.slice(0, 50), verify: totals.verify.failed, compactions: totals.compactions.failed, backups: totals.backups.failed },
  samples: samples.filter((_, i) => i % 6 === 0 || i === samples.length - 1),
};
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
const mb = (b) => (b == null ? '—' : `${(b / 1048576).toFixed(1)} MB`);
const pct = (x) => (x == null ? '—' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`);
const c = result.counts;
const tr = result.trend;
const md = `# Soak

\`npm run soak -- --minutes ${minutes} --retain ${retainSeconds}\` — ${result.date}, source ${commit}, ${result.machine.cpus} cores, Node ${process.version}; ran ${Math.round(durationS / 60)} min.

Three processes on one database: a sync writer (nodes, write batches, transactions, queue lease/ack, and ${retainSeconds > 0 ? `the retirement of units older than ${retainSeconds} s — each deleted whole in one transaction — so the live data levels off` : 'no retirement: the data grows for the whole run'}), an async writer (3 write batches in flight) with a weaver ingesting 10 submitted events/s (woven messages are kept, so they grow), and a reader (vector and text searches, pages, stats; a backup restored and verified every ${backupEvery / 1000} s). A writer process is killed with SIGKILL every ${killEvery / 1000} s and restarted; about every ${Math.round(compactEvery / 1000)} s both writers are killed, the reader closes its handle and a compaction runs in its own process (killed mid-way every other time).

| count | value |
| --- | --- |
| rounds (kill -9 of a writer or a compaction) | ${c.rounds} (writer ${c.kills.writer}, async ${c.kills.async}, compaction ${c.compactions.killedMidway}) |
| cases (acknowledged writes + reads + unit checks) | ${c.cases.toLocaleString('en')} |
| acknowledged writes | ${Object.entries(c.acknowledgedWrites).map(([k, n]) => `${k} ${n.toLocaleString('en')}`).join(', ')} (retirements took ${c.retiredUnits.toLocaleString('en')} units) |
| reads | ${Object.entries(c.reads).map(([k, n]) => `${k} ${n.toLocaleString('en')}`).join(', ')} |
| crashes (a process dying unasked) | ${c.crashes} |
| lost acknowledged writes | ${c.lostAcknowledgedWrites} (of which at the final check ${c.lostAtFinalCheck}) |
| partial writes | ${c.partialWrites} |
| wrong answers seen by the reader | ${c.wrongAnswers} |
| verify runs / failures | ${c.verifyRuns} / ${c.verifyFailures} |
| compactions finished / killed mid-way / failed | ${c.compactions.finished} / ${c.compactions.killedMidway} / ${c.compactions.failed} |
| backups restored and verified / failed | ${c.backups.restoredAndVerified} / ${c.backups.failed} |
| weaver events acknowledged / in the graph / lost / twice | ${c.events.acknowledged} / ${c.events.inGraph} / ${c.events.lost} / ${c.events.writtenTwice} |

| trend (median of first → last fifth of the samples, after 2 min) | first | last | max | change |
| --- | --- | --- | --- | --- |
| reader RSS (one process, whole run) | ${mb(tr.readerRssBytes.first)} | ${mb(tr.readerRssBytes.last)} | ${mb(tr.readerRssBytes.max)} | ${pct(tr.readerRssBytes.change)} |
| reader anonymous RSS (heap) | ${mb(tr.readerRssAnonBytes.first)} | ${mb(tr.readerRssAnonBytes.last)} | ${mb(tr.readerRssAnonBytes.max)} | ${pct(tr.readerRssAnonBytes.change)} |
| reader file-backed RSS (mapped data) | ${mb(tr.readerRssFileBytes.first)} | ${mb(tr.readerRssFileBytes.last)} | ${mb(tr.readerRssFileBytes.max)} | ${pct(tr.readerRssFileBytes.change)} |
| reader descriptors | ${tr.readerFds.first} | ${tr.readerFds.last} | ${tr.readerFds.max} | ${pct(tr.readerFds.change)} |
| soak parent RSS | ${mb(tr.soakRssBytes.first)} | ${mb(tr.soakRssBytes.last)} | ${mb(tr.soakRssBytes.max)} | ${pct(tr.soakRssBytes.change)} |
| soak parent descriptors | ${tr.soakFds.first} | ${tr.soakFds.last} | ${tr.soakFds.max} | ${pct(tr.soakFds.change)} |
| writer RSS (restarted at kills) | ${mb(tr.writerRssBytes.first)} | ${mb(tr.writerRssBytes.last)} | ${mb(tr.writerRssBytes.max)} | ${pct(tr.writerRssBytes.change)} |
| async writer RSS (restarted at kills) | ${mb(tr.asyncRssBytes.first)} | ${mb(tr.asyncRssBytes.last)} | ${mb(tr.asyncRssBytes.max)} | ${pct(tr.asyncRssBytes.change)} |
| writer anonymous RSS (restarted at kills) | ${mb(tr.writerRssAnonBytes.first)} | ${mb(tr.writerRssAnonBytes.last)} | ${mb(tr.writerRssAnonBytes.max)} | ${pct(tr.writerRssAnonBytes.change)} |
| async writer anonymous RSS (restarted at kills) | ${mb(tr.asyncRssAnonBytes.first)} | ${mb(tr.asyncRssAnonBytes.last)} | ${mb(tr.asyncRssAnonBytes.max)} | ${pct(tr.asyncRssAnonBytes.change)} |
| async writer descriptors | ${tr.asyncFds.first} | ${tr.asyncFds.last} | ${tr.asyncFds.max} | ${pct(tr.asyncFds.change)} |
| data file | ${mb(tr.fileBytes.first)} | ${mb(tr.fileBytes.last)} | ${mb(tr.fileBytes.max)} | ${pct(tr.fileBytes.change)} |

Final database: ${stats.nodes.toLocaleString('en')} nodes, ${stats.edges.toLocaleString('en')} edges. The reader's RSS grows with the data it maps (LMDB pages in the OS page cache count as its resident memory), so read it next to the file size. Samples every 30 s are in soak.json.
`;
writeFileSync(join(out, 'soak.md'), md);
log(`wrote ${join(out, 'soak.md')}`);
console.log(md);
if (!option('dir', undefined)) rmSync(workDir, { recursive: true, force: true });
const failed = c.crashes + c.lostAcknowledgedWrites + c.partialWrites + c.wrongAnswers + c.verifyFailures + c.compactions.failed + c.backups.failed;
process.exit(failed === 0 ? 0 : 1);
