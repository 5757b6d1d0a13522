import { DecodeError } from '../bytes/reader.js';

/**
 * The fixed DER prefix of a P-256 SubjectPublicKeyInfo with an uncompressed point (RFC 5480):
 * ```
 * SEQUENCE { SEQUENCE { OID id-ecPublicKey, OID secp256r1 }, BIT STRING 00 04 X Y }
 * ```
 */
export const P256_SPKI_PREFIX = new Uint8Array([
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03,
  0x42, 0x00,
]);
export const P256_SPKI_LENGTH = P256_SPKI_PREFIX.length + 65;

/** The 65-byte uncompressed point of a P-256 SPKI; DecodeError for anything else. */
export function pointFromSpki(spki: Uint8Array): Uint8Array {
  if (spki.length !== P256_SPKI_LENGTH) throw new DecodeError('not a P-256 SubjectPublicKeyInfo (length)');
  for (let i = 0; i < P256_SPKI_PREFIX.length; i++) if (spki[i] !== P256_SPKI_PREFIX[i]) throw new DecodeError('not a P-256 SubjectPublicKeyInfo');
  if (spki[P256_SPKI_PREFIX.length] !== 0x04) throw new DecodeError('P-256 key is not an uncompressed point');
  return spki.subarray(P256_SPKI_PREFIX.length);
}

export function spkiFromPoint(point: Uint8Array): Uint8Array {
  if (point.length !== 65 || point[0] !== 0x04) throw new DecodeError('not an uncompressed P-256 point');
  const out = new Uint8Array(P256_SPKI_LENGTH);
  out.set(P256_SPKI_PREFIX, 0);
  out.set(point, P256_SPKI_PREFIX.length);
  return out;
}
