import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, eventually, loomdb, reference, tempDir } from './helpers';

const PROCESSES = 3;
const PER_PROCESS = 20;

const entitiesOf = (p: number) =>
  Array.from({ length: PER_PROCESS }, (_, i) => ({ name: `p${p}-e${i}`, entityType: 'thing', observations: [`made by process ${p}`] }));

/** Each client creates its entities one call at a time, all clients at once. */
async function writeConcurrently(clients: Array<{ client: Parameters<typeof call>[0] }>) {
  await Promise.all(clients.map(async ({ client }, p) => {
    for (const e of entitiesOf(p)) await call(client, 'create_entities', { entities: [e] });
  }));
}

describe('several server processes on one database', () => {
  const dir = tempDir('processes');
  afterAll(() => dir.remove());

  it('three loomdb-mcp processes writing at once lose nothing, and each sees every write', async () => {
    const dbPath = join(dir.path, 'db');
    const servers = await Promise.all(Array.from({ length: PROCESSES }, () => loomdb(dbPath)));
    try {
      await writeConcurrently(servers);
      for (const s of servers) {
        const { entities } = (await call(s.client, 'read_graph')).structuredContent;
        expect(entities).toHaveLength(PROCESSES * PER_PROCESS);
      }
      // A long-running server sees what another wrote after it started, also through search_nodes's reused scan.
      expect((await call(servers[2]!.client, 'search_nodes', { query: 'late' })).structuredContent.entities).toEqual([]);
      await call(servers[0]!.client, 'create_entities', { entities: [{ name: 'late', entityType: 'thing', observations: [] }] });
      expect((await call(servers[2]!.client, 'open_nodes', { names: ['late'] })).structuredContent.entities).toHaveLength(1);
      expect((await call(servers[2]!.client, 'search_nodes', { query: 'LATE' })).structuredContent.entities.map((e: { name: string }) => e.name)).toEqual(['late']);
      await call(servers[1]!.client, 'remember', { conversationId: 'shared', messages: [{ id: 'm1', role: 'user', content: 'written by server 1' }] });
      await eventually(async () => (await call(servers[2]!.client, 'get_chat_history', { conversationId: 'shared' })).structuredContent.messages.length === 1);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('three reference servers on one file: shown for comparison, not asserted', async () => {
    // @modelcontextprotocol/server-memory rewrites its whole file on every call (read, change, rename), so
    // concurrent processes overwrite each other's writes: a run here typically keeps a fraction of the 60
    // entities. How many survive depends on timing, so the test only checks that none is invented.
    const file = join(dir.path, 'memory.jsonl');
    const servers = await Promise.all(Array.from({ length: PROCESSES }, () => reference(file)));
    try {
      await writeConcurrently(servers);
      const { entities } = (await call(servers[0]!.client, 'read_graph')).structuredContent;
      expect(entities.length).toBeLessThanOrEqual(PROCESSES * PER_PROCESS);
      process.stderr.write(`reference server kept ${entities.length} of ${PROCESSES * PER_PROCESS} entities written concurrently by ${PROCESSES} processes\n`);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});

describe('kill -9 during remember', () => {
  const dir = tempDir('kill');
  afterAll(() => dir.remove());

  it('loses no acknowledged message', async () => {
    const dbPath = join(dir.path, 'db');
    const victim = await loomdb(dbPath);
    const acknowledged: string[] = [];
    let killed = false;
    // Remember one message per call until the process dies; a call that returned was acknowledged.
    const writer = (async () => {
      for (let i = 0; !killed; i++) {
        const id = `m${i}`;
        try {
          const r = await call(victim.client, 'remember', { conversationId: 'crash', messages: [{ id, role: 'user', content: `message number ${i} about the crash test` }] });
          if (!r.isError) acknowledged.push(id);
        } catch {
          return;
        }
      }
    })();
    await eventually(async () => acknowledged.length >= 30);
    process.kill(victim.pid, 'SIGKILL');
    killed = true;
    await writer;
    await victim.close().catch(() => {});

    // A fresh server's weaver resumes the inbox: every acknowledged message gets woven in.
    const survivor = await loomdb(dbPath);
    try {
      const ids = await eventually(async () => {
        const seen = new Set<string>();
        let cursor: string | undefined;
        do {
          const page = (await call(survivor.client, 'get_chat_history', { conversationId: 'crash', limit: 1000, ...(cursor ? { cursor } : {}) })).structuredContent;
          for (const m of page.messages) seen.add(m.eventId);
          cursor = page.nextCursor;
        } while (cursor);
        return acknowledged.every((id) => seen.has(id)) ? seen : null;
      }, 30_000); // the killed server's lease on what it was weaving ends first (5 s)
      for (const id of acknowledged) expect(ids.has(id)).toBe(true);
    } finally {
      await survivor.close();
    }
  });
});

describe('loomdb-mcp import-jsonl', () => {
  const dir = tempDir('import');
  afterAll(() => dir.remove());

  it('imports a reference-server memory file, verified by counts, and serves the same graph', async () => {
    const file = join(dir.path, 'memory.jsonl');
    const ref = await reference(file);
    await call(ref.client, 'create_entities', { entities: [
      { name: 'Ada', entityType: 'person', observations: ['programmer', 'mathematician'] },
      { name: 'Babbage', entityType: 'person', observations: [] },
      { name: 'Engine', entityType: 'machine', observations: ['never finished'] },
    ] });
    await call(ref.client, 'create_relations', { relations: [
      { from: 'Ada', to: 'Babbage', relationType: 'worked with' },
      { from: 'Babbage', to: 'Engine', relationType: 'designed' },
      { from: 'Ada', to: 'Nobody', relationType: 'dangles' },
    ] });
    const expected = (await call(ref.client, 'read_graph')).structuredContent;
    await ref.close();

    const dbPath = join(dir.path, 'db');
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [join(__dirname, '../bin/loomdb-mcp.cjs'), 'import-jsonl', file, '--path', dbPath]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += String(d)));
      child.stderr.on('data', (d) => (stderr += String(d)));
      child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(stderr))));
    });
    expect(JSON.parse(out)).toEqual({
      entities: { inFile: 3, created: 3, merged: 0 },
      relations: { inFile: 3, created: 2, existing: 0, dangling: 1 },
      verified: true,
    });
    const ours = await loomdb(dbPath);
    try {
      const graph = (await call(ours.client, 'read_graph')).structuredContent;
      expect(graph).toEqual({ entities: expected.entities, relations: expected.relations.filter((r: { to: string }) => r.to !== 'Nobody') });
    } finally {
      await ours.close();
    }
  });
});
