import type { CryptoProvider } from './provider.js';

/** The ASCII bytes of each label, made once (a handful of labels: RFC 5246, RFC 7627). */
const LABELS = new Map<string, Uint8Array>();

function labelBytes(label: string): Uint8Array {
  let b = LABELS.get(label);
  if (!b) {
    b = new Uint8Array(label.length);
    for (let i = 0; i < label.length; i++) b[i] = label.charCodeAt(i);
    if (LABELS.size < 64) LABELS.set(label, b);
  }
  return b;
}

/**
 * The TLS 1.2 PRF with SHA-256 (RFC 5246 §5):
 *   P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) + HMAC_hash(secret, A(2) + seed) + ...
 *   A(0) = seed, A(i) = HMAC_hash(secret, A(i-1))
 *   PRF(secret, label, seed) = P_<hash>(secret, label + seed)
 * label + seed is passed to the HMAC in two parts, never joined: no buffer for it, and no
 * view of a block (a view of a small array moves its bytes off the V8 heap).
 */
export function prf(c: CryptoProvider, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const l = labelBytes(label);
  const out = new Uint8Array(length);
  const key = c.hmacSha256Key(secret);
  let a = key.mac(l, seed);
  let filled = 0;
  for (;;) {
    const block = key.mac(a, l, seed);
    const n = Math.min(block.length, length - filled);
    for (let i = 0; i < n; i++) out[filled + i] = block[i]!;
    filled += n;
    if (filled >= length) return out;
    a = key.mac(a);
  }
}
