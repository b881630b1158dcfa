import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(__filename);

/** The `loomdb` CLI's executable, from the installed @loomdb/cli. */
export const LOOMDB_BIN = join(dirname(require.resolve('@loomdb/cli/package.json')), 'bin', 'loomdb.cjs');

/** Runs `loomdb <args>` as its own process (asynchronously, so a host in this test keeps being served) and parses its `--json` output. */
export function loomdb(args: string[]): Promise<{ status: number | null; json: any; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [LOOMDB_BIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (status) => resolve({ status, json: out ? JSON.parse(out) : undefined, stderr: err }));
  });
}
