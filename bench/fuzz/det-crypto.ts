/**
 * A seeded crypto provider for the fuzz worlds: node:crypto's AES-CCM, hashes and P-256, with
 * every random byte (randoms, cookies' secrets, PSK handshakes entirely, ephemeral ECDH keys)
 * drawn from a seeded PRNG, so a world and the findings in it replay from the world's seed.
 * The one exception is ECDSA signatures (node:crypto picks its nonces; a deterministic signer
 * in JS costs 3 ms a signature, a third of the fuzzer's time): an ECDHE handshake replays with
 * the same messages and lengths but other signature bytes. Test-only: never a source of keys.
 */
import { createECDH } from 'node:crypto';
import { nodeCrypto } from '../../lib/crypto/node.js';
import type { CryptoProvider } from '../../lib/crypto/provider.js';
import { Rng } from './rng.js';

/** The provider of one fuzz world; `seed` fixes every random byte it will produce. */
export function deterministicCrypto(seed: number): CryptoProvider {
  const rng = new Rng(seed);
  const random = (n: number) => rng.bytes(n);
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
    },
  };
}
