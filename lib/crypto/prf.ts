import type { CryptoProvider } from './provider.js';
import { HmacSha256Key } from './sha256.js';

/**
 * The secret as bytes, or as the provider's HMAC key made from them (its states prepared once
 * for several PRF calls under one secret: the key block and both Finished under the master).
 */
export type PrfSecret = Uint8Array | ReturnType<CryptoProvider['hmacSha256Key']>;

/** A(i), and the last block when only part of it is wanted: shared by every call, wiped after each. */
const A = new Uint8Array(32);
const LAST = new Uint8Array(32);
/** The MAC inputs, shared by every call (the PRF never runs inside itself); emptied after each. */
const FIRST: Uint8Array[] = [A, A];
const BLOCK: Uint8Array[] = [A, A, A];
const CHAIN: Uint8Array[] = [A];

/**
 * The TLS 1.2 PRF with SHA-256 (RFC 5246 §5):
 *   P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) + HMAC_hash(secret, A(2) + seed) + ...
 *   A(0) = seed, A(i) = HMAC_hash(secret, A(i-1))
 *   PRF(secret, label, seed) = P_<hash>(secret, label + seed)
 * label + seed is passed to the HMAC in two parts, never joined, and the blocks are written
 * straight into the output (with the JS HMAC: no array per MAC). Apart from the label and the
 * output, a call makes no array: a server's handshake runs it four times, and its garbage is
 * what sets how often the young generation is collected (each time a pause of tenths of a ms).
 */
export function prf(c: CryptoProvider, secret: PrfSecret, label: string, seed: Uint8Array, length: number): Uint8Array {
  const key = secret instanceof Uint8Array ? c.hmacSha256Key(secret) : secret;
  const mac =
    key instanceof HmacSha256Key
      ? (o: Uint8Array, at: number, d: Uint8Array[]) => key.macInto(o, at, d)
      : (o: Uint8Array, at: number, d: Uint8Array[]) => o.set(key.mac(...d), at);
  const l = new Uint8Array(label.length);
  for (let i = 0; i < label.length; i++) l[i] = label.charCodeAt(i);
  const out = new Uint8Array(length);
  const f = FIRST, b = BLOCK;
  f[0] = b[1] = l;
  f[1] = b[2] = seed;
  mac(A, 0, f);
  for (let filled = 0; filled < length; filled += 32) {
    // A(i+1) = HMAC(A(i)), in place: the input is read before the output is written
    if (filled > 0) mac(A, 0, CHAIN);
    if (length - filled >= 32) mac(out, filled, b);
    else {
      mac(LAST, 0, b);
      for (let i = 0; filled + i < length; i++) out[filled + i] = LAST[i]!;
    }
  }
  A.fill(0);
  LAST.fill(0);
  f[0] = f[1] = b[1] = b[2] = A; // no reference kept to this call's seed
  return out;
}
