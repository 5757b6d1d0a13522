import type { CryptoProvider, HashState, P256 } from './provider.js';
import { ccm8Decrypt, ccm8Encrypt } from './pure/ccm.js';
import { HmacSha256Key, Sha256, sha256 } from './sha256.js';

const NO_P256: P256 = new Proxy({} as P256, {
  get() {
    throw new TypeError('this build has no P-256 (ECDHE): use createPureCrypto from coaps/crypto/pure');
  },
});

/**
 * The pure-JS provider without P-256: SHA-256, HMAC, AES-128-CCM_8 and the injected random
 * source. A PSK-only build uses it and leaves @noble/curves out of the bundle.
 */
export function createPurePskCrypto(random: (n: number) => Uint8Array): CryptoProvider {
  const rand = (n: number): Uint8Array => {
    const out = random(n);
    if (!(out instanceof Uint8Array) || out.length !== n) throw new TypeError(`random(${n}) returned the wrong number of bytes`);
    return out;
  };
  return {
    name: 'pure',
    random: rand,
    sha256: (data) => sha256(data),
    createSha256: (): HashState => new Sha256(),
    hmacSha256: (key, ...data) => new HmacSha256Key(key).mac(...data),
    hmacSha256Key: (key) => new HmacSha256Key(key),
    ccm8Encrypt,
    ccm8Decrypt,
    p256: NO_P256,
  };
}
