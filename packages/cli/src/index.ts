/**
 * The `loomdb` command line. `createProgram()` builds it for embedding or tests.
 *
 * @packageDocumentation
 */
import { Command, InvalidArgumentError } from 'commander';
import { EmbeddedDB, LoomError } from '@loomdb/db';
import { runDemo } from './demo/run-demo.js';

export interface ProgramIO {
  out: (line: string) => void;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

/** Builds the `loomdb` program. */
export function createProgram(io: ProgramIO = { out: (line) => console.log(line) }): Command {
  const program = new Command('loomdb').description('LoomDB: an embedded graph + vector memory for AI assistants').showHelpAfterError();

  program
    .command('demo')
    .description('load a sample memory graph with embeddings into a database, then search it')
    .option('--path <dir>', 'database directory (default: the per-user data directory, or $LOOMDB_PATH)')
    .option('--query <text>', 'what to search for', 'how do I make good coffee')
    .option('-k, --k <n>', 'how many results', positiveInt, 5)
    .action((opts: { path?: string; query: string; k: number }) => runDemo({ ...opts, print: io.out }));

  program
    .command('stats')
    .description('print counts and definitions of what a database holds')
    .option('--path <dir>', 'database directory (default: the per-user data directory, or $LOOMDB_PATH)')
    .option('--json', 'print JSON')
    .action((opts: { path?: string; json?: boolean }) => {
      const db = EmbeddedDB.open(opts.path, { readOnly: true });
      try {
        const stats = db.stats();
        if (opts.json) {
          io.out(JSON.stringify(stats, null, 2));
          return;
        }
        io.out(`${db.path}`);
        io.out(`  nodes: ${stats.nodes}   edges: ${stats.edges}   format: v${stats.formatVersion}`);
        for (const s of stats.spaces) io.out(`  space "${s.name}": ${s.embeddings} embeddings (${s.dimensions}-d ${s.metric}, ${s.index})`);
        for (const i of stats.indexes) io.out(`  index "${i.name}" (${i.kind}): ${i.entries} entries`);
      } finally {
        db.close();
      }
    });

  return program;
}

/** Runs the program on `argv`; a LoomError prints `error [CODE]: message` and sets exit code 1. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (e) {
    if (LoomError.is(e)) {
      process.stderr.write(`error [${e.code}]: ${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}
