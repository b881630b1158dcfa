import { MAX_OUTGOING_BYTES } from './framing.js';
import type { RequestId } from './protocol.js';

/**
 * One piece of a reply too large for one message. Concatenating `data` of
 * chunks `0 … chunks - 1` (all with the reply's `id`) gives the reply's JSON
 * text, which parses to the usual `{ id, ok, … }`.
 *
 * @example
 * ```ts
 * const parts = replyMessages(7, JSON.stringify(bigReply)).map((m) => JSON.parse(m) as ReplyChunk);
 * const whole = parts.sort((a, b) => a.chunk - b.chunk).map((p) => p.data).join('');
 * ```
 */
export interface ReplyChunk {
  id: RequestId;
  chunk: number;
  chunks: number;
  data: string;
}

/** Bytes of `text` once written as a JSON string (quotes and escapes included). */
const encodedBytes = (text: string): number => Buffer.byteLength(JSON.stringify(text), 'utf8');

/** Where to cut `text` at or before `end` without splitting a surrogate pair. */
function safeEnd(text: string, end: number): number {
  if (end >= text.length || end <= 0) return end;
  const code = text.charCodeAt(end - 1);
  return code >= 0xd800 && code <= 0xdbff ? end - 1 : end;
}

/**
 * The messages that carry `replyJson` to the browser: the reply itself when
 * it fits in `maxBytes` (Chrome refuses larger host messages), else numbered
 * {@link ReplyChunk}s, each of which fits.
 *
 * @example
 * ```ts
 * const messages = replyMessages(1, JSON.stringify({ id: 1, ok: true, result: 'x'.repeat(3_000_000) }));
 * console.log(messages.length); // 3 chunks
 * ```
 */
export function replyMessages(id: RequestId, replyJson: string, maxBytes = MAX_OUTGOING_BYTES): string[] {
  if (Buffer.byteLength(replyJson, 'utf8') <= maxBytes) return [replyJson];
  // The envelope without its data, with the widest numbers it can hold.
  const envelope = Buffer.byteLength(JSON.stringify({ id, chunk: replyJson.length, chunks: replyJson.length, data: '' }), 'utf8') - 2;
  const budget = maxBytes - envelope;
  if (budget < 16) throw new RangeError(`a chunk of at most ${maxBytes} bytes has no room for data`);
  const pieces: string[] = [];
  for (let start = 0; start < replyJson.length; ) {
    // Try the most characters that could fit, then shrink in proportion to the overshoot (escapes and multi-byte characters).
    let end = safeEnd(replyJson, Math.min(replyJson.length, start + budget));
    for (let bytes = encodedBytes(replyJson.slice(start, end)); bytes > budget; bytes = encodedBytes(replyJson.slice(start, end))) {
      end = safeEnd(replyJson, start + Math.max(1, Math.floor(((end - start) * budget) / bytes) - 1));
    }
    pieces.push(replyJson.slice(start, end));
    start = end;
  }
  return pieces.map((data, chunk) => JSON.stringify({ id, chunk, chunks: pieces.length, data } satisfies ReplyChunk));
}
