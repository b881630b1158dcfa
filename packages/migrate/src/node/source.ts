/**
 * Where the importer reads the export from: an NDJSON file, any (async)
 * iterable of messages, or a channel that a callback sink writes into.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { LoomError } from '@loomdb/db';
import type { ExportMessage } from '../format/messages.js';

/**
 * Where an import reads an export.
 *
 * @example
 * ```ts
 * const fromFile: ExportSource = './memory.ndjson';
 * const fromArray: ExportSource = messages; // ExportMessage[]
 * await importIndexedDBExport(db, fromFile);
 * ```
 */
export type ExportSource = string | Iterable<ExportMessage> | AsyncIterable<ExportMessage>;

async function* readNdjson(path: string): AsyncGenerator<ExportMessage> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      try {
        yield JSON.parse(line) as ExportMessage;
      } catch (error) {
        throw new LoomError('INVALID_ARGUMENT', `export file ${path} line ${n} is not JSON: ${(error as Error).message}`);
      }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new LoomError('NOT_FOUND', `export file ${path} does not exist`);
    throw error;
  }
}

/** The messages of `source`, in order. */
export function exportMessages(source: ExportSource): AsyncIterable<ExportMessage> | Iterable<ExportMessage> {
  if (typeof source === 'string') return readNdjson(source);
  if (source !== null && typeof source === 'object' && (Symbol.asyncIterator in source || Symbol.iterator in source)) return source;
  throw new LoomError('INVALID_ARGUMENT', `source must be an NDJSON file path or an iterable of export messages, got ${String(source)}`);
}

/**
 * A channel between an exporter's callback sink and the importer: `write`
 * resolves once the importer has written the message (when it comes back
 * for the next one; the manifest as soon as it is taken, since the importer
 * stops there), so it carries backpressure across, e.g., playwright's
 * `exposeFunction` or a native-messaging host. A write the importer never
 * finished (it failed, or the channel ended) rejects with `CLOSED`.
 */
interface Written {
  message: ExportMessage;
  resolve(): void;
  reject(e: Error): void;
}

/**
 * An export arriving message by message.
 *
 * @example
 * ```ts
 * const channel = new ExportChannel();
 * const done = importIndexedDBExport(db, channel);
 * for (const message of messages) await channel.write(message); // resolves once the importer took it
 * channel.end();
 * const report = await done;
 * ```
 */
export class ExportChannel implements AsyncIterable<ExportMessage> {
  #queue: Written[] = [];
  #wake: (() => void) | undefined;
  #ended = false;

  write = (message: ExportMessage): Promise<void> => {
    if (this.#ended) return Promise.reject(new LoomError('CLOSED', 'the export channel has ended'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ message, resolve, reject });
      this.#wake?.();
    });
  };

  /** No more messages (the stream ends after those queued). */
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ExportMessage> {
    let working: Written | undefined;
    try {
      for (;;) {
        working?.resolve(); // the importer came back for more: that one is written
        working = undefined;
        const next = this.#queue.shift();
        if (next) {
          if (next.message.kind === 'manifest') next.resolve();
          else working = next;
          yield next.message;
          if (next.message.kind === 'manifest') return;
          continue;
        }
        if (this.#ended) return;
        await new Promise<void>((resolve) => { this.#wake = resolve; });
        this.#wake = undefined;
      }
    } finally {
      const stopped = new LoomError('CLOSED', 'the importer stopped before it had written this message');
      working?.reject(stopped);
      for (const pending of this.#queue.splice(0)) pending.reject(stopped);
    }
  }
}
