import { AsyncEmbeddedDB, EmbeddedDB, defaultDbPath } from '@loomdb/db';
import { MemoryQueries } from '@loomdb/query';
import { WeaverController } from '@loomdb/weaver';
import { KnowledgeGraphStore } from './knowledge-graph.js';
import { log } from './log.js';

/**
 * Everything the tools share in one process: one database, one weaver, the memory queries.
 *
 * @example
 * ```ts
 * const context: MemoryContext = await openContext({ path: './memory.loomdb' });
 * const { items } = await context.memory.findSimilarMemories('trip', { k: 3 });
 * await context.close();
 * ```
 */
export interface MemoryContext {
  path: string;
  db: AsyncEmbeddedDB;
  graph: KnowledgeGraphStore;
  memory: MemoryQueries;
  weaver: WeaverController;
  close(): Promise<void>;
}

/**
 * Options of openContext.
 *
 * @example
 * ```ts
 * const context = await openContext({ path: './memory.loomdb', busyTimeoutMs: 30_000 } satisfies OpenContextOptions);
 * ```
 */
export interface OpenContextOptions {
  /** The database directory; default `defaultDbPath()` ($LOOMDB_PATH or the platform's data folder). */
  path?: string;
  /**
   * How long a write waits for another process's write, ms. Several servers
   * (one per client) often share a database, so the default is generous.
   */
  busyTimeoutMs?: number;
}

/** How long a weaver's leased batch stays reserved to it, ms. */
const LEASE_MS = 5_000;

/**
 * Opens what the server needs.
 *
 * @example
 * ```ts
 * const context = await openContext({ path: './memory.loomdb' }); // database, weaver, memory queries, knowledge graph
 * const server = createServer(context);
 * ```
 */
export async function openContext(options: OpenContextOptions = {}): Promise<MemoryContext> {
  const path = options.path ?? defaultDbPath();
  const busyTimeoutMs = options.busyTimeoutMs ?? 30_000;
  // The weaver takes the synchronous handle; both handles share the process's one LMDB environment for the path.
  const syncDb = EmbeddedDB.open(path, { busyTimeoutMs });
  const db = await AsyncEmbeddedDB.open(path, { busyTimeoutMs });
  // A server killed mid-batch (clients kill their servers freely) holds its leased events until the lease
  // ends; a shorter lease than the weaver's default lets the next server pick them up sooner. Applying an
  // event twice is impossible either way (the weaver dedupes by event id), so a short lease costs nothing.
  const weaver = new WeaverController(syncDb, { leaseMs: LEASE_MS });
  weaver.on('error', (e) => log(`weaver: ${e.code}: ${e.message}`));
  await weaver.initialize();
  const graph = new KnowledgeGraphStore(db, syncDb);
  const memory = new MemoryQueries(db);
  let closing: Promise<void> | undefined;
  return {
    path,
    db,
    graph,
    memory,
    weaver,
    close() {
      // Without draining: what is still in the inbox is durable and the next weaver (in any process) applies it.
      closing ??= weaver.shutdown({ drain: false }).finally(() => {
        db.close();
        syncDb.close();
      });
      return closing;
    },
  };
}
