/**
 * A seeded crypto provider for the fuzz worlds: node:crypto's AES-CCM, hashes and P-256
 * verification, with every random byte (randoms, cookie secrets, ephemeral ECDH keys, the
 * hedging of signatures) drawn from a seeded PRNG, so a world and every finding in it replay
 * from the world's seed. Ephemeral ECDH runs on node:crypto with a seeded private key (fast);
 * signatures are the pure provider's (@noble/curves, RFC 6979 nonces: deterministic, about
 * 3 ms each, affordable because ECDHE handshakes are rare in the fuzz inputs) for the keys
 * registered with {@link signingKey}. Test-only: never a source of real keys.
 */
import { createECDH } from 'node:crypto';
import { nodeCrypto } from '../../lib/crypto/node.js';
import type { CryptoProvider, P256PrivateKey } from '../../lib/crypto/provider.js';
import { createPureP256 } from '../../lib/crypto/pure/p256.js';
import { Rng } from './rng.js';

/** node:crypto private key -> the same key in the pure provider (which signs deterministically). */
const pureKeys = new WeakMap<P256PrivateKey, P256PrivateKey>();

/** A node:crypto private key, from a scalar or PEM, registered for deterministic signing. */
export function signingKey(input: Uint8Array | string): P256PrivateKey {
  const pure = createPureP256(() => new Uint8Array(48));
  const node = typeof input === 'string' ? nodeCrypto.p256.importPrivateKey(input) : nodeCrypto.p256.privateKeyFromScalar(input);
  pureKeys.set(node, typeof input === 'string' ? pure.importPrivateKey(input) : pure.privateKeyFromScalar(input));
  return node;
}

/** The provider of one fuzz world; `seed` fixes every random byte it will produce. */
export function deterministicCrypto(seed: number): CryptoProvider {
  const rng = new Rng(seed);
  const random = (n: number) => rng.bytes(n);
  const pure = createPureP256(random);
  return {
    ...nodeCrypto,
    name: 'fuzz-seeded',
    random,
    p256: {
      ...nodeCrypto.p256,
      generateEcdh() {
        const ecdh = createECDH('prime256v1');
        // a 32-byte scalar below the group order (a first byte under 0xff makes it so)
        const d = random(32);
        d[0] = d[0]! % 0xff;
        if (d.every((b) => b === 0)) d[31] = 1;
        ecdh.setPrivateKey(d);
        const publicKey = new Uint8Array(ecdh.getPublicKey());
        return {
          publicKey,
          deriveSecret(peer) {
            return new Uint8Array(ecdh.computeSecret(peer));
          },
        };
      },
      sign(key, data) {
        const p = pureKeys.get(key);
        return p ? pure.sign(p, data) : nodeCrypto.p256.sign(key, data);
      },
    },
  };
}
