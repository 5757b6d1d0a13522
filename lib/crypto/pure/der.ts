/**
 * The little DER and PEM the pure provider needs to import P-256 keys, without node APIs:
 * a TLV reader (X.690 §8.1, DER definite lengths, single-byte tags), RFC 7468 PEM with a
 * strict base64 decoder, and the two private-key syntaxes:
 * ```
 * PrivateKeyInfo ::= SEQUENCE {                   -- PKCS#8, RFC 5208 / RFC 5958
 *   version INTEGER (0 | 1),
 *   privateKeyAlgorithm SEQUENCE { id-ecPublicKey, namedCurve secp256r1 },
 *   privateKey OCTET STRING,                      -- holds an ECPrivateKey
 *   attributes [0] IMPLICIT ... OPTIONAL,
 *   publicKey  [1] IMPLICIT BIT STRING OPTIONAL }
 *
 * ECPrivateKey ::= SEQUENCE {                     -- SEC1, RFC 5915
 *   version INTEGER { ecPrivkeyVer1(1) },
 *   privateKey OCTET STRING,                      -- the scalar, 32 bytes for P-256
 *   parameters [0] ECParameters {{ NamedCurve }} OPTIONAL,
 *   publicKey  [1] BIT STRING OPTIONAL }
 * ```
 */
import { DecodeError } from '../../bytes/reader.js';

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_SEQUENCE = 0x30;

/** id-ecPublicKey (1.2.840.10045.2.1) and secp256r1 / prime256v1 (1.2.840.10045.3.1.7), OID contents. */
export const OID_EC_PUBLIC_KEY = new Uint8Array([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
export const OID_P256 = new Uint8Array([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);

export interface Tlv {
  tag: number;
  /** The contents (a view). */
  value: Uint8Array;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The TLVs of `b`, in order; every byte must belong to one (no trailing data). */
export function readTlvs(b: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let o = 0;
  while (o < b.length) {
    const tag = b[o++]!;
    if ((tag & 0x1f) === 0x1f) throw new DecodeError('DER: multi-byte tags are not supported');
    if (o >= b.length) throw new DecodeError('DER: truncated length');
    let len = b[o++]!;
    if (len === 0x80) throw new DecodeError('DER: indefinite length');
    if (len > 0x80) {
      const n = len & 0x7f;
      if (n > 3) throw new DecodeError('DER: length too large');
      if (o + n > b.length) throw new DecodeError('DER: truncated length');
      if (b[o] === 0) throw new DecodeError('DER: non-minimal length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[o++]!;
      if (len < 0x80) throw new DecodeError('DER: non-minimal length');
    }
    if (o + len > b.length) throw new DecodeError('DER: truncated value');
    out.push({ tag, value: b.subarray(o, o + len) });
    o += len;
  }
  return out;
}

/** The one TLV that makes up all of `b`, which must have tag `tag`. */
export function readOne(b: Uint8Array, tag: number): Uint8Array {
  const all = readTlvs(b);
  if (all.length !== 1 || all[0]!.tag !== tag) throw new DecodeError(`DER: expected one element with tag 0x${tag.toString(16)}`);
  return all[0]!.value;
}

function expect(t: Tlv | undefined, tag: number, what: string): Uint8Array {
  if (t === undefined || t.tag !== tag) throw new DecodeError(`DER: expected ${what}`);
  return t.value;
}

/** A small non-negative INTEGER (versions). */
function smallInt(v: Uint8Array): number {
  if (v.length !== 1 || v[0]! > 0x7f) throw new DecodeError('DER: unexpected INTEGER');
  return v[0]!;
}

/** The P-256 private key a DER structure carries: the scalar and, when present, the public point. */
export interface EcPrivateKeyParts {
  /** The private scalar, left-padded to 32 bytes. */
  d: Uint8Array;
  /** The uncompressed public point if the encoding carries one. */
  point?: Uint8Array;
}

function checkNamedCurve(params: Uint8Array): void {
  if (!same(readOne(params, TAG_OID), OID_P256)) throw new DecodeError('not a P-256 key (curve)');
}

/** SEC1 ECPrivateKey; `curveKnown` when an outer PKCS#8 wrapper already named P-256. */
export function parseSec1(der: Uint8Array, curveKnown = false): EcPrivateKeyParts {
  const f = readTlvs(readOne(der, TAG_SEQUENCE));
  if (smallInt(expect(f[0], TAG_INTEGER, 'ECPrivateKey version')) !== 1) throw new DecodeError('ECPrivateKey: version must be 1');
  const raw = expect(f[1], TAG_OCTET_STRING, 'ECPrivateKey privateKey');
  if (raw.length === 0 || raw.length > 32) throw new DecodeError('not a P-256 private scalar (length)');
  const d = new Uint8Array(32);
  d.set(raw, 32 - raw.length);
  let point: Uint8Array | undefined;
  let named = curveKnown;
  let last = 0;
  for (const t of f.slice(2)) {
    if (t.tag === 0xa0 && last < 1) {
      checkNamedCurve(t.value);
      named = true;
      last = 1;
    } else if (t.tag === 0xa1 && last < 2) {
      const bits = readOne(t.value, TAG_BIT_STRING);
      if (bits.length !== 66 || bits[0] !== 0 || bits[1] !== 0x04) throw new DecodeError('ECPrivateKey: public key is not an uncompressed P-256 point');
      point = bits.subarray(1);
      last = 2;
    } else {
      throw new DecodeError('ECPrivateKey: unexpected field');
    }
  }
  if (!named) throw new DecodeError('ECPrivateKey names no curve');
  return point ? { d, point } : { d };
}

/** PKCS#8 PrivateKeyInfo / OneAsymmetricKey holding a P-256 ECPrivateKey. */
export function parsePkcs8(der: Uint8Array): EcPrivateKeyParts {
  const f = readTlvs(readOne(der, TAG_SEQUENCE));
  const version = smallInt(expect(f[0], TAG_INTEGER, 'PrivateKeyInfo version'));
  if (version > 1) throw new DecodeError('PrivateKeyInfo: unknown version');
  const alg = readTlvs(expect(f[1], TAG_SEQUENCE, 'privateKeyAlgorithm'));
  if (alg.length !== 2 || !same(expect(alg[0], TAG_OID, 'algorithm OID'), OID_EC_PUBLIC_KEY)) throw new DecodeError('not an EC private key');
  if (!same(expect(alg[1], TAG_OID, 'named curve'), OID_P256)) throw new DecodeError('not a P-256 key (curve)');
  const inner = parseSec1(expect(f[2], TAG_OCTET_STRING, 'privateKey'), true);
  for (const t of f.slice(3)) if (t.tag !== 0xa0 && t.tag !== 0x81) throw new DecodeError('PrivateKeyInfo: unexpected field');
  return inner;
}

/** PKCS#8 or SEC1 DER, told apart by their second field (an AlgorithmIdentifier vs the scalar). */
export function parseEcPrivateKey(der: Uint8Array): EcPrivateKeyParts {
  const f = readTlvs(readOne(der, TAG_SEQUENCE));
  if (f[1]?.tag === TAG_SEQUENCE) return parsePkcs8(der);
  if (f[1]?.tag === TAG_OCTET_STRING) return parseSec1(der);
  throw new DecodeError('neither a PKCS#8 nor a SEC1 private key');
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;

/** Standard base64 (RFC 4648 §4) with `=` padding; whitespace is ignored. */
export function base64Decode(s: string): Uint8Array {
  const clean = s.replace(/[\s]+/g, '');
  if (clean.length % 4 !== 0) throw new DecodeError('base64: length is not a multiple of 4');
  const pad = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((clean.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < clean.length; i += 4) {
    let v = 0;
    for (let j = 0; j < 4; j++) {
      const ch = clean.charCodeAt(i + j);
      const isPad = ch === 0x3d && i + 4 === clean.length && j >= 4 - pad;
      const x = isPad ? 0 : ch < 128 ? B64_VALUE[ch]! : -1;
      if (x < 0) throw new DecodeError('base64: invalid character');
      v = (v << 6) | x;
    }
    out[o++] = v >>> 16;
    if (o < out.length) out[o++] = (v >>> 8) & 0xff;
    if (o < out.length) out[o++] = v & 0xff;
  }
  return out;
}

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** Every RFC 7468 block in `text` ("-----BEGIN label-----" ... "-----END label-----"). */
export function readPem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const label = m[1]!;
    const body = m[2]!;
    // RFC 1421 encapsulated headers (Proc-Type: 4,ENCRYPTED / DEK-Info) mean an encrypted key.
    if (body.includes(':')) throw new DecodeError(`PEM ${label}: encrypted or header-carrying PEM is not supported`);
    out.push({ label, der: base64Decode(body) });
  }
  return out;
}

/** The DER of the first PEM block whose label is one of `labels`. */
export function pemToDer(text: string, labels: readonly string[]): { label: string; der: Uint8Array } {
  for (const b of readPem(text)) if (labels.includes(b.label)) return b;
  throw new DecodeError(`no PEM block labelled ${labels.join(' or ')}`);
}
