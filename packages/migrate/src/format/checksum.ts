/**
 * The per-store checksum the exporter writes in its manifest and the
 * importer recomputes. Order-independent (a sum of per-record hashes), so a
 * resumed import adds to the checkpointed sum instead of re-reading what it
 * already imported. Two 32-bit FNV-1a hashes with different offsets make a
 * 64-bit fingerprint without BigInt or WebCrypto (which is async).
 */

function fnv1a(text: string, offset: number): number {
  let hash = offset >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The hash of one record: its encoded key and value as exported (canonical JSON). */
export function recordHash(encodedKey: unknown, encodedValue: unknown): [number, number] {
  const text = canonicalJson([encodedKey, encodedValue]);
  return [fnv1a(text, 0x811c9dc5), fnv1a(text, 0x050c5d1f)];
}

/** A running store checksum: 16 hex digits (sum of the two hash halves, each mod 2^32). */
export class StoreChecksum {
  private hi: number;
  private lo: number;

  constructor(from = '0000000000000000') {
    this.hi = Number.parseInt(from.slice(0, 8), 16);
    this.lo = Number.parseInt(from.slice(8, 16), 16);
  }

  add(encodedKey: unknown, encodedValue: unknown): void {
    const [a, b] = recordHash(encodedKey, encodedValue);
    this.hi = (this.hi + a) >>> 0;
    this.lo = (this.lo + b) >>> 0;
  }

  toString(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }
}

/** JSON with object keys sorted, so the same record hashes the same on both sides. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}
