/**
 * The launcher Chrome runs. A manifest's `path` must be one executable file
 * (Chrome passes it the extension's origin and nothing else, with no
 * shell profile, so `node script.js` or an `npx` shim found on `PATH`
 * would not start), hence a tiny script pinning the Node binary and the
 * installed host by absolute path.
 *
 * @module
 */

/**
 * What a launcher starts.
 *
 * @example
 * ```ts
 * const target: LauncherTarget = { node: process.execPath, script: HOST_SCRIPT, args: ['--path', '/home/me/memory.loomdb'] };
 * writeFileSync('./loomdb-native-host.sh', launcherScript(target, 'linux'));
 * ```
 */
export interface LauncherTarget {
  /** Absolute path of the Node binary; default the one running `install`. */
  node: string;
  /** Absolute path of the host's executable script (`bin/loomdb-native-host.cjs`). */
  script: string;
  /** Arguments placed before Chrome's own (e.g. `--path <db>`). */
  args: readonly string[];
}

/** A word for `sh`, single-quoted (a `'` inside becomes `'\''`). */
const shellWord = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** A word for `cmd.exe`, double-quoted; `"` cannot be escaped there, and `%` would expand. */
function cmdWord(word: string): string {
  if (/["%\r\n]/u.test(word)) throw new RangeError(`a Windows launcher cannot pass ${JSON.stringify(word)} (it holds " or % or a line break)`);
  return `"${word}"`;
}

/**
 * The launcher's text for the platform: a `sh` script (`exec`, so Chrome's
 * pipes and signals reach Node directly) or a `.cmd` batch file.
 *
 * @example
 * ```ts
 * console.log(launcherScript({ node: '/usr/bin/node', script: '/opt/host/bin/loomdb-native-host.cjs', args: [] }, 'linux'));
 * ```
 */
export function launcherScript(target: LauncherTarget, platform: NodeJS.Platform = process.platform): string {
  const words = [target.node, target.script, ...target.args];
  if (platform === 'win32') {
    return `@echo off\r\nrem Written by loomdb-native-host install: the browser starts this with the extension's origin.\r\n${words.map(cmdWord).join(' ')} %*\r\n`;
  }
  return `#!/bin/sh\n# Written by loomdb-native-host install: the browser starts this with the extension's origin.\nexec ${words.map(shellWord).join(' ')} "$@"\n`;
}

/**
 * The target of a launcher this host wrote, read back from its text; null when the text is not such a launcher.
 *
 * @example
 * ```ts
 * const launches = readLauncher(readFileSync(status.launcherPath, 'utf8')); // { node, script } or null
 * ```
 */
export function readLauncher(text: string): { node: string; script: string } | null {
  const sh = /^exec '((?:[^']|'\\'')*)' '((?:[^']|'\\'')*)'/mu.exec(text);
  if (sh) return { node: (sh[1] as string).replaceAll(`'\\''`, "'"), script: (sh[2] as string).replaceAll(`'\\''`, "'") };
  const cmd = /^"([^"]*)" "([^"]*)"/mu.exec(text);
  return cmd ? { node: cmd[1] as string, script: cmd[2] as string } : null;
}
