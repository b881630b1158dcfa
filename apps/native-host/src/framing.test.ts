import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, HEADER_BYTES } from './framing.js';

const bodies = (frames: ReturnType<FrameDecoder['push']>) => frames.map((f) => (f.kind === 'frame' ? f.body.toString('utf8') : f));

describe('encodeFrame', () => {
  it('puts the UTF-8 byte length (not the character count) in front, little-endian on this machine', () => {
    const frame = encodeFrame('{"a":"é🦀"}');
    expect(frame.readUInt32LE(0)).toBe(Buffer.byteLength('{"a":"é🦀"}'));
    expect(frame.length).toBe(HEADER_BYTES + 14);
    expect(frame.subarray(4).toString('utf8')).toBe('{"a":"é🦀"}');
  });
});

describe('FrameDecoder', () => {
  it('cuts many frames out of one chunk and one frame out of many chunks', () => {
    const stream = Buffer.concat([encodeFrame('{"n":1}'), encodeFrame('{"n":2}'), encodeFrame('"third"')]);
    expect(bodies(new FrameDecoder().push(stream))).toEqual(['{"n":1}', '{"n":2}', '"third"']);
    const decoder = new FrameDecoder();
    const got: unknown[] = [];
    for (let i = 0; i < stream.length; i += 3) got.push(...bodies(decoder.push(stream.subarray(i, i + 3))));
    expect(got).toEqual(['{"n":1}', '{"n":2}', '"third"']);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('an empty frame is a frame with an empty body', () => {
    expect(bodies(new FrameDecoder().push(Buffer.from([0, 0, 0, 0])))).toEqual(['']);
  });

  it('counts the bytes of a frame that has not fully arrived', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(encodeFrame('{"long":true}').subarray(0, 9))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(9);
  });

  it('a length over the limit is reported once, with the length, and nothing is read after it', () => {
    const decoder = new FrameDecoder(100);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(101);
    expect(decoder.push(Buffer.concat([encodeFrame('{}'), header, encodeFrame('{}')]))).toEqual([
      { kind: 'frame', body: Buffer.from('{}') },
      { kind: 'oversized', length: 101 },
    ]);
    expect(decoder.push(encodeFrame('{}'))).toEqual([]);
  });

  it('a frame at exactly the limit is read', () => {
    const body = 'x'.repeat(98);
    expect(bodies(new FrameDecoder(100).push(encodeFrame(JSON.stringify(body))))).toEqual([JSON.stringify(body)]);
  });
});
