import type { CryptoProvider } from './provider.js';
import { HmacSha256Key } from './sha256.js';

/**
 * The TLS 1.2 PRF with SHA-256 (RFC 5246 §5):
 *   P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) + HMAC_hash(secret, A(2) + seed) + ...
 *   A(0) = seed, A(i) = HMAC_hash(secret, A(i-1))
 *   PRF(secret, label, seed) = P_<hash>(secret, label + seed)
 * label + seed is passed to the HMAC in two parts, never joined, and the blocks are written
 * straight into the output (with the JS HMAC: no array per MAC; A(i) is kept in one buffer).
 */
export function prf(c: CryptoProvider, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const l = new Uint8Array(label.length);
  for (let i = 0; i < label.length; i++) l[i] = label.charCodeAt(i);
  const out = new Uint8Array(length);
  const key = c.hmacSha256Key(secret);
  const macInto =
    key instanceof HmacSha256Key
      ? (o: Uint8Array, at: number, d: Uint8Array[]) => key.macInto(o, at, d)
      : (o: Uint8Array, at: number, d: Uint8Array[]) => o.set(key.mac(...d), at);
  const a = new Uint8Array(32);
  macInto(a, 0, [l, seed]);
  const block = [a, l, seed];
  for (let filled = 0; ; filled += 32) {
    if (length - filled >= 32) macInto(out, filled, block);
    else {
      const last = new Uint8Array(32);
      macInto(last, 0, block);
      for (let i = 0; filled + i < length; i++) out[filled + i] = last[i]!;
    }
    if (filled + 32 >= length) return out;
    macInto(a, 0, [a]); // A(i+1) = HMAC(A(i)), in place: the input is read before the output is written
  }
}
