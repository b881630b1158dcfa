import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDB } from '@loomdb/db';

const dirs: string[] = [];

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'loomdb-migrate-'));
  dirs.push(dir);
  return dir;
}

/** A fresh native database in a temp dir (relaxed: these tests are not about durability). */
export function freshDb(path = join(tempDir(), 'db')): EmbeddedDB {
  return EmbeddedDB.open(path, { durability: 'relaxed' });
}

export function removeTemps(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Everything the migration wrote, without times: equal for two databases holding the same import. */
export function snapshot(db: EmbeddedDB) {
  const nodes = [...db.iterateNodes()]
    .filter((n) => n.type !== 'LoomMigration')
    .map((n) => ({ id: n.id, type: n.type, properties: n.properties }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const edges = nodes
    .flatMap((n) => db.neighbors(n.id, { direction: 'out' }).map(({ edge }) => ({ id: edge.id, type: edge.type, from: edge.from, to: edge.to })))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const vectors = nodes.map((n) => [n.id, Array.from(db.getEmbedding(n.id, { space: 'legacy' }) ?? [])]);
  return { nodes, edges, vectors };
}

/** The node ids along NEXT from `first` (each message has at most one NEXT). */
export function nextChain(db: EmbeddedDB, first: string): string[] {
  const chain = [first];
  for (;;) {
    const next = db.neighbors(chain.at(-1)!, { direction: 'out', edgeTypes: ['NEXT'] });
    if (next.length > 1) throw new Error(`${chain.at(-1)} has ${next.length} NEXT edges`);
    if (next.length === 0) return chain;
    chain.push(next[0]!.node.id);
  }
}
