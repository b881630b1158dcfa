/**
 * IndexedDB keys on the Node side: deterministic node ids from store + key,
 * and IndexedDB's key order (to tell whether a record is at or before a
 * store's checkpoint).
 */
import { canonicalJson } from '../format/checksum.js';
import { bytesToBase64, decodeValue } from '../format/tagged.js';

/** What the node ids of `store`'s records begin with. */
export const nodeIdPrefix = (store: string): string => `idb:${store}:`;

/**
 * The node id of the record of `store` with this encoded key: the same on every run.
 *
 * @example
 * ```ts
 * nodeIdFor('messages', 'm1'); // 'idb:messages:"m1"'
 * db.getNode(nodeIdFor('messages', 'm1'));
 * ```
 */
export function nodeIdFor(store: string, encodedKey: unknown): string {
  return `${nodeIdPrefix(store)}${canonicalJson(encodedKey)}`;
}

/** The same id from a decoded key value (as read from a reference field). */
export function nodeIdForValue(store: string, key: unknown): string {
  return nodeIdFor(store, encodeKeySync(key));
}

/** Keys are numbers, strings, Dates or arrays of those here (reference fields): encoded synchronously. */
function encodeKeySync(key: unknown): unknown {
  return encodeKeyDirect(key);
}

function encodeKeyDirect(key: unknown): unknown {
  if (key instanceof Date) return { $loom: 'Date', ms: key.getTime() };
  if (Array.isArray(key)) return key.map(encodeKeyDirect);
  if (key instanceof ArrayBuffer) return { $loom: 'ArrayBuffer', base64: bytesToBase64(new Uint8Array(key)) };
  if (ArrayBuffer.isView(key)) {
    const kind = Object.prototype.toString.call(key).slice(8, -1);
    const bytes = bytesToBase64(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
    return key instanceof DataView ? { $loom: 'ArrayBuffer', base64: bytes } : { $loom: 'TypedArray', kind, base64: bytes };
  }
  return key;
}

const TYPE_RANK = { number: 0, date: 1, string: 2, binary: 3, array: 4 } as const;

function rank(key: unknown): number {
  if (typeof key === 'number') return TYPE_RANK.number;
  if (key instanceof Date) return TYPE_RANK.date;
  if (typeof key === 'string') return TYPE_RANK.string;
  if (Array.isArray(key)) return TYPE_RANK.array;
  return TYPE_RANK.binary;
}

function bytesOf(key: unknown): Uint8Array {
  if (key instanceof ArrayBuffer) return new Uint8Array(key);
  const view = key as ArrayBufferView;
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** IndexedDB's `indexedDB.cmp` on decoded keys: -1, 0 or 1. */
export function compareKeys(a: unknown, b: unknown): number {
  const ra = rank(a), rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (typeof a === 'number' || a instanceof Date) {
    const x = Number(a), y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'string') {
    // IndexedDB compares strings by UTF-16 code units, as JS `<` does.
    return a < (b as string) ? -1 : a > (b as string) ? 1 : 0;
  }
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    for (let i = 0; i < Math.min(a.length, bb.length); i++) {
      const c = compareKeys(a[i], bb[i]);
      if (c !== 0) return c;
    }
    return a.length === bb.length ? 0 : a.length < bb.length ? -1 : 1;
  }
  const x = bytesOf(a), y = bytesOf(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

/** Compares two encoded keys (as they travel in the stream and sit in checkpoints). */
export function compareEncodedKeys(a: unknown, b: unknown): number {
  return compareKeys(decodeValue(a), decodeValue(b));
}
