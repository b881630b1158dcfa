import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HOST_NAME, hostLocation, hostStatus, installHost, launcherScript, readLauncher, registeredManifest, registerManifest, uninstallHost, unregisterManifest, type RegistryCommand } from '../src/index.js';
import { frame, HOST_BIN, tempDir } from './host-client.js';

const ID = 'abcdefghijklmnopabcdefghijklmnop';
const OTHER_ID = 'ponmlkjihgfedcbaponmlkjihgfedcba';
const dirs: Array<ReturnType<typeof tempDir>> = [];
const temp = () => {
  const t = tempDir('nh-install-');
  dirs.push(t);
  return t;
};
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

describe('where each browser looks', () => {
  it.each([
    ['chrome', 'linux', '/home/ada/.config/google-chrome/NativeMessagingHosts'],
    ['chromium', 'linux', '/home/ada/.config/chromium/NativeMessagingHosts'],
    ['edge', 'linux', '/home/ada/.config/microsoft-edge/NativeMessagingHosts'],
    ['brave', 'linux', '/home/ada/.config/BraveSoftware/Brave-Browser/NativeMessagingHosts'],
    ['chrome', 'darwin', '/home/ada/Library/Application Support/Google/Chrome/NativeMessagingHosts'],
    ['chromium', 'darwin', '/home/ada/Library/Application Support/Chromium/NativeMessagingHosts'],
    ['edge', 'darwin', '/home/ada/Library/Application Support/Microsoft Edge/NativeMessagingHosts'],
    ['brave', 'darwin', '/home/ada/Library/Application Support/BraveSoftware/Brave-Browser/NativeMessagingHosts'],
  ] as const)('%s on %s', (browser, platform, dir) => {
    const location = hostLocation(browser, { platform, home: '/home/ada' });
    expect(location).toEqual({ browser, manifestPath: `${dir}/${HOST_NAME}.json`, launcherPath: `${dir}/${HOST_NAME}.sh` });
  });

  it.each([
    ['chrome', 'HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\com.loomdb.native_host'],
    ['chromium', 'HKCU\\Software\\Chromium\\NativeMessagingHosts\\com.loomdb.native_host'],
    ['edge', 'HKCU\\Software\\Microsoft\\Edge\\NativeMessagingHosts\\com.loomdb.native_host'],
    ['brave', 'HKCU\\Software\\BraveSoftware\\Brave-Browser\\NativeMessagingHosts\\com.loomdb.native_host'],
  ] as const)('%s on Windows: a registry key pointing to a manifest under the user directory', (browser, key) => {
    const location = hostLocation(browser, { platform: 'win32', windowsDir: 'C:\\Users\\ada\\AppData\\Local\\loomdb\\native-host' });
    expect(location).toEqual({
      browser,
      manifestPath: 'C:\\Users\\ada\\AppData\\Local\\loomdb\\native-host\\com.loomdb.native_host.json',
      launcherPath: 'C:\\Users\\ada\\AppData\\Local\\loomdb\\native-host\\com.loomdb.native_host.cmd',
      registryKey: key,
    });
  });

  it('a browser profile started with --user-data-dir', () => {
    expect(hostLocation('chromium', { platform: 'linux', userDataDir: '/tmp/profile' }).manifestPath).toBe(`/tmp/profile/NativeMessagingHosts/${HOST_NAME}.json`);
  });

  it('an unknown browser or platform is refused by name', () => {
    expect(() => hostLocation('firefox' as 'chrome')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('"firefox"') }));
    expect(() => hostLocation('chrome', { platform: 'aix' })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', message: expect.stringContaining('aix') }));
  });
});

describe('install, status, uninstall (Linux, into a temporary home)', () => {
  it('writes a manifest and an executable launcher that starts the host with no PATH or shell profile', () => {
    const t = temp();
    const r = installHost({ browser: 'chromium', home: t.dir, extensionIds: [ID, OTHER_ID, ID], dbPath: t.db, logFile: t.log });
    expect(r.manifestPath).toBe(join(t.dir, '.config/chromium/NativeMessagingHosts', `${HOST_NAME}.json`));
    const manifest = JSON.parse(readFileSync(r.manifestPath, 'utf8'));
    expect(manifest).toEqual({
      name: HOST_NAME,
      description: expect.any(String),
      path: r.launcherPath,
      type: 'stdio',
      allowed_origins: [`chrome-extension://${ID}/`, `chrome-extension://${OTHER_ID}/`],
    });
    expect(statSync(r.launcherPath).mode & 0o111).not.toBe(0);
    expect(readLauncher(readFileSync(r.launcherPath, 'utf8'))).toEqual({ node: process.execPath, script: HOST_BIN });
    expect(hostStatus({ browser: 'chromium', home: t.dir })).toMatchObject({ installed: true, problems: [], launches: { node: process.execPath, script: HOST_BIN } });

    // Start it the way Chrome does: the launcher itself, the origin as argument, an empty environment.
    const started = spawnSync(r.launcherPath, [`chrome-extension://${ID}/`], {
      env: {},
      input: Buffer.concat([frame({ id: 1, type: 'hello' })]),
      timeout: 30_000,
    });
    expect(started.status).toBe(0);
    const length = started.stdout.readUInt32LE(0);
    const reply = JSON.parse(started.stdout.subarray(4, 4 + length).toString('utf8'));
    expect(reply).toMatchObject({ id: 1, ok: true, result: { database: { path: t.db } } });
    expect(started.stdout.length).toBe(4 + length);
    expect(existsSync(t.log)).toBe(true);
  });

  it('status names each problem that stops the browser from starting the host', () => {
    const t = temp();
    expect(hostStatus({ browser: 'chrome', home: t.dir })).toMatchObject({ installed: false, problems: [expect.stringContaining('no manifest at')] });
    const r = installHost({ browser: 'chrome', home: t.dir, extensionIds: [ID] });
    chmodSync(r.launcherPath, 0o644);
    expect(hostStatus({ browser: 'chrome', home: t.dir }).problems).toEqual([expect.stringContaining('not executable')]);
    writeFileSync(r.launcherPath, launcherScript({ node: '/nowhere/node', script: '/nowhere/host.cjs', args: [] }, 'linux'));
    chmodSync(r.launcherPath, 0o755);
    expect(hostStatus({ browser: 'chrome', home: t.dir }).problems).toEqual([expect.stringContaining('/nowhere/node'), expect.stringContaining('/nowhere/host.cjs')]);
    writeFileSync(r.manifestPath, '{ not json');
    expect(hostStatus({ browser: 'chrome', home: t.dir }).problems).toEqual([expect.stringContaining('not valid JSON')]);
    writeFileSync(r.manifestPath, JSON.stringify({ name: 'other', type: 'stdio', path: 'relative.sh', allowed_origins: [] }));
    expect(hostStatus({ browser: 'chrome', home: t.dir }).problems).toEqual([expect.stringContaining('"other"'), expect.stringContaining('allows no extension'), expect.stringContaining('not absolute')]);
  });

  it('uninstall removes the manifest and the launcher, and says when there was nothing', () => {
    const t = temp();
    const r = installHost({ browser: 'brave', home: t.dir, extensionIds: [ID] });
    expect(uninstallHost({ browser: 'brave', home: t.dir })).toBe(true);
    expect(existsSync(r.manifestPath) || existsSync(r.launcherPath)).toBe(false);
    expect(uninstallHost({ browser: 'brave', home: t.dir })).toBe(false);
  });

  it.each([
    [[], 'at least one extension id'],
    [['ABCDEFGHIJKLMNOPABCDEFGHIJKLMNOP'], 'ABCDEFGHIJKLMNOPABCDEFGHIJKLMNOP'],
    [['abcdefghijklmnopqrstuvwxyzabcdef'], 'abcdefghijklmnopqrstuvwxyzabcdef'],
    [['short'], '"short"'],
  ])('bad extension ids %j are INVALID_ARGUMENT and write nothing', (ids, named) => {
    const t = temp();
    expect(() => installHost({ home: t.dir, extensionIds: ids })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(named) }));
    expect(existsSync(join(t.dir, '.config'))).toBe(false);
  });
});

describe('Windows', () => {
  // reg.exe does not exist here: these record the registry commands the host runs and answer as reg.exe does.
  function recordingRegistry() {
    const keys = new Map<string, string>();
    const calls: string[][] = [];
    const registry: RegistryCommand = (args) => {
      calls.push([...args]);
      const [op, key] = args as [string, string];
      if (op === 'add') keys.set(key, args[args.indexOf('/d') + 1] as string);
      if (op === 'delete') keys.delete(key);
      if (op === 'query') {
        if (!keys.has(key)) throw new Error('ERROR: The system was unable to find the specified registry key or value.');
        return `\r\n${key}\r\n    (Default)    REG_SZ    ${keys.get(key)}\r\n`;
      }
      return 'The operation completed successfully.';
    };
    return { registry, calls, keys };
  }

  it('the registry key is added with the manifest path as its default value, read back, and deleted', () => {
    const { registry, calls, keys } = recordingRegistry();
    const key = hostLocation('edge', { platform: 'win32', windowsDir: 'C:\\loomdb' }).registryKey as string;
    expect(registeredManifest(key, registry)).toBeNull();
    registerManifest(key, 'C:\\loomdb\\com.loomdb.native_host.json', registry);
    expect(calls[1]).toEqual(['add', 'HKCU\\Software\\Microsoft\\Edge\\NativeMessagingHosts\\com.loomdb.native_host', '/ve', '/t', 'REG_SZ', '/d', 'C:\\loomdb\\com.loomdb.native_host.json', '/f']);
    expect(registeredManifest(key, registry)).toBe('C:\\loomdb\\com.loomdb.native_host.json');
    expect(unregisterManifest(key, registry)).toBe(true);
    expect(calls.at(-1)).toEqual(['delete', key, '/f']);
    expect(keys.size).toBe(0);
    expect(unregisterManifest(key, registry)).toBe(false);
  });

  it('a failing reg.exe is IO naming the key', () => {
    const failing: RegistryCommand = () => {
      throw new Error('Access is denied.');
    };
    expect(() => registerManifest('HKCU\\Software\\X', 'C:\\m.json', failing)).toThrow(expect.objectContaining({ code: 'IO', message: expect.stringContaining('HKCU\\Software\\X') }));
  });

  it('the launcher is a .cmd batch file passing the browser\'s arguments on', () => {
    const launcher = launcherScript({ node: 'C:\\Program Files\\nodejs\\node.exe', script: 'C:\\npm\\node_modules\\@loomdb\\native-host\\bin\\loomdb-native-host.cjs', args: ['--path', 'C:\\Users\\ada\\memory.loomdb'] }, 'win32');
    expect(launcher).toMatch(/^@echo off\r\n/u);
    expect(launcher.trimEnd().split('\r\n').at(-1)).toBe('"C:\\Program Files\\nodejs\\node.exe" "C:\\npm\\node_modules\\@loomdb\\native-host\\bin\\loomdb-native-host.cjs" "--path" "C:\\Users\\ada\\memory.loomdb" %*');
    expect(readLauncher(launcher)).toEqual({ node: 'C:\\Program Files\\nodejs\\node.exe', script: 'C:\\npm\\node_modules\\@loomdb\\native-host\\bin\\loomdb-native-host.cjs' });
  });

  it('a path cmd.exe cannot quote is refused before anything is written', () => {
    const t = temp();
    // Only checks that nothing is written: win32 paths under a Linux temp dir would not be real files.
    const { registry, calls } = recordingRegistry();
    expect(() => installHost({ platform: 'win32', windowsDir: t.dir, extensionIds: [ID], registry, dbPath: 'C:\\50%\\db' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('50%') }));
    expect(calls).toEqual([]);
  });
});

describe('the loomdb-native-host command', () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [HOST_BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });

  it('install, status and uninstall for a --user-data-dir profile; status exits 1 when not installed', () => {
    const t = temp();
    const profile = join(t.dir, 'profile');
    const installed = run(['install', '--extension-id', ID, '--browser', 'chromium', '--user-data-dir', profile, '--path', t.db, '--json']);
    expect(installed.status, installed.stderr).toBe(0);
    expect(JSON.parse(installed.stdout).manifestPath).toBe(join(profile, 'NativeMessagingHosts', `${HOST_NAME}.json`));
    const status = run(['status', '--browser', 'chromium', '--user-data-dir', profile]);
    expect(status.status).toBe(0);
    expect(status.stdout).toContain('chromium: installed');
    expect(run(['uninstall', '--browser', 'chromium', '--user-data-dir', profile]).stdout).toContain('uninstalled');
    const after = run(['status', '--browser', 'chromium', '--user-data-dir', profile]);
    expect(after.status).toBe(1);
    expect(after.stdout).toContain('no manifest');
  });

  it('bad usage exits 2; a bad extension id exits 1 naming it', () => {
    const t = temp();
    expect(run(['install', '--browser', 'chromium']).status).toBe(2);
    expect(run(['install', '--extension-id', ID, '--browser', 'netscape']).status).toBe(2);
    const bad = run(['install', '--extension-id', 'nope', '--user-data-dir', t.dir]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('error [INVALID_ARGUMENT]');
    expect(bad.stderr).toContain('"nope"');
  });
});
