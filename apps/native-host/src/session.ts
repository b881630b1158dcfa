import { AsyncEmbeddedDB, EmbeddedDB, type OpenOptions } from '@loomdb/db';
import { MemoryQueries } from '@loomdb/query';
import { WeaverController, type WeaverOptions } from '@loomdb/weaver';

/**
 * How a host opens its database.
 *
 * @example
 * ```ts
 * const session = await HostSession.open({ path: './memory.loomdb', weaver: { batchSize: 64 } } satisfies SessionOptions);
 * await session.close();
 * ```
 */
export interface SessionOptions {
  /** The database directory; default `defaultDbPath()` (so `LOOMDB_PATH` is honoured). */
  path?: string;
  /** Passed to both handles (e.g. `busyTimeoutMs` while another process writes). */
  open?: OpenOptions;
  /** Passed to the weaver. */
  weaver?: WeaverOptions;
}

/**
 * The database a host serves: a synchronous handle for the weaver (which
 * commits off the JavaScript thread itself) and an asynchronous one for
 * the queries, so a long search does not hold up reading the next
 * request. Both share the process's one environment for the path, and
 * other processes (the CLI, a second host) open the same database beside it.
 *
 * @example
 * ```ts
 * const session = await HostSession.open({ path: './memory.loomdb' });
 * console.log((await session.reader.stats()).nodes);
 * await session.close();
 * ```
 */
export class HostSession {
  readonly db: EmbeddedDB;
  readonly reader: AsyncEmbeddedDB;
  readonly weaver: WeaverController;
  readonly memory: MemoryQueries;
  #closing: Promise<void> | undefined;

  private constructor(db: EmbeddedDB, reader: AsyncEmbeddedDB, weaver: WeaverController) {
    this.db = db;
    this.reader = reader;
    this.weaver = weaver;
    this.memory = new MemoryQueries(reader);
  }

  /** Opens (creating when missing) the database and starts the weaver, which resumes any events left in its inbox. */
  static async open(options: SessionOptions = {}): Promise<HostSession> {
    const db = EmbeddedDB.open(options.path, options.open);
    try {
      const weaver = new WeaverController(db, options.weaver);
      await weaver.initialize();
      const reader = await AsyncEmbeddedDB.open(db.path, options.open);
      return new HostSession(db, reader, weaver);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** The database directory. */
  get path(): string {
    return this.db.path;
  }

  /**
   * Stops the weaver without draining (what it has not written stays in
   * the durable inbox for the next host or any other weaver) and closes
   * both handles. Calling it again waits for the first call.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.weaver.shutdown({ drain: false });
      } finally {
        this.reader.close();
        this.db.close();
      }
    })();
    return this.#closing;
  }
}
