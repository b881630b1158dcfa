#!/usr/bin/env node
// Publishes the prebuilt platform packages (packages/core-native/platforms/*)
// before `changeset publish` publishes @loomdb/core-native, whose
// optionalDependencies name them at its exact version. Changesets does not
// see them (they are not workspaces: npm refuses a workspace whose os/cpu do
// not match the machine), so this script does, in the release workflow after
// the build matrix has put each platform's index.node in place.
//
//   node scripts/publish-platforms.mjs            publish; fail if any binary is missing
//   node scripts/publish-platforms.mjs --dry-run  npm publish --dry-run
//
// A version already on the registry is skipped, so a re-run after a failed
// release is safe.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const core = join(root, 'packages', 'core-native');
const dryRun = process.argv.includes('--dry-run');
const { version } = JSON.parse(readFileSync(join(core, 'package.json'), 'utf8'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const dirs = readdirSync(join(core, 'platforms')).map((d) => join(core, 'platforms', d));
const missing = dirs.filter((d) => !existsSync(join(d, 'index.node')));
if (missing.length) {
  console.error(
    `publish-platforms: no index.node in ${missing.map((d) => d.slice(root.length + 1)).join(', ')}.\n` +
      'Each is built on its own platform by .github/workflows/release.yml; @loomdb/core-native must not be ' +
      'published while one of its platform packages is missing.',
  );
  process.exit(1);
}
for (const dir of dirs) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (manifest.version !== version) {
    console.error(`publish-platforms: ${manifest.name}@${manifest.version} != @loomdb/core-native@${version} (run npm run version-packages)`);
    process.exit(1);
  }
  const seen = spawnSync(npm, ['view', `${manifest.name}@${version}`, 'version'], { encoding: 'utf8' });
  if (seen.status === 0 && seen.stdout.trim() === version) {
    console.log(`publish-platforms: ${manifest.name}@${version} is already published`);
    continue;
  }
  const args = ['publish', '--access', 'public', ...(dryRun ? ['--dry-run'] : [])];
  const r = spawnSync(npm, args, { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
