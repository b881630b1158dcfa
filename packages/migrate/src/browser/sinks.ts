/**
 * Where export messages go. A sink is `{ write(message), close?() }`; the
 * exporter awaits each write, so a slow sink slows the export instead of
 * piling batches up in memory.
 */
import type { ExportMessage } from '../format/messages.js';

export interface ExportSink {
  write(message: ExportMessage): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** Calls `fn` with every message (e.g. a function exposed by a test harness, or a fetch to localhost). */
export function callbackSink(fn: (message: ExportMessage) => void | Promise<void>): ExportSink {
  return { write: fn };
}

/** Minimal shape of `chrome.runtime.Port`, so this module needs no chrome typings. */
export interface NativePort {
  postMessage(message: unknown): void;
  disconnect(): void;
}

/**
 * Posts every message on a native-messaging port (`chrome.runtime.connectNative(host)`).
 * Chrome caps a message to the host at 4 GB but hosts read it whole, so keep
 * `batchSize` modest when records are large.
 */
export function nativeMessagingSink(port: NativePort): ExportSink {
  return { write: (message) => port.postMessage({ type: 'loomdb-migrate', message }), close: () => port.disconnect() };
}

/**
 * Collects NDJSON lines and, on close, hands the file to `deliver` as a Blob
 * (by default: downloads it as `filename` through an `<a download>` link).
 */
export function ndjsonDownloadSink(filename = 'loomdb-export.ndjson', deliver?: (file: Blob) => void | Promise<void>): ExportSink {
  const lines: string[] = [];
  return {
    write: (message) => void lines.push(`${JSON.stringify(message)}\n`),
    close: async () => {
      const file = new Blob(lines, { type: 'application/x-ndjson' });
      if (deliver) return deliver(file);
      const url = URL.createObjectURL(file);
      const link = document.createElement('a');
      link.href = url;
      link.download = filename;
      link.click();
      URL.revokeObjectURL(url);
    },
  };
}
