import type { CryptoProvider } from './provider.js';
import { HmacSha256Key } from './sha256.js';
import { EMPTY_BYTES } from '../bytes/util.js';

/**
 * The secret as bytes, or as the provider's HMAC key made from them (its states prepared once
 * for several PRF calls under one secret: the key block and both Finished under the master).
 */
export type PrfSecret = Uint8Array | ReturnType<CryptoProvider['hmacSha256Key']>;

/** A(i), and the last block when only part of it is wanted: shared by every call, wiped after each. */
const A = new Uint8Array(32);
const LAST = new Uint8Array(32);
/** The MAC inputs, shared by every call (the PRF never runs inside itself); emptied after each. */
const FIRST: Uint8Array[] = [A, A, A];
const BLOCK: Uint8Array[] = [A, A, A, A];
const CHAIN: Uint8Array[] = [A];
/** Each label's bytes, made once (a handshake uses four labels, a few calls each); a few kept at most. */
const LABELS = new Map<string, Uint8Array>();
const MAX_LABELS = 8;

/**
 * The TLS 1.2 PRF with SHA-256 (RFC 5246 §5):
 *   P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) + HMAC_hash(secret, A(2) + seed) + ...
 *   A(0) = seed, A(i) = HMAC_hash(secret, A(i-1))
 *   PRF(secret, label, seed) = P_<hash>(secret, label + seed)
 * The seed may come in two parts (`seed2`: two randoms, never joined), and the output may go
 * into `out` (its first `length` bytes). label + seed is passed to the HMAC in parts, and the
 * blocks are written straight into the output (with the JS HMAC: no array per MAC). Apart from
 * the output, a call makes no array: a server's handshake runs it four times, and its garbage
 * is what sets how often the young generation is collected (each time a pause of tenths of a ms).
 */
export function prf(c: CryptoProvider, secret: PrfSecret, label: string, seed: Uint8Array, length: number, seed2: Uint8Array = EMPTY_BYTES, out = new Uint8Array(length)): Uint8Array {
  const key = secret instanceof Uint8Array ? c.hmacSha256Key(secret) : secret;
  let l = LABELS.get(label);
  if (!l) {
    l = new Uint8Array(label.length);
    for (let i = 0; i < label.length; i++) l[i] = label.charCodeAt(i);
    if (LABELS.size < MAX_LABELS) LABELS.set(label, l);
  }
  const f = FIRST, b = BLOCK;
  f[0] = b[1] = l;
  f[1] = b[2] = seed;
  f[2] = b[3] = seed2;
  mac(key, A, 0, f);
  for (let filled = 0; filled < length; filled += 32) {
    // A(i+1) = HMAC(A(i)), in place: the input is read before the output is written
    if (filled > 0) mac(key, A, 0, CHAIN);
    if (length - filled >= 32) mac(key, out, filled, b);
    else {
      mac(key, LAST, 0, b);
      for (let i = 0; filled + i < length; i++) out[filled + i] = LAST[i]!;
    }
  }
  A.fill(0);
  LAST.fill(0);
  f[0] = f[1] = f[2] = b[1] = b[2] = b[3] = A; // no reference kept to this call's seed
  return out;
}

function mac(key: Exclude<PrfSecret, Uint8Array>, out: Uint8Array, at: number, d: Uint8Array[]): void {
  if (key instanceof HmacSha256Key) key.macInto(out, at, d);
  else out.set(key.mac(...d), at);
}
