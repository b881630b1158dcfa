import { createRequire } from 'node:module';
import { join } from 'node:path';
import { invalid, loomError } from './errors.js';
import type { StorageFactory } from './storage.js';

/**
 * Turns texts into vectors for a space whose spec names it. `embed` may be
 * slow (a model); `embedSync` is for embedders cheap enough to call on the
 * JavaScript thread (the synchronous `EmbeddedDB` accepts text only then).
 *
 * @example
 * ```ts
 * const embedder: Embedder = {
 *   dimensions: 3,
 *   embed: async (texts) => texts.map((t) => new Float32Array([t.length, 1, 0])),
 * };
 * const [v] = await embedder.embed(['hello']);
 * ```
 */
export interface Embedder {
  /** Length of every vector it returns. */
  readonly dimensions: number;
  /**
   * What a space records as its `embedder` when this one fills it, when that
   * must say more than the registered name: `'<name>:<variant>'`, e.g. a
   * model and its weights' checksum (`'local:all-MiniLM-L6-v2@8199be6f699a'`).
   * Looking that up gives the factory registered as `<name>` the option
   * `variant`, so the space finds the same model again or fails saying why.
   */
  readonly id?: string;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  embedSync?(texts: readonly string[]): Float32Array[];
}

/**
 * An entity found in a text: `key` is the normalised identity that merges mentions (`'person:ada lovelace'`).
 *
 * @example
 * ```ts
 * const entity: ExtractedEntity = { name: 'Ada Lovelace', kind: 'person', key: 'person:ada lovelace' };
 * ```
 */
export interface ExtractedEntity {
  name: string;
  kind: string;
  key: string;
}

/**
 * Finds the entities a message mentions (the weaver's extraction step).
 *
 * @example
 * ```ts
 * const tags: Extractor = {
 *   extract: (text) => [...text.matchAll(/#(\w+)/g)].map(([, tag]) => ({ name: tag!, kind: 'tag', key: `tag:${tag!.toLowerCase()}` })),
 * };
 * ```
 */
export interface Extractor {
  extract(text: string): ExtractedEntity[] | Promise<ExtractedEntity[]>;
}

/**
 * Options a plugin's embedder or extractor factory receives (its own settings).
 *
 * @example
 * ```ts
 * const embedder = db.embedder('local', { model: 'all-MiniLM-L6-v2' } satisfies PluginOptions);
 * ```
 */
export type PluginOptions = Record<string, unknown>;
/**
 * Makes an embedder from its options.
 *
 * @example
 * ```ts
 * const factory: EmbedderFactory = (options) => createHashingEmbedder(options);
 * const plugin: LoomPlugin = { name: 'mine', register: (r) => r.registerEmbedder('mine', factory) };
 * ```
 */
export type EmbedderFactory = (options: PluginOptions) => Embedder;
/**
 * Makes an extractor from its options.
 *
 * @example
 * ```ts
 * const factory: ExtractorFactory = () => ({ extract: (text) => [] });
 * const plugin: LoomPlugin = { name: 'none', register: (r) => r.registerExtractor('none', factory) };
 * ```
 */
export type ExtractorFactory = (options: PluginOptions) => Extractor;

/**
 * Where plugins register what they provide.
 *
 * @example
 * ```ts
 * const plugin: LoomPlugin = {
 *   name: 'scratch',
 *   register(registry: PluginRegistry) {
 *     registry.registerStorage('scratch', (options) => new MemoryStorage({ readOnly: options.readOnly }));
 *   },
 * };
 * ```
 */
export interface PluginRegistry {
  registerStorage(name: string, factory: StorageFactory): void;
  registerEmbedder(name: string, factory: EmbedderFactory): void;
  registerExtractor(name: string, factory: ExtractorFactory): void;
}

/**
 * A LoomDB plugin: registers backends when a database opens with it, and may
 * act on the open database.
 *
 * @example
 * ```ts
 * const plugin: LoomPlugin = {
 *   name: 'letters',
 *   register: (r) => r.registerEmbedder('letters', () => ({ dimensions: 26, embed: async (texts) => texts.map(() => new Float32Array(26).fill(1 / Math.sqrt(26))) })),
 *   onOpen: () => console.log('opened with letters'),
 * };
 * const db = EmbeddedDB.open('./memory.loomdb', { plugins: [plugin] });
 * ```
 */
export interface LoomPlugin {
  name: string;
  register?(registry: PluginRegistry): void;
  onOpen?(db: unknown): void | Promise<void>;
}

type Kind = 'storage' | 'embedder' | 'extractor';

/** Backends, embedders and extractors by name. The built-ins register through the same door as plugins. */
export class Registry implements PluginRegistry {
  readonly #factories: Record<Kind, Map<string, (options: never) => unknown>> = {
    storage: new Map(),
    embedder: new Map(),
    extractor: new Map(),
  };

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
    this.#register('storage', name, factory);
  }

  registerEmbedder(name: string, factory: EmbedderFactory): void {
    this.#register('embedder', name, factory);
  }

  registerExtractor(name: string, factory: ExtractorFactory): void {
    this.#register('extractor', name, factory);
  }

  storage(name: string): StorageFactory {
    return this.#lookup('storage', name) as StorageFactory;
  }

  /**
   * A new embedder from the factory registered as `name`; for a
   * `'<name>:<variant>'` id that no factory is registered as, the factory
   * `<name>` with the option `variant` (see {@link Embedder.id}).
   */
  embedder(name: string, options: PluginOptions = {}): Embedder {
    const colon = typeof name === 'string' ? name.indexOf(':') : -1;
    const variant = colon > 0 && !this.#factories.embedder.has(name);
    const factory = this.#lookup('embedder', variant ? name.slice(0, colon) : name) as EmbedderFactory;
    const embedder = factory(variant ? { ...options, variant: name.slice(colon + 1) } : options);
    if (!Number.isSafeInteger(embedder?.dimensions) || typeof embedder.embed !== 'function') {
      throw invalid(`embedder "${name}" must have integer dimensions and an embed function`);
    }
    return embedder;
  }

  /** A new extractor from the factory registered as `name`. */
  extractor(name: string, options: PluginOptions = {}): Extractor {
    const extractor = (this.#lookup('extractor', name) as ExtractorFactory)(options);
    if (typeof extractor?.extract !== 'function') throw invalid(`extractor "${name}" must have an extract function`);
    return extractor;
  }

  #register(kind: Kind, name: string, factory: unknown): void {
    if (typeof name !== 'string' || name.length === 0) throw invalid(`a ${kind} name must be a non-empty string, got ${String(name)}`);
    if (typeof factory !== 'function') throw invalid(`${kind} "${name}" needs a factory function`);
    this.#factories[kind].set(name, factory as (options: never) => unknown);
  }

  #lookup(kind: Kind, name: string): (options: never) => unknown {
    if (kind === 'embedder' && !this.#factories.embedder.has(name) && name in EMBEDDER_PACKAGES) this.#useInstalled(EMBEDDER_PACKAGES[name]!);
    const factory = this.#factories[kind].get(name);
    if (!factory) {
      const have = [...this.#factories[kind].keys()].join(', ') || 'none';
      const provider = kind === 'embedder' ? EMBEDDER_PACKAGES[name] : undefined;
      const hint = provider ? `; it comes from ${provider.package}: npm install ${provider.package}` : '';
      throw loomError('NOT_FOUND', `no ${kind} named "${name}" is registered (have: ${have})${hint}`);
    }
    return factory;
  }

  /**
   * Registers a well-known plugin package when it is installed, so a space
   * that records an embedder of it (`local:…`) opens anywhere that package
   * is, even without `plugins` (the demo, the CLI, a script).
   */
  #useInstalled(provider: { package: string; plugin: string }): void {
    let exports: Record<string, unknown>;
    try {
      // From the program's directory first: the package the user installed.
      exports = createRequire(join(process.cwd(), 'noop.js'))(provider.package) as Record<string, unknown>;
    } catch {
      try {
        exports = createRequire(import.meta.url)(provider.package) as Record<string, unknown>;
      } catch {
        return;
      }
    }
    const make = exports[provider.plugin];
    if (typeof make === 'function') this.use(make() as LoomPlugin);
  }
}

/** Embedders whose package registers them when a space names them and no plugin did: name → package and its plugin factory. */
const EMBEDDER_PACKAGES: Record<string, { package: string; plugin: string }> = {
  local: { package: '@loomdb/embed-local', plugin: 'localEmbedderPlugin' },
};
