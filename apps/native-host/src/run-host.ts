import type { Readable, Writable } from 'node:stream';
import { LoomError } from '@loomdb/db';
import { serveConnection, type ConnectionEnd } from './connection.js';
import type { HostContext } from './handlers.js';
import { fileLogger, type HostLogger } from './log.js';
import { MigrationSession } from './migration.js';
import { HostSession, type SessionOptions } from './session.js';

/**
 * Options of runHost.
 *
 * @example
 * ```ts
 * await runHost({ path: './memory.loomdb', origin: 'chrome-extension://abcdefghijklmnopabcdefghijklmnop/', log: fileLogger() } satisfies RunHostOptions);
 * ```
 */
export interface RunHostOptions extends SessionOptions {
  /** The extension's origin, as Chrome passes it (`chrome-extension://<id>/`); logged. */
  origin?: string;
  /** Default `process.stdin`. */
  input?: Readable;
  /** Default `process.stdout`. */
  output?: Writable;
  /** Default a {@link fileLogger} on `defaultLogFile()`. */
  log?: HostLogger;
}

/** The inbox the weaver uses unless told otherwise. */
const DEFAULT_INBOX = 'weaver-inbox';

/**
 * Runs the host for one browser connection, as Chrome starts it: opens
 * the database, answers requests until the browser closes stdin, then
 * stops the weaver and closes the database. A database that cannot be
 * opened does not end the connection: each request gets the error (with
 * its code), so the extension can tell the user why. Resolves with how
 * the connection ended.
 *
 * @example
 * ```ts fragment
 * await runHost({ path: process.env.LOOMDB_PATH });
 * ```
 */
export async function runHost(options: RunHostOptions = {}): Promise<ConnectionEnd> {
  const log = options.log ?? fileLogger();
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  log.info('host started', { origin: options.origin, path: options.path ?? process.env.LOOMDB_PATH ?? null });
  let session: HostSession | undefined;
  let context: HostContext | LoomError;
  try {
    session = await HostSession.open(options);
    context = { session, migration: new MigrationSession(session), inbox: options.weaver?.queue ?? DEFAULT_INBOX };
  } catch (e) {
    context = LoomError.is(e) ? e : new LoomError('INTERNAL', `the database could not be opened: ${(e as Error).message}`);
    log.error('the database could not be opened', { code: context.code, message: context.message });
  }
  const end = await serveConnection({ input, output, context, log });
  log.info('connection ended', { end });
  if (!(context instanceof LoomError)) await context.migration.abort('the browser closed the connection');
  await session?.close();
  log.info('host stopped');
  return end;
}
