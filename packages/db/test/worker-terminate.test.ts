import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const rounds = join(__dirname, 'fixtures', 'terminate-rounds.mjs');

describe('worker.terminate() during a native call', () => {
  // Issue 18: terminating a worker inside `insertNodesBatch` or an async
  // call used to kill the whole process (SIGSEGV in a thread destructor of
  // the unloaded addon, SIGABRT from a panic Neon could not turn into an
  // exception). The rounds run in a child process, which must exit 0.
  it('never takes the process down', () => {
    const child = spawnSync(process.execPath, [rounds, '10'], { encoding: 'utf8', timeout: 50_000 });
    const report = `signal ${child.signal}, status ${child.status}\nstdout:\n${child.stdout}\nstderr:\n${child.stderr}`;
    expect(child.signal, report).toBeNull();
    expect(child.status, report).toBe(0);
    expect(child.stdout.match(/terminated/g)?.length, report).toBe(10);
  });
});
