import { Command, CommanderError, Option } from 'commander';
import { LoomError } from '@loomdb/db';
import { hostStatus, installHost, uninstallHost, type HostStatus, type TargetOptions } from './install.js';
import { BROWSERS, type Browser } from './locations.js';
import { fileLogger } from './log.js';
import { runHost } from './run-host.js';
import { version } from '../package.json';

/**
 * Where the commands print (the host itself prints nothing: its stdout carries frames).
 *
 * @example
 * ```ts
 * const out: string[] = [];
 * await main(['node', 'loomdb-native-host', 'status', '--json'], { out: (l) => out.push(l), err: (l) => console.error(l) } satisfies ProgramIO);
 * ```
 */
export interface ProgramIO {
  out(line: string): void;
  err(line: string): void;
}

const PATH_HELP = 'database directory (default: $LOOMDB_PATH, else the per-user data directory)';
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
const browserOption = () => new Option('--browser <name>', 'which browser').choices(BROWSERS).default('chrome');
const USER_DATA_DIR_HELP = 'a browser profile started with --user-data-dir (Linux, macOS): install into <dir>/NativeMessagingHosts';

interface TargetFlags {
  browser: Browser;
  userDataDir?: string;
  json?: boolean;
}

const target = (o: TargetFlags): TargetOptions => ({ browser: o.browser, ...(o.userDataDir ? { userDataDir: o.userDataDir } : {}) });

function printStatus(io: ProgramIO, s: HostStatus, json: boolean | undefined): void {
  if (json) return io.out(JSON.stringify(s, null, 2));
  io.out(`${s.browser}: ${s.installed ? 'installed' : 'not installed'}`);
  io.out(`  manifest: ${s.manifestPath}`);
  if (s.registryKey) io.out(`  registry: ${s.registryKey}`);
  if (s.manifest) io.out(`  allowed: ${s.manifest.allowed_origins.join(', ')}`);
  if (s.launches) io.out(`  starts:   ${s.launches.node} ${s.launches.script}`);
  for (const p of s.problems) io.out(`  problem:  ${p}`);
}

/**
 * Builds the `loomdb-native-host` program. Run with no command (as the
 * browser does, passing the extension's origin) it is the host; `install`,
 * `uninstall` and `status` manage its registration with a browser.
 *
 * @example
 * ```ts fragment
 * await createProgram().parseAsync(['node', 'loomdb-native-host', 'status', '--browser', 'chromium']);
 * ```
 */
export function createProgram(io: ProgramIO = { out: (l) => console.log(l), err: (l) => console.error(l) }): Command {
  const program = new Command('loomdb-native-host')
    .description('LoomDB native-messaging host for the browser extension. With no command it serves the browser on stdin/stdout.')
    .version(version, '-V, --version', 'print the version of @loomdb/native-host')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .argument('[origin]', 'the extension origin the browser passes (chrome-extension://<id>/)')
    .option('--path <dir>', PATH_HELP)
    .option('--log-file <file>', 'log here instead of native-host.log in the per-user log directory')
    // Chrome on Windows adds this; the host has no window to parent.
    .addOption(new Option('--parent-window <handle>').hideHelp())
    .action(async (origin: string | undefined, o: { path?: string; logFile?: string }) => {
      const log = fileLogger(o.logFile);
      // stdout carries the frames: anything a library prints there would corrupt the stream.
      console.log = console.info = console.debug = (...args: unknown[]) => log.info(args.map(String).join(' '));
      console.warn = console.error = (...args: unknown[]) => log.warn(args.map(String).join(' '));
      // Chrome sends SIGTERM when it is done with the host: stop reading, answer what was read, close the database.
      const stop = () => process.stdin.destroy();
      process.once('SIGTERM', stop).once('SIGINT', stop);
      process.on('uncaughtException', (e) => {
        log.error('uncaught exception; exiting', { error: e.stack ?? String(e) });
        process.exit(1);
      });
      await runHost({ ...(o.path ? { path: o.path } : {}), ...(origin ? { origin } : {}), log });
    });

  program
    .command('install')
    .description('register the host with a browser for the given extension(s)')
    .requiredOption('--extension-id <id>', 'an extension allowed to connect (repeatable)', collect)
    .addOption(browserOption())
    .option('--user-data-dir <dir>', USER_DATA_DIR_HELP)
    .option('--path <dir>', 'pin this database in the launcher (default: $LOOMDB_PATH or the per-user one, when the host starts)')
    .option('--log-file <file>', 'pin this log file in the launcher')
    .option('--json', 'print JSON')
    .action((o: TargetFlags & { extensionId: string[]; path?: string; logFile?: string }) => {
      const r = installHost({
        ...target(o),
        extensionIds: o.extensionId,
        ...(o.path ? { dbPath: o.path } : {}),
        ...(o.logFile ? { logFile: o.logFile } : {}),
      });
      if (o.json) return io.out(JSON.stringify(r, null, 2));
      io.out(`installed ${r.manifest.name} for ${r.browser}: ${r.manifestPath}`);
      if (r.registryKey) io.out(`  registry: ${r.registryKey}`);
      io.out(`  launcher: ${r.launcherPath}`);
      io.out(`  allowed:  ${r.manifest.allowed_origins.join(', ')}`);
    });

  program
    .command('uninstall')
    .description("remove the host's registration with a browser")
    .addOption(browserOption())
    .option('--user-data-dir <dir>', USER_DATA_DIR_HELP)
    .action((o: TargetFlags) => {
      io.out(uninstallHost(target(o)) ? `uninstalled from ${o.browser}` : `not installed for ${o.browser}`);
    });

  program
    .command('status')
    .description('check that a browser can start the host (exit status 1 when it cannot)')
    .addOption(browserOption())
    .option('--user-data-dir <dir>', USER_DATA_DIR_HELP)
    .option('--json', 'print JSON')
    .action((o: TargetFlags) => {
      const s = hostStatus(target(o));
      printStatus(io, s, o.json);
      if (!s.installed) process.exitCode = 1;
    });

  return program;
}

/**
 * Runs the program on `argv`. Exit status: 0 ok, 1 the operation failed
 * (`error [CODE]: message`) or `status` found the host not installed,
 * 2 bad usage.
 *
 * @example
 * ```ts fragment
 * await main(process.argv);
 * ```
 */
export async function main(argv: readonly string[] = process.argv, io?: ProgramIO): Promise<void> {
  const program = createProgram(io);
  const err = io?.err ?? ((l: string) => console.error(l));
  try {
    await program.parseAsync(argv as string[]);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    const error = LoomError.is(e) ? e : new LoomError('INTERNAL', e instanceof Error ? e.message : String(e));
    err(`error [${error.code}]: ${error.message}`);
    process.exitCode = 1;
  }
}
