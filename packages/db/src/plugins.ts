import { invalid, loomError } from './errors.js';
import type { StorageFactory } from './storage.js';

/** Where plugins register what they provide. */
export interface PluginRegistry {
  registerStorage(name: string, factory: StorageFactory): void;
}

/**
 * A LoomDB plugin: registers backends when a database opens with it, and may
 * act on the open database.
 */
export interface LoomPlugin {
  name: string;
  register?(registry: PluginRegistry): void;
  onOpen?(db: unknown): void | Promise<void>;
}

/** Storage backends by name. The built-ins register through the same door as plugins. */
export class Registry implements PluginRegistry {
  readonly #storage = new Map<string, StorageFactory>();

  constructor(plugins: readonly LoomPlugin[] = []) {
    for (const plugin of plugins) this.use(plugin);
  }

  use(plugin: LoomPlugin): void {
    if (typeof plugin !== 'object' || plugin === null || typeof plugin.name !== 'string') {
      throw invalid(`a plugin must be an object with a name, got ${String(plugin)}`);
    }
    plugin.register?.(this);
  }

  registerStorage(name: string, factory: StorageFactory): void {
    if (typeof name !== 'string' || name.length === 0) throw invalid(`a storage name must be a non-empty string, got ${String(name)}`);
    if (typeof factory !== 'function') throw invalid(`storage "${name}" needs a factory function`);
    this.#storage.set(name, factory);
  }

  storage(name: string): StorageFactory {
    const factory = this.#storage.get(name);
    if (!factory) {
      throw loomError('NOT_FOUND', `no storage backend named "${name}" is registered (have: ${[...this.#storage.keys()].join(', ')})`);
    }
    return factory;
  }
}
