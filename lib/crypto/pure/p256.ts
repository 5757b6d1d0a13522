/**
 * P-256 (secp256r1) ECDH and ECDSA-with-SHA-256 over `@noble/curves`, no node APIs.
 *
 * - Key material comes from the injected `random`: secret keys from 48 random bytes reduced
 *   mod n (FIPS 186-5 A.2.1, as `@noble/curves` does it); signatures are RFC 6979 deterministic
 *   nonces hedged with 32 random bytes. Separately, `@noble/curves` blinds secret scalar
 *   multiplications with bytes from `globalThis.crypto.getRandomValues` when the runtime has
 *   it, and falls back to its unblinded constant-time path when it does not: that is
 *   side-channel hardening only, never key material, so it needs no injected source.
 * - Signatures are DER ECDSA-Sig-Value. Verification accepts high-S signatures (`lowS: false`):
 *   OpenSSL, GnuTLS and tinydtls do not normalise S (DESIGN.md "Known traps").
 * - The message digest is lib/crypto/sha256.ts (the provider's SHA-256), passed pre-hashed.
 */
import { p256 as curve } from '@noble/curves/nist.js';
import { DecodeError } from '../../bytes/reader.js';
import { pointFromSpki, spkiFromPoint } from '../p256-spki.js';
import type { EcdhKeyPair, P256, P256PrivateKey, P256PublicKey } from '../provider.js';
import { sha256 } from '../sha256.js';
import { looksLikePem, pemToDer } from '../../bytes/pem.js';
import { latin1 } from '../../bytes/util.js';
import { parseEcPrivateKey } from './ec-private-key.js';

/** Private scalars live here, keyed by the opaque key object, never on the object itself. */
const scalars = new WeakMap<P256PrivateKey, Uint8Array>();

function uncompressedPoint(p: Uint8Array, what: string): Uint8Array {
  if (p.length !== 65 || p[0] !== 0x04) throw new DecodeError(`${what} is not an uncompressed P-256 point`);
  return p;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function createPureP256(random: (n: number) => Uint8Array): P256 {
  function fromScalar(d: Uint8Array, expectPoint?: Uint8Array): P256PrivateKey {
    if (d.length !== 32 || !curve.utils.isValidSecretKey(d)) throw new RangeError('not a valid P-256 private scalar');
    const point = curve.getPublicKey(d, false);
    if (expectPoint !== undefined && !sameBytes(point, expectPoint)) throw new DecodeError('P-256 private key does not match its public key');
    const key: P256PrivateKey = Object.freeze({ publicKey: Object.freeze({ spki: spkiFromPoint(point), point }) });
    scalars.set(key, d.slice());
    return key;
  }

  return {
    generateEcdh(): EcdhKeyPair {
      const secret = curve.utils.randomSecretKey(random(curve.lengths.seed ?? 48));
      const publicKey = curve.getPublicKey(secret, false);
      return {
        publicKey,
        deriveSecret(peerPublicKey) {
          // fromBytes inside getSharedSecret rejects points off the curve and the identity.
          const shared = curve.getSharedSecret(secret, uncompressedPoint(peerPublicKey, 'peer ECDH key'), true);
          return shared.slice(1);
        },
      };
    },

    importPublicKey(spki): P256PublicKey {
      const point = pointFromSpki(spki);
      curve.Point.fromBytes(point); // throws unless on the curve
      return Object.freeze({ spki: spki.slice(), point: point.slice() });
    },

    importPrivateKey(input): P256PrivateKey {
      let der: Uint8Array;
      if (typeof input === 'string' || looksLikePem(input)) {
        const text = typeof input === 'string' ? input : latin1(input);
        der = pemToDer(text, ['PRIVATE KEY', 'EC PRIVATE KEY']).der;
      } else {
        der = input;
      }
      const { d, point } = parseEcPrivateKey(der);
      try {
        return fromScalar(d, point);
      } finally {
        d.fill(0);
      }
    },

    privateKeyFromScalar(d): P256PrivateKey {
      return fromScalar(d);
    },

    sign(key, data): Uint8Array {
      const d = scalars.get(key);
      if (d === undefined) throw new TypeError('not a private key of the pure crypto provider');
      return curve.sign(sha256(data), d, { prehash: false, format: 'der', extraEntropy: random(32) });
    },

    verify(key, data, derSignature): boolean {
      try {
        return curve.verify(derSignature, sha256(data), key.point, { prehash: false, format: 'der', lowS: false });
      } catch {
        return false;
      }
    },
  };
}
