import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';
import { LoomError } from '@loomdb/db';

/**
 * The name the extension passes to `chrome.runtime.connectNative`; also the manifest's file name.
 *
 * @example
 * ```ts
 * const port = chrome.runtime.connectNative(HOST_NAME); // 'com.loomdb.native_host'
 * ```
 */
export const HOST_NAME = 'com.loomdb.native_host';

/**
 * Browsers `install` knows.
 *
 * @example
 * ```ts
 * for (const browser of BROWSERS) console.log(browser, hostStatus({ browser }).installed);
 * ```
 */
export const BROWSERS = ['chrome', 'chromium', 'edge', 'brave'] as const;
/**
 * A browser the installer knows.
 *
 * @example
 * ```ts
 * const browser: Browser = 'brave';
 * const { manifestPath } = hostLocation(browser);
 * ```
 */
export type Browser = (typeof BROWSERS)[number];

/** Where a browser keeps its profile data, per OS: the user-level `NativeMessagingHosts` directory is inside it (Linux, macOS); the registry key holds the manifest path (Windows). */
const PROFILE_DIRS: Record<Browser, { linux: string; darwin: string; windowsKey: string }> = {
  chrome: { linux: '.config/google-chrome', darwin: 'Library/Application Support/Google/Chrome', windowsKey: 'Software\\Google\\Chrome' },
  chromium: { linux: '.config/chromium', darwin: 'Library/Application Support/Chromium', windowsKey: 'Software\\Chromium' },
  edge: { linux: '.config/microsoft-edge', darwin: 'Library/Application Support/Microsoft Edge', windowsKey: 'Software\\Microsoft\\Edge' },
  brave: { linux: '.config/BraveSoftware/Brave-Browser', darwin: 'Library/Application Support/BraveSoftware/Brave-Browser', windowsKey: 'Software\\BraveSoftware\\Brave-Browser' },
};

/**
 * Where one browser looks for this host.
 *
 * @example
 * ```ts
 * const where: HostLocation = hostLocation('chrome', { platform: 'linux', home: '/home/me' });
 * console.log(where.manifestPath); // /home/me/.config/google-chrome/NativeMessagingHosts/com.loomdb.native_host.json
 * ```
 */
export interface HostLocation {
  browser: Browser;
  /** The manifest file `install` writes. */
  manifestPath: string;
  /** The launcher script beside it, which Chrome runs. */
  launcherPath: string;
  /** Windows only: the `HKEY_CURRENT_USER` key whose default value is `manifestPath`. */
  registryKey?: string;
}

/**
 * Overrides for hostLocation.
 *
 * @example
 * ```ts
 * hostLocation('chromium', { platform: 'darwin', home: '/Users/me' } satisfies LocationOptions);
 * ```
 */
export interface LocationOptions {
  /** Default `process.platform`. */
  platform?: NodeJS.Platform;
  /** Default the user's home directory. */
  home?: string;
  /**
   * A browser profile started with `--user-data-dir`: Chromium reads
   * `<userDataDir>/NativeMessagingHosts` on Linux and macOS. Not used on
   * Windows, where the registry decides.
   */
  userDataDir?: string;
  /** Windows: where the manifest and launcher go (the registry points to them). Default `%LOCALAPPDATA%\loomdb\native-host\<browser>`. */
  windowsDir?: string;
}

/**
 * Where `browser` looks for the host's manifest on this OS, for the current
 * user: `~/.config/<browser>/NativeMessagingHosts/com.loomdb.native_host.json`
 * on Linux, `~/Library/Application Support/<browser>/NativeMessagingHosts/…`
 * on macOS, and on Windows the key
 * `HKCU\Software\<vendor>\<browser>\NativeMessagingHosts\com.loomdb.native_host`
 * pointing to a manifest under `%LOCALAPPDATA%`.
 *
 * @example
 * ```ts
 * console.log(hostLocation('chromium', { platform: 'linux', home: '/home/ada' }).manifestPath);
 * // /home/ada/.config/chromium/NativeMessagingHosts/com.loomdb.native_host.json
 * ```
 */
export function hostLocation(browser: Browser, options: LocationOptions = {}): HostLocation {
  if (!(BROWSERS as readonly string[]).includes(browser)) {
    throw new LoomError('INVALID_ARGUMENT', `browser must be one of ${BROWSERS.join(', ')}, got ${JSON.stringify(browser)}`);
  }
  const platform = options.platform ?? process.platform;
  const home = options.home ?? homedir();
  const dirs = PROFILE_DIRS[browser];
  if (platform === 'win32') {
    const { join } = win32;
    const base = options.windowsDir ?? join(process.env.LOCALAPPDATA ?? join(home, 'AppData', 'Local'), 'loomdb', 'native-host', browser);
    return {
      browser,
      manifestPath: join(base, `${HOST_NAME}.json`),
      launcherPath: join(base, `${HOST_NAME}.cmd`),
      registryKey: `HKCU\\${dirs.windowsKey}\\NativeMessagingHosts\\${HOST_NAME}`,
    };
  }
  if (platform !== 'linux' && platform !== 'darwin') {
    throw new LoomError('UNSUPPORTED', `native messaging hosts are installed on Linux, macOS and Windows, not ${platform}`);
  }
  const { join } = posix;
  const profile = options.userDataDir ?? join(home, platform === 'darwin' ? dirs.darwin : dirs.linux);
  const dir = join(profile, 'NativeMessagingHosts');
  return { browser, manifestPath: join(dir, `${HOST_NAME}.json`), launcherPath: join(dir, `${HOST_NAME}.sh`) };
}
