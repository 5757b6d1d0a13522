/**
 * Certificate signature checks, all through the CryptoProvider: ecdsa-with-SHA256 (RFC 5758
 * §3.2, parameters absent) over a P-256 issuer key with `p256.verify`, which every provider
 * has; any other algorithm with the provider's optional `verifyCertificateSignature`. An
 * algorithm the provider cannot check is "unsupported", never a pass.
 */
import type { CryptoProvider, P256PublicKey } from '../crypto/provider.js';
import { OID_EC_PUBLIC_KEY, OID_SECP256R1, type Certificate } from './certificate.js';

export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

export type SignatureCheck = 'valid' | 'invalid' | 'unsupported';

/** Issuer keys parsed for p256.verify, per certificate and provider: trust anchors verify every handshake. */
const p256Keys = new WeakMap<Certificate, { crypto: CryptoProvider; key: P256PublicKey | null }>();

function p256Key(crypto: CryptoProvider, issuer: Certificate): P256PublicKey | null {
  const cached = p256Keys.get(issuer);
  if (cached && cached.crypto === crypto) return cached.key;
  let key: P256PublicKey | null;
  try {
    key = crypto.p256.importPublicKey(issuer.subjectPublicKeyInfo.der);
  } catch {
    key = null;
  }
  p256Keys.set(issuer, { crypto, key });
  return key;
}

/** A PSK-only provider (createPurePskCrypto) has no P-256: any use of it throws. */
function hasP256(crypto: CryptoProvider): boolean {
  try {
    return typeof crypto.p256.verify === 'function';
  } catch {
    return false;
  }
}

/** Whether `issuer`'s key signed `cert`. */
export function checkSignature(crypto: CryptoProvider, cert: Certificate, issuer: Certificate): SignatureCheck {
  const alg = cert.signatureAlgorithm;
  const spki = issuer.subjectPublicKeyInfo;
  if (alg.oid === OID_ECDSA_WITH_SHA256 && alg.parameters === undefined && spki.algorithm.oid === OID_EC_PUBLIC_KEY && spki.namedCurve === OID_SECP256R1) {
    if (!hasP256(crypto)) return 'unsupported';
    const key = p256Key(crypto, issuer);
    return key && crypto.p256.verify(key, cert.tbs, cert.signature) ? 'valid' : 'invalid';
  }
  const r = crypto.verifyCertificateSignature?.({ oid: alg.oid, parameters: alg.parameters }, spki.der, cert.tbs, cert.signature);
  return r === undefined ? 'unsupported' : r ? 'valid' : 'invalid';
}
