/**
 * Where export messages go. A sink is `{ write(message), close?() }`; the
 * exporter awaits each write, so a slow sink slows the export instead of
 * piling batches up in memory.
 */
import type { ExportMessage } from '../format/messages.js';

/**
 * Where an export goes.
 *
 * @example
 * ```ts
 * const messages: ExportMessage[] = [];
 * const sink: ExportSink = { write: (message) => void messages.push(message) };
 * await exportIndexedDB('memory', { sink });
 * ```
 */
export interface ExportSink {
  write(message: ExportMessage): void | Promise<void>;
  close?(): void | Promise<void>;
}

/**
 * Calls `fn` with every message (e.g. a function exposed by a test harness, or a fetch to localhost).
 *
 * @example
 * ```ts
 * await exportIndexedDB('memory', { sink: callbackSink(async (message) => { await send(JSON.stringify(message)); }) });
 * ```
 */
export function callbackSink(fn: (message: ExportMessage) => void | Promise<void>): ExportSink {
  return { write: fn };
}

/**
 * Minimal shape of `chrome.runtime.Port`, so this module needs no chrome typings.
 *
 * @example
 * ```ts
 * const port: NativePort = chrome.runtime.connectNative('com.loomdb.native_host');
 * const sink = nativeMessagingSink(port);
 * ```
 */
export interface NativePort {
  postMessage(message: unknown): void;
  disconnect(): void;
  onMessage: { addListener(listener: (message: unknown) => void): void; removeListener(listener: (message: unknown) => void): void };
  onDisconnect: { addListener(listener: () => void): void; removeListener(listener: () => void): void };
}

/**
 * Options of nativeMessagingSink.
 *
 * @example
 * ```ts
 * const sink = nativeMessagingSink(port, { weave: true } satisfies NativeMessagingSinkOptions);
 * ```
 */
export interface NativeMessagingSinkOptions {
  /** A mapping object for the host's importer; default the legacy layout. */
  mapping?: unknown;
  /** Messages through the host's weaver (default `true`). */
  weave?: boolean;
}

/**
 * An error the host replied with: its `LoomError` code and message.
 *
 * @example
 * ```ts
 * try {
 *   await exportIndexedDB('memory', { sink: nativeMessagingSink(port) });
 * } catch (e) {
 *   if (e instanceof NativeHostError) console.error(e.code, e.message); // the host's LoomError code
 * }
 * ```
 */
export class NativeHostError extends Error {
  constructor(readonly code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'NativeHostError';
  }
}

type HostReply = { id: unknown; ok: true; result: unknown } | { id: unknown; ok: false; error: { code: string; message: string } };

/**
 * Sends the export to the LoomDB native host (`@loomdb/native-host`) on a
 * port from `chrome.runtime.connectNative('com.loomdb.native_host')`: the header
 * as `migrate.begin`, each batch as `migrate.batch`, the manifest as
 * `migrate.end`. Each waits for the host's reply, which comes once the host
 * has written the batch, so the export goes at the pace of the import and
 * an error in the host (its `LoomError` code) fails the export. The port
 * stays open for the extension's other requests; the sink's ids
 * (`"loomdb-migrate:<n>"`) keep its replies apart.
 *
 * @example
 * ```ts
 * const sink = nativeMessagingSink(chrome.runtime.connectNative('com.loomdb.native_host'));
 * await exportIndexedDB('memory', { sink });
 * console.log(sink.report()); // the host's import report
 * ```
 */
export function nativeMessagingSink(port: NativePort, options: NativeMessagingSinkOptions = {}): ExportSink & { report(): unknown } {
  let next = 0;
  let report: unknown;
  const request = (type: string, params: Record<string, unknown>): Promise<unknown> => new Promise((resolve, reject) => {
    const id = `loomdb-migrate:${next++}`;
    const chunks: string[] = [];
    const done = () => {
      port.onMessage.removeListener(onMessage);
      port.onDisconnect.removeListener(onDisconnect);
    };
    const settle = (reply: HostReply) => {
      done();
      if (reply.ok) resolve(reply.result);
      else reject(new NativeHostError(reply.error.code, reply.error.message));
    };
    // A reply over the browser's 1 MB limit arrives as numbered chunks of its JSON text.
    const onMessage = (message: unknown) => {
      const m = message as { id?: unknown; chunk?: number; chunks?: number; data?: string };
      if (m === null || typeof m !== 'object' || m.id !== id) return;
      if (typeof m.chunk !== 'number') return settle(m as HostReply);
      chunks[m.chunk] = m.data ?? '';
      if (chunks.filter((c) => c !== undefined).length === m.chunks) settle(JSON.parse(chunks.join('')) as HostReply);
    };
    const onDisconnect = () => {
      done();
      reject(new NativeHostError('CLOSED', 'the native host disconnected during the migration'));
    };
    port.onMessage.addListener(onMessage);
    port.onDisconnect.addListener(onDisconnect);
    port.postMessage({ id, type, ...params });
  });
  return {
    async write(message) {
      if (message.kind === 'header') {
        await request('migrate.begin', { header: message, ...(options.mapping === undefined ? {} : { mapping: options.mapping }), ...(options.weave === undefined ? {} : { weave: options.weave }) });
      } else if (message.kind === 'batch') {
        await request('migrate.batch', { batch: message });
      } else {
        report = await request('migrate.end', { manifest: message });
      }
    },
    /** The host's import report, once `migrate.end` has been answered. */
    report: () => report,
  };
}

/**
 * Collects NDJSON lines and, on close, hands the file to `deliver` as a Blob
 * (by default: downloads it as `filename` through an `<a download>` link).
 *
 * @example
 * ```ts
 * await exportIndexedDB('memory', { sink: ndjsonDownloadSink('memory.ndjson') }); // then: loomdb migrate indexeddb --from memory.ndjson
 * ```
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
