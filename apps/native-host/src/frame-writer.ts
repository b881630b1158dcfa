import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { encodeFrame } from './framing.js';

/**
 * Writes frames to the browser one after another, waiting for `drain`
 * whenever the pipe is full, so a burst of large replies neither
 * interleaves nor piles up in memory. Once the pipe is gone (the browser
 * went away) writes are dropped: there is nobody left to answer.
 *
 * @example
 * ```ts
 * const writer = new FrameWriter(process.stdout);
 * await writer.write(JSON.stringify({ id: 1, ok: true, result: null }));
 * ```
 */
export class FrameWriter {
  readonly #output: Writable;
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(output: Writable) {
    this.#output = output;
    // An EPIPE after the browser closed its end must not become an uncaught error.
    output.on('error', () => {
      this.#closed = true;
    });
    output.on('close', () => {
      this.#closed = true;
    });
  }

  /** False once the browser's end of the pipe is gone. */
  get open(): boolean {
    return !this.#closed && !this.#output.destroyed && this.#output.writable;
  }

  /** Queues the messages as consecutive frames; resolves when the last one is handed to the pipe. */
  write(...messages: string[]): Promise<void> {
    this.#tail = this.#tail.then(async () => {
      for (const message of messages) {
        if (!this.open) return;
        if (!this.#output.write(encodeFrame(message))) {
          await Promise.race([once(this.#output, 'drain'), once(this.#output, 'close')]);
        }
      }
    }).catch(() => {
      // `once` rejects on an 'error' event: the pipe is gone, as above.
      this.#closed = true;
    });
    return this.#tail;
  }

  /** Resolves when everything queued so far has been handed to the pipe. */
  flushed(): Promise<void> {
    return this.#tail;
  }
}
