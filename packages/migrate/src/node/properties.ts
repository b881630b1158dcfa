/** Decoded IndexedDB values → LoomDB property values (JSON). */
import type { JsonValue } from '@loomdb/db';
import { bytesToBase64, type DecodedBlob } from '../format/tagged.js';

function isDecodedBlob(value: unknown): value is DecodedBlob {
  return value !== null && typeof value === 'object' && 'blobType' in value && (value as DecodedBlob).bytes instanceof Uint8Array;
}

/**
 * A property value for `value`: Dates become ms since epoch (as every LoomDB
 * time is), typed arrays number arrays, binary and Blobs base64 strings
 * (Blobs as `{ type, base64 }`), Maps objects, Sets arrays, bigints strings;
 * `undefined` and non-finite numbers are left out (`undefined` returned).
 */
export function toPropertyValue(value: unknown): JsonValue | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.getTime();
  if (value instanceof ArrayBuffer) return bytesToBase64(new Uint8Array(value));
  if (ArrayBuffer.isView(value)) {
    if (value instanceof DataView) return bytesToBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    return Array.from(value as unknown as ArrayLike<number | bigint>, (n) => (typeof n === 'bigint' ? n.toString() : n));
  }
  if (isDecodedBlob(value)) return { type: value.blobType, base64: bytesToBase64(value.bytes) };
  if (value instanceof Set) return [...value].map((v) => toPropertyValue(v) ?? null);
  const entries: Iterable<[unknown, unknown]> = value instanceof Map ? value : Object.entries(value as object);
  if (Array.isArray(value)) return value.map((v) => toPropertyValue(v) ?? null);
  const out: { [key: string]: JsonValue } = {};
  for (const [k, v] of entries) {
    const converted = toPropertyValue(v);
    if (converted !== undefined) out[String(k)] = converted;
  }
  return out;
}

/** A vector from a decoded field: a typed array or an array of finite numbers; else `undefined`. */
export function toVector(value: unknown): Float32Array | undefined {
  if (value instanceof Float32Array) return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array)) {
    return Float32Array.from(value as unknown as ArrayLike<number>);
  }
  if (Array.isArray(value) && value.length > 0 && value.every((n) => typeof n === 'number' && Number.isFinite(n))) return Float32Array.from(value);
  return undefined;
}
