/**
 * The two private-key syntaxes the pure provider imports P-256 keys from, read with the shared
 * DER reader (lib/bytes/der.ts):
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
import { decodeBitString, decodeNonNegativeInteger, decodeOid, DerReader, readOne, readTlvs, Tag, type Tlv } from '../../bytes/der.js';
import { DecodeError } from '../../bytes/reader.js';

/** id-ecPublicKey (RFC 5480) and secp256r1 / prime256v1. */
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_P256 = '1.2.840.10045.3.1.7';

function expect(t: Tlv | undefined, tag: number, what: string): Uint8Array {
  if (t === undefined || t.tag !== tag) throw new DecodeError(`DER: expected ${what}`);
  return t.value;
}

/** A small version INTEGER. */
function version(v: Uint8Array): number {
  const n = decodeNonNegativeInteger(v);
  if (n > 127) throw new DecodeError('DER: unexpected version');
  return n;
}

/** The P-256 private key a DER structure carries: the scalar and, when present, the public point. */
export interface EcPrivateKeyParts {
  /** The private scalar, left-padded to 32 bytes. */
  d: Uint8Array;
  /** The uncompressed public point if the encoding carries one. */
  point?: Uint8Array;
}

function checkNamedCurve(params: Uint8Array): void {
  if (decodeOid(readOne(params, Tag.OID, 'namedCurve').value) !== OID_P256) throw new DecodeError('not a P-256 key (curve)');
}

/** SEC1 ECPrivateKey; `curveKnown` when an outer PKCS#8 wrapper already named P-256. */
export function parseSec1(der: Uint8Array, curveKnown = false): EcPrivateKeyParts {
  const f = readTlvs(readOne(der, Tag.SEQUENCE, 'ECPrivateKey').value);
  if (version(expect(f[0], Tag.INTEGER, 'ECPrivateKey version')) !== 1) throw new DecodeError('ECPrivateKey: version must be 1');
  const raw = expect(f[1], Tag.OCTET_STRING, 'ECPrivateKey privateKey');
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
      const bits = decodeBitString(readOne(t.value, Tag.BIT_STRING, 'ECPrivateKey publicKey').value);
      if (bits.unusedBits !== 0 || bits.bytes.length !== 65 || bits.bytes[0] !== 0x04) throw new DecodeError('ECPrivateKey: public key is not an uncompressed P-256 point');
      point = bits.bytes;
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
  const f = readTlvs(readOne(der, Tag.SEQUENCE, 'PrivateKeyInfo').value);
  if (version(expect(f[0], Tag.INTEGER, 'PrivateKeyInfo version')) > 1) throw new DecodeError('PrivateKeyInfo: unknown version');
  const alg = new DerReader(expect(f[1], Tag.SEQUENCE, 'privateKeyAlgorithm'));
  if (decodeOid(alg.next(Tag.OID, 'algorithm OID').value) !== OID_EC_PUBLIC_KEY) throw new DecodeError('not an EC private key');
  if (decodeOid(alg.next(Tag.OID, 'named curve').value) !== OID_P256) throw new DecodeError('not a P-256 key (curve)');
  alg.end('privateKeyAlgorithm');
  const inner = parseSec1(expect(f[2], Tag.OCTET_STRING, 'privateKey'), true);
  for (const t of f.slice(3)) if (t.tag !== 0xa0 && t.tag !== 0x81) throw new DecodeError('PrivateKeyInfo: unexpected field');
  return inner;
}

/** PKCS#8 or SEC1 DER, told apart by their second field (an AlgorithmIdentifier vs the scalar). */
export function parseEcPrivateKey(der: Uint8Array): EcPrivateKeyParts {
  const f = readTlvs(readOne(der, Tag.SEQUENCE, 'private key').value);
  if (f[1]?.tag === Tag.SEQUENCE) return parsePkcs8(der);
  if (f[1]?.tag === Tag.OCTET_STRING) return parseSec1(der);
  throw new DecodeError('neither a PKCS#8 nor a SEC1 private key');
}
