import type { CryptoProvider } from './provider.js';

/**
 * The TLS 1.2 PRF with SHA-256 (RFC 5246 §5):
 *   P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) + HMAC_hash(secret, A(2) + seed) + ...
 *   A(0) = seed, A(i) = HMAC_hash(secret, A(i-1))
 *   PRF(secret, label, seed) = P_<hash>(secret, label + seed)
 */
export function prf(c: CryptoProvider, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const labelSeed = new Uint8Array(label.length + seed.length);
  for (let i = 0; i < label.length; i++) labelSeed[i] = label.charCodeAt(i);
  labelSeed.set(seed, label.length);
  const out = new Uint8Array(length);
  const key = c.hmacSha256Key(secret);
  let a: Uint8Array = labelSeed;
  let filled = 0;
  while (filled < length) {
    a = key.mac(a);
    const block = key.mac(a, labelSeed);
    out.set(block.subarray(0, Math.min(block.length, length - filled)), filled);
    filled += block.length;
  }
  return out;
}
