/**
 * JSON-safe encoding of structured-clone values (what IndexedDB stores).
 * Values JSON cannot carry become `{ $loom: <tag>, ... }` objects, so the
 * importer restores them exactly. Used by both entry points: no Node or
 * browser API beyond `btoa`/`atob`-free base64 written here.
 */

export type TaggedValue =
  | { $loom: 'Date'; ms: number }
  | { $loom: 'TypedArray'; kind: TypedArrayKind; base64: string }
  | { $loom: 'ArrayBuffer'; base64: string }
  | { $loom: 'Blob'; type: string; base64: string }
  | { $loom: 'Map'; entries: Array<[unknown, unknown]> }
  | { $loom: 'Set'; values: unknown[] }
  | { $loom: 'Number'; value: 'NaN' | 'Infinity' | '-Infinity' }
  | { $loom: 'BigInt'; value: string }
  | { $loom: 'Undefined' };

export const TYPED_ARRAY_KINDS = [
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
] as const;
export type TypedArrayKind = (typeof TYPED_ARRAY_KINDS)[number];

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!, b = bytes[i + 1], c = bytes[i + 2];
    out += B64[a >> 2]! + B64[((a & 3) << 4) | ((b ?? 0) >> 4)]!;
    out += b === undefined ? '=' : B64[((b & 15) << 2) | ((c ?? 0) >> 6)]!;
    out += c === undefined ? '=' : B64[c & 63]!;
  }
  return out;
}

export function base64ToBytes(text: string): Uint8Array {
  const clean = text.replace(/=+$/u, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0, acc = 0, o = 0;
  for (const ch of clean) {
    const v = B64_INDEX.get(ch);
    if (v === undefined) throw new TypeError(`invalid base64 character ${JSON.stringify(ch)}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 255;
    }
  }
  return out;
}

function viewBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function typedArrayKind(value: ArrayBufferView): TypedArrayKind | undefined {
  const name = Object.prototype.toString.call(value).slice(8, -1);
  return (TYPED_ARRAY_KINDS as readonly string[]).includes(name) ? (name as TypedArrayKind) : undefined;
}

function isBlob(value: unknown): value is Blob {
  return typeof Blob !== 'undefined' && value instanceof Blob;
}

/** True when `value` holds a Blob anywhere: those need an async read, done outside the IndexedDB transaction. */
export function containsBlob(value: unknown): boolean {
  if (isBlob(value)) return true;
  if (value instanceof Map) return [...value].some(([k, v]) => containsBlob(k) || containsBlob(v));
  if (value instanceof Set) return [...value].some(containsBlob);
  if (Array.isArray(value)) return value.some(containsBlob);
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer) && !(value instanceof Date)) {
    return Object.values(value).some(containsBlob);
  }
  return false;
}

/** Encodes a structured-clone value as JSON-safe data (Blobs read asynchronously). */
export async function encodeValue(value: unknown): Promise<unknown> {
  if (value === undefined) return { $loom: 'Undefined' };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    return { $loom: 'Number', value: Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity' };
  }
  if (typeof value === 'bigint') return { $loom: 'BigInt', value: value.toString() };
  if (value instanceof Date) return { $loom: 'Date', ms: value.getTime() };
  if (ArrayBuffer.isView(value)) {
    const kind = typedArrayKind(value);
    const base64 = bytesToBase64(viewBytes(value));
    // A DataView has no element kind: its bytes travel as an ArrayBuffer.
    return kind ? { $loom: 'TypedArray', kind, base64 } : { $loom: 'ArrayBuffer', base64 };
  }
  if (value instanceof ArrayBuffer) return { $loom: 'ArrayBuffer', base64: bytesToBase64(new Uint8Array(value)) };
  if (isBlob(value)) return { $loom: 'Blob', type: value.type, base64: bytesToBase64(new Uint8Array(await value.arrayBuffer())) };
  if (value instanceof Map) {
    const entries: Array<[unknown, unknown]> = [];
    for (const [k, v] of value) entries.push([await encodeValue(k), await encodeValue(v)]);
    return { $loom: 'Map', entries };
  }
  if (value instanceof Set) {
    const values: unknown[] = [];
    for (const v of value) values.push(await encodeValue(v));
    return { $loom: 'Set', values };
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) out.push(await encodeValue(v));
    return out;
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await encodeValue(v);
    return out;
  }
  throw new TypeError(`cannot export a value of type ${typeof value}`);
}

/** Decoded values: what the importer maps (Blobs come back as `{ type, bytes }`, since Node has no IndexedDB Blob to restore). */
export interface DecodedBlob {
  readonly blobType: string;
  readonly bytes: Uint8Array;
}

const TYPED_ARRAY_CTORS: Record<TypedArrayKind, new (buffer: ArrayBufferLike) => ArrayBufferView> = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
};

function isTagged(value: object): value is TaggedValue {
  return typeof (value as { $loom?: unknown }).$loom === 'string';
}

/** Restores what {@link encodeValue} wrote. */
export function decodeValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(decodeValue);
  if (isTagged(value)) {
    switch (value.$loom) {
      case 'Undefined': return undefined;
      case 'Number': return Number(value.value);
      case 'BigInt': return BigInt(value.value);
      case 'Date': return new Date(value.ms);
      case 'ArrayBuffer': {
        const bytes = base64ToBytes(value.base64);
        return bytes.slice().buffer;
      }
      case 'TypedArray': {
        const bytes = base64ToBytes(value.base64);
        const Ctor = TYPED_ARRAY_CTORS[value.kind];
        if (!Ctor) throw new TypeError(`unknown typed array kind ${JSON.stringify(value.kind)}`);
        return new Ctor(bytes.slice().buffer);
      }
      case 'Blob': return { blobType: value.type, bytes: base64ToBytes(value.base64) } satisfies DecodedBlob;
      case 'Map': return new Map(value.entries.map(([k, v]) => [decodeValue(k), decodeValue(v)]));
      case 'Set': return new Set(value.values.map(decodeValue));
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = decodeValue(v);
  return out;
}
