import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import envPaths from 'env-paths';

/**
 * Where the host logs by default: `native-host.log` in the per-user log directory (`$XDG_STATE_HOME/loomdb` on Linux, `~/Library/Logs/loomdb` on macOS, `%LOCALAPPDATA%\loomdb\Log` on Windows).
 *
 * @example
 * ```ts
 * const log = fileLogger(defaultLogFile()); // the same as fileLogger()
 * ```
 */
export function defaultLogFile(): string {
  return join(envPaths('loomdb', { suffix: '' }).log, 'native-host.log');
}

/**
 * Writes one JSON line per event.
 *
 * @example
 * ```ts
 * const log: HostLogger = fileLogger('/tmp/loomdb-host.log');
 * log.info('connected', { origin: 'chrome-extension://abcdefghijklmnopabcdefghijklmnop/' });
 * ```
 */
export interface HostLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * A logger appending JSON lines to `file`. stdout belongs to the frames
 * the browser reads, so the host never logs there. Each line is written
 * synchronously: the host may be killed right after a line that explains
 * why. A log that cannot be written is given up silently rather than
 * stopping the host.
 *
 * @example
 * ```ts
 * const log = fileLogger(join(mkdtempSync(join(tmpdir(), 'log-')), 'host.log'));
 * log.info('started', { pid: process.pid });
 * ```
 */
export function fileLogger(file: string = defaultLogFile()): HostLogger {
  let usable = true;
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch {
    usable = false;
  }
  const write = (level: string, message: string, fields?: Record<string, unknown>) => {
    if (!usable) return;
    try {
      appendFileSync(file, `${JSON.stringify({ time: new Date().toISOString(), pid: process.pid, level, message, ...fields })}\n`);
    } catch {
      usable = false;
    }
  };
  return {
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}
