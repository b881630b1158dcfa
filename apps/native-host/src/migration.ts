import { LoomError } from '@loomdb/db';
import type { RequestParams } from './protocol.js';
import type { HostSession } from './session.js';

/** Where the IndexedDB migration stands, as `hello` reports it. */
export interface MigrationState {
  state: 'idle' | 'running' | 'done' | 'failed';
}

const unsupported = () =>
  new LoomError('UNSUPPORTED', 'this host was built without the IndexedDB migration stream (@loomdb/migrate is not available yet)');

/** The IndexedDB migration stream (`migrate.begin`, `migrate.batch`, `migrate.end`). */
export class MigrationSession {
  constructor(_session: HostSession) {}

  state(): MigrationState {
    return { state: 'idle' };
  }

  async begin(_params: RequestParams<'migrate.begin'>): Promise<never> {
    throw unsupported();
  }

  async batch(_params: RequestParams<'migrate.batch'>): Promise<never> {
    throw unsupported();
  }

  async end(_params: RequestParams<'migrate.end'>): Promise<never> {
    throw unsupported();
  }

  async abort(_reason: string): Promise<void> {}
}
