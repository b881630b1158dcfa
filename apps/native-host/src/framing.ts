import { endianness } from 'node:os';

/**
 * Largest message the host accepts from the browser, in bytes of JSON. Chrome
 * allows up to 4 GiB browser → host; 64 MiB is ample for a batch of chat
 * events and keeps one bad length from making the host buffer gigabytes.
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder(MAX_INCOMING_BYTES); // the default
 * ```
 */
export const MAX_INCOMING_BYTES = 64 * 1024 * 1024;

/**
 * Largest message Chrome accepts from a host (its `kMaximumNativeMessageSize`); larger replies are chunked.
 *
 * @example
 * ```ts
 * const parts = replyMessages(id, replyJson, MAX_OUTGOING_BYTES); // bigger replies go in chunks
 * ```
 */
export const MAX_OUTGOING_BYTES = 1024 * 1024;

/**
 * Bytes of the length prefix in front of every message.
 *
 * @example
 * ```ts
 * const frame = encodeFrame('{"ok":true}');
 * console.log(frame.length - HEADER_BYTES); // the JSON's byte length
 * ```
 */
export const HEADER_BYTES = 4;

/** Chrome writes and reads the length in the byte order of the machine it runs on. */
const littleEndian = endianness() === 'LE';

/**
 * One frame: the 4-byte length in native byte order, then the UTF-8 JSON.
 *
 * @example
 * ```ts
 * process.stdout.write(encodeFrame(JSON.stringify({ id: 1, ok: true, result: {} })));
 * ```
 */
export function encodeFrame(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  if (littleEndian) frame.writeUInt32LE(body.length, 0);
  else frame.writeUInt32BE(body.length, 0);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

/**
 * What the decoder found in the input.
 *
 * @example
 * ```ts
 * for (const f of new FrameDecoder().push(chunk) as DecodedFrame[]) {
 *   if (f.kind === 'frame') handle(JSON.parse(f.body.toString('utf8')));
 *   else console.error(`oversized: ${f.length} bytes`);
 * }
 * ```
 */
export type DecodedFrame =
  /** A complete frame; `body` is its bytes (still to be decoded as UTF-8 JSON). */
  | { kind: 'frame'; body: Buffer }
  /** A length the host will not read: the stream cannot be resynchronised after it, so the connection ends. */
  | { kind: 'oversized'; length: number };

/**
 * Splits the browser's byte stream into frames. Chunks arrive in any sizes
 * (a frame may span many, a chunk may hold many frames); a frame's body is
 * only handed out once all of it has arrived.
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder();
 * for (const frame of decoder.push(Buffer.from([2, 0, 0, 0, 0x7b, 0x7d]))) console.log(frame); // { kind: 'frame', body: <Buffer 7b 7d> } on a little-endian machine
 * ```
 */
export class FrameDecoder {
  readonly #maxBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Bytes needed before the next frame can be cut: its header, then header and body. Concatenating earlier would copy a large frame once per chunk. */
  #needed = HEADER_BYTES;
  #failed = false;

  constructor(maxBytes = MAX_INCOMING_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes received that do not make a whole frame yet: non-zero when the input ends mid-message. */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  /** Adds a chunk of input and returns the frames it completes; after an oversized length, nothing more. */
  push(chunk: Buffer): DecodedFrame[] {
    if (this.#failed || chunk.length === 0) return [];
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes < this.#needed) return [];
    const buffer = this.#pending.length === 1 ? chunk : Buffer.concat(this.#pending, this.#pendingBytes);
    const frames: DecodedFrame[] = [];
    let at = 0;
    this.#needed = HEADER_BYTES;
    while (buffer.length - at >= HEADER_BYTES) {
      const length = littleEndian ? buffer.readUInt32LE(at) : buffer.readUInt32BE(at);
      if (length > this.#maxBytes) {
        this.#failed = true;
        this.#pending = [];
        this.#pendingBytes = 0;
        frames.push({ kind: 'oversized', length });
        return frames;
      }
      if (buffer.length - at - HEADER_BYTES < length) {
        this.#needed = HEADER_BYTES + length;
        break;
      }
      // A copy, so a small frame does not pin a large chunk in memory.
      frames.push({ kind: 'frame', body: Buffer.from(buffer.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length)) });
      at += HEADER_BYTES + length;
    }
    const rest = buffer.subarray(at);
    this.#pending = rest.length > 0 ? [rest] : [];
    this.#pendingBytes = rest.length;
    return frames;
  }
}
