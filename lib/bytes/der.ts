/**
 * A strict DER reader (ITU-T X.690 §8 and §10): the one ASN.1 reader of the code base, used for
 * private keys (lib/crypto/pure), public keys and X.509 certificates (lib/x509). It reads what
 * certificates and keys need and refuses everything else with a {@link DecodeError}:
 *
 * - identifier octets: single-byte tags only (tag numbers 0..30, X.690 §8.1.2.2);
 * - length octets: definite and minimal (§10.1): no indefinite form, no leading zero octets,
 *   the long form only from 128 on, at most 4 length octets;
 * - contents may not run past the enclosing value, and a value must be used up by its parts.
 *
 * Everything returned is a view of the input (no copies).
 */
import { DecodeError } from './reader.js';

/** Universal tags (X.690 §8.1.2, X.680 §8.4), as full identifier octets. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** The identifier octet of a context-specific tag `[n]` (primitive, or constructed for EXPLICIT and structured values). */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/** One DER value: its identifier octet, its contents, and its whole encoding. */
export interface Tlv {
  readonly tag: number;
  /** The contents octets (a view). */
  readonly value: Uint8Array;
  /** Identifier, length and contents octets (a view): what a signature or a comparison covers. */
  readonly der: Uint8Array;
}

const MAX_LENGTH_OCTETS = 4;

/** Reads the value starting at `at`; `end` is where the next one starts. */
function readAt(b: Uint8Array, at: number): { tlv: Tlv; end: number } {
  if (at >= b.length) throw new DecodeError('DER: truncated identifier');
  const tag = b[at]!;
  if ((tag & 0x1f) === 0x1f) throw new DecodeError('DER: high tag numbers are not supported');
  if (at + 1 >= b.length) throw new DecodeError('DER: truncated length');
  let len = b[at + 1]!;
  let p = at + 2;
  if (len === 0x80) throw new DecodeError('DER: indefinite length');
  if (len > 0x80) {
    const n = len & 0x7f;
    if (n > MAX_LENGTH_OCTETS) throw new DecodeError('DER: length too large');
    if (p + n > b.length) throw new DecodeError('DER: truncated length');
    if (b[p] === 0) throw new DecodeError('DER: non-minimal length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p++]!;
    if (len < 0x80) throw new DecodeError('DER: non-minimal length');
  }
  if (len > b.length - p) throw new DecodeError('DER: truncated contents');
  return { tlv: { tag, value: b.subarray(p, p + len), der: b.subarray(at, p + len) }, end: p + len };
}

/** A cursor over the values inside one constructed value (or a whole buffer). */
export class DerReader {
  private at = 0;
  constructor(private readonly b: Uint8Array) {}

  get done(): boolean {
    return this.at >= this.b.length;
  }

  /** The identifier octet of the next value, or undefined at the end. */
  peekTag(): number | undefined {
    return this.done ? undefined : this.b[this.at];
  }

  /** The next value; it must carry `tag` when one is given. */
  next(tag?: number, what = 'a value'): Tlv {
    if (this.done) throw new DecodeError(`DER: missing ${what}`);
    const { tlv, end } = readAt(this.b, this.at);
    if (tag !== undefined && tlv.tag !== tag) throw new DecodeError(`DER: expected ${what} (tag 0x${hex2(tag)}), got tag 0x${hex2(tlv.tag)}`);
    this.at = end;
    return tlv;
  }

  /** The next value if it carries `tag`; otherwise nothing is consumed. */
  optional(tag: number): Tlv | undefined {
    return this.peekTag() === tag ? this.next(tag) : undefined;
  }

  /** Every byte must have been read. */
  end(what = 'value'): void {
    if (!this.done) throw new DecodeError(`DER: unexpected data after the fields of ${what}`);
  }
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** Every value in `b`, in order; every byte must belong to one. */
export function readTlvs(b: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < b.length; ) {
    const r = readAt(b, at);
    out.push(r.tlv);
    at = r.end;
  }
  return out;
}

/** The one value that makes up all of `b`; it must carry `tag` when one is given. */
export function readOne(b: Uint8Array, tag?: number, what = 'a value'): Tlv {
  const r = new DerReader(b);
  const t = r.next(tag, what);
  r.end(what);
  return t;
}

/** A reader over the contents of the one value that makes up `b` (e.g. a whole SEQUENCE). */
export function readerOf(b: Uint8Array, tag: number, what: string): DerReader {
  return new DerReader(readOne(b, tag, what).value);
}

/** BOOLEAN contents (X.690 §8.2): one octet; DER wants 0xFF for TRUE, any non-zero is read as TRUE (as OpenSSL does). */
export function decodeBoolean(v: Uint8Array): boolean {
  if (v.length !== 1) throw new DecodeError('DER: BOOLEAN must be one octet');
  return v[0] !== 0;
}

/** NULL contents (X.690 §8.8): empty. */
export function decodeNull(v: Uint8Array): null {
  if (v.length !== 0) throw new DecodeError('DER: NULL must be empty');
  return null;
}

/**
 * INTEGER contents (X.690 §8.3): at least one octet, two's complement, minimal (the first nine
 * bits are never all zero or all one). Returns the contents as they are.
 */
export function decodeInteger(v: Uint8Array): Uint8Array {
  if (v.length === 0) throw new DecodeError('DER: empty INTEGER');
  if (v.length > 1 && ((v[0] === 0 && !(v[1]! & 0x80)) || (v[0] === 0xff && v[1]! & 0x80))) throw new DecodeError('DER: non-minimal INTEGER');
  return v;
}

/** A non-negative INTEGER as a number; values above 2^53 - 1 saturate there. */
export function decodeNonNegativeInteger(v: Uint8Array): number {
  decodeInteger(v);
  if (v[0]! & 0x80) throw new DecodeError('DER: negative INTEGER where a non-negative one is required');
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return Math.min(n, Number.MAX_SAFE_INTEGER);
}

/** BIT STRING contents (X.690 §8.6): the initial octet counts the unused bits (0..7) of the last octet. */
export interface BitString {
  bytes: Uint8Array;
  unusedBits: number;
}

export function decodeBitString(v: Uint8Array): BitString {
  if (v.length === 0) throw new DecodeError('DER: BIT STRING without its initial octet');
  const unusedBits = v[0]!;
  if (unusedBits > 7) throw new DecodeError('DER: BIT STRING with more than 7 unused bits');
  if (v.length === 1 && unusedBits !== 0) throw new DecodeError('DER: empty BIT STRING with unused bits');
  return { bytes: v.subarray(1), unusedBits };
}

/** A BIT STRING holding whole octets (a key, a signature): no unused bits. */
export function decodeOctetAlignedBitString(v: Uint8Array): Uint8Array {
  const b = decodeBitString(v);
  if (b.unusedBits !== 0) throw new DecodeError('DER: BIT STRING is not octet-aligned');
  return b.bytes;
}

/**
 * OBJECT IDENTIFIER contents (X.690 §8.19) in dotted form. Subidentifiers are base-128 with the
 * high bit as continuation, minimal (no leading 0x80); the first one packs two arcs
 * (X * 40 + Y, X in 0..2). Arcs beyond 2^53 (UUID OIDs under 2.25) are exact via BigInt.
 */
export function decodeOid(v: Uint8Array): string {
  if (v.length === 0) throw new DecodeError('DER: empty OBJECT IDENTIFIER');
  if (v[v.length - 1]! & 0x80) throw new DecodeError('DER: truncated OBJECT IDENTIFIER');
  const arcs: string[] = [];
  for (let i = 0; i < v.length; ) {
    if (v[i] === 0x80) throw new DecodeError('DER: non-minimal OBJECT IDENTIFIER subidentifier');
    let n = 0;
    let big: bigint | undefined;
    for (;;) {
      const byte = v[i++]!;
      if (big === undefined && n > 2 ** 45) big = BigInt(n);
      if (big !== undefined) big = big * 128n + BigInt(byte & 0x7f);
      else n = n * 128 + (byte & 0x7f);
      if (!(byte & 0x80)) break;
    }
    if (arcs.length === 0) {
      if (big !== undefined) arcs.push('2', String(big - 80n));
      else if (n < 40) arcs.push('0', String(n));
      else if (n < 80) arcs.push('1', String(n - 40));
      else arcs.push('2', String(n - 80));
    } else {
      arcs.push(big !== undefined ? String(big) : String(n));
    }
  }
  return arcs.join('.');
}
