/**
 * An async iterable fed one message at a time from outside: how the
 * migration requests, arriving as separate native messages, become the
 * one `source` stream the importer reads. `push` resolves once the reader
 * has finished with that message (it asked for the next one, or stopped),
 * so the browser's next batch waits for the last one to be imported.
 *
 * @example
 * ```ts
 * const stream = new MessageStream<number>();
 * const reading = (async () => { for await (const n of stream) console.log(n); })();
 * await Promise.all([stream.push(1), stream.push(2), stream.end(), reading]);
 * ```
 */
export class MessageStream<T> implements AsyncIterable<T> {
  #queue: Array<({ value: T } | { end: true }) & { consumed: () => void }> = [];
  /** The reader waiting for a message, if it is waiting. */
  #waiting: ((result: IteratorResult<T>) => void) | undefined;
  /** Resolves the push of the message the reader has now. */
  #inHand: (() => void) | undefined;
  #ended = false;
  /** The reader has been told the stream is over. */
  #finished = false;
  #iterated = false;

  /** Hands `value` to the reader; resolves when the reader is done with it. Refused after `end`. */
  push(value: T): Promise<void> {
    if (this.#ended) return Promise.reject(new RangeError('the stream has ended'));
    return new Promise<void>((consumed) => {
      this.#queue.push({ value, consumed });
      this.#deliver();
    });
  }

  /** No more messages: the reader's loop ends after the queued ones. Resolves when it has finished with them. */
  end(): Promise<void> {
    this.#ended = true;
    const last = new Promise<void>((consumed) => this.#queue.push({ end: true, consumed }));
    this.#deliver();
    return last;
  }

  /** True once `end` was called. */
  get ended(): boolean {
    return this.#ended;
  }

  #deliver(): void {
    const next = this.#queue[0];
    if (!this.#waiting || !next) return;
    this.#queue.shift();
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if ('end' in next) {
      this.#finished = true;
      next.consumed();
      waiting({ value: undefined, done: true });
      return;
    }
    this.#inHand = next.consumed;
    waiting({ value: next.value, done: false });
  }

  /** Ends the stream now and releases every push still waiting: the reader stopped (early, or failed). */
  close(): void {
    this.#inHand?.();
    this.#inHand = undefined;
    for (const item of this.#queue.splice(0)) item.consumed();
    this.#ended = true;
    this.#finished = true;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterated) throw new RangeError('a MessageStream is read once');
    this.#iterated = true;
    return {
      next: () => {
        this.#inHand?.();
        this.#inHand = undefined;
        if (this.#finished) return Promise.resolve({ value: undefined, done: true });
        return new Promise<IteratorResult<T>>((resolve) => {
          this.#waiting = resolve;
          this.#deliver();
        });
      },
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
