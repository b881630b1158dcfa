/**
 * The IndexedDB migration stream (`migrate.begin`, `migrate.batch`,
 * `migrate.end`): the extension's exporter (`nativeMessagingSink` of
 * `@loomdb/migrate/browser`) sends the export over the port and this feeds
 * it to `@loomdb/migrate`'s importer, messages through the host's weaver.
 * Each request is answered once the importer has written what it carried,
 * so the export goes at the pace of the import. Checkpoints live in the
 * database: a stream cut short (the browser closed, the host died) is
 * continued by the next one, and a finished migration writes nothing again.
 */
import { LoomError } from '@loomdb/db';
import {
  ExportChannel, importIndexedDBExport, parseMapping, readMigration,
  type ExportMessage, type ImportProgress, type ImportReport,
} from '@loomdb/migrate';
import type { RequestParams } from './protocol.js';
import type { HostSession } from './session.js';

/**
 * Where the IndexedDB migration stands, as `hello` reports it.
 *
 * @example
 * ```ts
 * const { state, database, progress }: MigrationState = migration.state('memory');
 * if (state === 'needed') console.log(`send the export of ${database}`);
 * ```
 */
export interface MigrationState {
  /**
   * `idle`: nothing asked; `needed`: the legacy database named in `hello`
   * is not (fully) migrated yet — send its export; `running`: a stream is
   * open on this connection; `complete`: migrated, nothing to send;
   * `failed`: this connection's last stream failed (`error` says why;
   * sending the export again continues it).
   */
  state: 'idle' | 'needed' | 'running' | 'complete' | 'failed';
  database?: string;
  /** The latest store progress of a running stream. */
  progress?: ImportProgress;
  error?: { code: string; message: string };
}

interface Stream {
  database: string;
  channel: ExportChannel;
  imported: Promise<ImportReport>;
  progress?: ImportProgress;
}

const errorOf = (e: unknown): { code: string; message: string } =>
  LoomError.is(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: (e as Error)?.message ?? String(e) };

/**
 * A migration streamed over one connection.
 *
 * @example
 * ```ts
 * const migration = new MigrationSession(session);
 * await migration.begin({ header, mapping: undefined, weave: true });
 * for (const batch of batches) await migration.batch({ batch });
 * const report = await migration.end({ manifest });
 * ```
 */
export class MigrationSession {
  #stream: Stream | undefined;
  #last: MigrationState = { state: 'idle' };

  constructor(readonly session: HostSession) {}

  /** This connection's stream, else (given a legacy database's name) whether that database still needs migrating. */
  state(legacyDatabase?: string): MigrationState {
    const stream = this.#stream;
    if (stream) return { state: 'running', database: stream.database, ...(stream.progress ? { progress: stream.progress } : {}) };
    if (legacyDatabase === undefined || this.#last.database === legacyDatabase) return this.#last;
    const status = readMigration(this.session.db, legacyDatabase)?.status;
    return { state: status === 'complete' ? 'complete' : 'needed', database: legacyDatabase };
  }

  async begin({ header, mapping, weave }: RequestParams<'migrate.begin'>): Promise<MigrationState> {
    if (this.#stream) throw new LoomError('CONFLICT', `the migration of "${this.#stream.database}" is still open on this connection: send migrate.end first`);
    const channel = new ExportChannel();
    const stream: Stream = {
      database: header.database,
      channel,
      imported: importIndexedDBExport(this.session.db, channel, {
        mapping: mapping === undefined ? 'default' : parseMapping(mapping),
        weaver: weave === false ? undefined : this.session.weaver,
        onProgress: (progress) => { stream.progress = progress; },
      }),
    };
    this.#stream = stream;
    stream.imported.then(
      () => { this.#last = { state: 'complete', database: stream.database }; },
      (e: unknown) => { this.#last = { state: 'failed', database: stream.database, error: errorOf(e) }; },
    ).finally(() => {
      if (this.#stream === stream) this.#stream = undefined;
    });
    await this.#send(stream, header);
    return this.state();
  }

  async batch({ batch }: RequestParams<'migrate.batch'>): Promise<MigrationState> {
    await this.#send(this.#open('migrate.batch'), batch);
    return this.state();
  }

  /** Verifies the import against the manifest and returns its report (`CORRUPTION` when they differ). */
  async end({ manifest }: RequestParams<'migrate.end'>): Promise<ImportReport> {
    const stream = this.#open('migrate.end');
    await this.#send(stream, manifest);
    stream.channel.end();
    return stream.imported;
  }

  /** Ends an open stream without its manifest (the connection closed): its checkpoints stay for the next one. */
  async abort(_reason: string): Promise<void> {
    const stream = this.#stream;
    if (!stream) return;
    stream.channel.end();
    await stream.imported.catch(() => undefined);
  }

  #open(type: string): Stream {
    if (!this.#stream) throw new LoomError('CONFLICT', `${type} without an open migration: send migrate.begin with the export's header first`);
    return this.#stream;
  }

  /** Hands `message` (its shape checked by the protocol, its content by the importer) to the importer; settles once it is written, or with the importer's own error. */
  async #send(stream: Stream, message: { kind: ExportMessage['kind'] }): Promise<void> {
    try {
      await stream.channel.write(message as ExportMessage);
    } catch (e) {
      await stream.imported; // throws the importer's error, which is the one worth reporting
      throw e;
    }
  }
}
