import { describe, expect, it } from 'vitest';
import { MessageStream } from './message-stream.js';

describe('MessageStream', () => {
  it('delivers pushed messages in order; each push resolves once the reader asks for the next', async () => {
    const stream = new MessageStream<number>();
    const log: string[] = [];
    const reading = (async () => {
      for await (const n of stream) {
        log.push(`read ${n}`);
        await new Promise((r) => setTimeout(r, 5));
        log.push(`done ${n}`);
      }
      log.push('end');
    })();
    const pushes = [1, 2, 3].map((n) => stream.push(n).then(() => log.push(`pushed ${n}`)));
    await Promise.all([...pushes, stream.end(), reading]);
    expect(log.indexOf('pushed 1')).toBeGreaterThan(log.indexOf('done 1'));
    expect(log.indexOf('pushed 2')).toBeGreaterThan(log.indexOf('done 2'));
    expect(log.filter((l) => l.startsWith('read'))).toEqual(['read 1', 'read 2', 'read 3']);
    expect(log.at(-1)).toBe('end');
  });

  it('a reader that stops early releases the pushes waiting, and later pushes are refused', async () => {
    const stream = new MessageStream<string>();
    const first = stream.push('a');
    const second = stream.push('b');
    for await (const s of stream) {
      expect(s).toBe('a');
      break;
    }
    await Promise.all([first, second]);
    await expect(stream.push('c')).rejects.toThrow('ended');
  });

  it('close() ends a reader that is waiting', async () => {
    const stream = new MessageStream<string>();
    const reading = (async () => {
      const got: string[] = [];
      for await (const s of stream) got.push(s);
      return got;
    })();
    await stream.push('x');
    stream.close();
    expect(await reading).toEqual(['x']);
  });
});
