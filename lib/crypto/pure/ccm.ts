/**
 * AES-128-CCM with an 8-byte tag (RFC 3610; M = 8, L = 15 - nonce length, so L = 3 for the
 * 12-byte DTLS nonce of RFC 6655) in plain JS, built on the compact AES block
 * function of ./aes.ts (four 32-bit little-endian words: no per-block allocation of byte views). Neither `@noble/ciphers` nor
 * WebCrypto has CCM (DESIGN.md "Known traps"); this must match node:crypto byte for byte
 * (test/crypto-differential.test.ts checks it on random records).
 *
 * RFC 3610 §2.2 (authentication) and §2.3 (encryption), M = 8:
 * ```
 * B_0  = Flags ‖ Nonce N ‖ l(m)         Flags = 64*Adata + 8*((M-2)/2) + (L-1)
 * X_1  = E(K, B_0);  X_i+1 = E(K, X_i ^ B_i)   over [l(a) ‖ a ‖ pad] [m ‖ pad]
 * T    = first M bytes of X_n+1
 * A_i  = (L-1) ‖ Nonce N ‖ Counter i;  S_i = E(K, A_i)
 * C    = (m ^ S_1 ‖ S_2 ‖ ...) ‖ (T ^ first M bytes of S_0)
 * ```
 * The tag is checked with one OR-accumulated difference (no early exit); on failure the
 * plaintext buffer is zeroed and `undefined` is returned. The AES table lookups
 * are indexed by secret bytes, as every table-based software AES is: see the "constant time"
 * note in lib/crypto/pure.ts.
 */
import { expandKeyLE, encrypt as aesEncrypt, OUT as E } from './aes.js';

const TAG_LENGTH = 8;

/**
 * Expanded keys, keyed by the caller's key array. A WeakMap holds nothing beyond the life of
 * the caller's own key buffer (the record layer keeps one per epoch and direction), and every
 * hit is checked against the key bytes (the first four words of an AES-128 schedule are the
 * key itself), so a buffer that is overwritten or wiped in place is re-expanded, never misused.
 */
const schedules = new WeakMap<Uint8Array, Uint32Array>();

/** Little-endian 32-bit word at `o` (the word layout of `@noble/ciphers`' AES). */
function le32(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

function put32(b: Uint8Array, o: number, w: number): void {
  b[o] = w & 0xff;
  b[o + 1] = (w >>> 8) & 0xff;
  b[o + 2] = (w >>> 16) & 0xff;
  b[o + 3] = w >>> 24;
}

function bswap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

function schedule(key: Uint8Array): Uint32Array {
  if (key.length !== 16) throw new TypeError('AES-128-CCM needs a 16-byte key');
  const cached = schedules.get(key);
  if (
    cached !== undefined &&
    cached[0] === le32(key, 0) >>> 0 &&
    cached[1] === le32(key, 4) >>> 0 &&
    cached[2] === le32(key, 8) >>> 0 &&
    cached[3] === le32(key, 12) >>> 0
  ) {
    return cached;
  }
  const xk = expandKeyLE(key);
  schedules.set(key, xk);
  return xk;
}

/** Scratch for a partial block, its keystream and the encoded AAD (the provider is synchronous: no reentrancy). */
const TAIL = new Uint8Array(16);
const KS = new Uint8Array(16);
let aadScratch = new Uint8Array(64);

/**
 * One CCM pass over `n` bytes of `src` into `out` (RFC 3610 §2.2-2.3): the CBC-MAC chain X and
 * the counter blocks live in locals and AES leaves its four words in aes.ts's OUT, so a record
 * costs no object beyond its output. Sealing MACs the plaintext and writes ciphertext ‖ tag;
 * opening decrypts, MACs the plaintext it got and returns the tag's difference from the one at
 * src[n..n+8] (0: authentic), one OR-accumulated word, no early exit.
 */
function pass(xk: Uint32Array, nonce: Uint8Array, aad: Uint8Array, src: Uint8Array, n: number, out: Uint8Array, open: boolean): number {
  const nl = nonce.length;
  if (nl < 7 || nl > 13) throw new TypeError('CCM nonce must be 7 to 13 bytes');
  const L = 15 - nl;
  if (L < 4 && n >= 2 ** (8 * L)) throw new RangeError('message too long for the CCM nonce length');
  // A_0 = (L-1) ‖ N ‖ 0...; B_0 = flags ‖ N ‖ l(m). Both share the nonce bytes.
  const b = TAIL;
  b.fill(0);
  b[0] = L - 1;
  b.set(nonce, 1);
  const a0 = le32(b, 0), a1 = le32(b, 4), a2 = le32(b, 8), a3 = le32(b, 12);
  b[0] = (aad.length > 0 ? 0x40 : 0) | (((TAG_LENGTH - 2) / 2) << 3) | (L - 1);
  for (let i = 0, m = n; i < L && i < 4; i++, m >>>= 8) b[15 - i] = m & 0xff;
  aesEncrypt(xk, le32(b, 0), le32(b, 4), le32(b, 8), le32(b, 12));
  let x0 = E[0]!, x1 = E[1]!, x2 = E[2]!, x3 = E[3]!;
  const a = aad.length;
  if (a > 0) {
    // l(a) ‖ a, zero-padded to whole blocks
    if (a >= 0x1_0000_0000) throw new RangeError('CCM additional data too long');
    const hdr = a < 0xff00 ? 2 : 6;
    const total = (hdr + a + 15) & ~15;
    if (aadScratch.length < total) aadScratch = new Uint8Array(total);
    const h = aadScratch;
    if (hdr === 2) {
      h[0] = a >>> 8;
      h[1] = a & 0xff;
    } else {
      h[0] = 0xff;
      h[1] = 0xfe;
      h[2] = a >>> 24;
      h[3] = (a >>> 16) & 0xff;
      h[4] = (a >>> 8) & 0xff;
      h[5] = a & 0xff;
    }
    h.set(aad, hdr);
    h.fill(0, hdr + a, total);
    for (let o = 0; o < total; o += 16) {
      aesEncrypt(xk, x0 ^ le32(h, o), x1 ^ le32(h, o + 4), x2 ^ le32(h, o + 8), x3 ^ le32(h, o + 12));
      x0 = E[0]!, x1 = E[1]!, x2 = E[2]!, x3 = E[3]!;
    }
  }
  for (let o = 0, i = 1; o < n; o += 16, i++) {
    aesEncrypt(xk, a0, a1, a2, a3 | bswap32(i)); // S_i
    const k0 = E[0]!, k1 = E[1]!, k2 = E[2]!, k3 = E[3]!;
    let p0: number, p1: number, p2: number, p3: number;
    if (o + 16 <= n) {
      // out = src ^ S_i either way; the MAC takes the plaintext: out when opening, src when sealing
      const c0 = le32(src, o), c1 = le32(src, o + 4), c2 = le32(src, o + 8), c3 = le32(src, o + 12);
      const d0 = c0 ^ k0, d1 = c1 ^ k1, d2 = c2 ^ k2, d3 = c3 ^ k3;
      put32(out, o, d0), put32(out, o + 4, d1), put32(out, o + 8, d2), put32(out, o + 12, d3);
      p0 = open ? d0 : c0, p1 = open ? d1 : c1, p2 = open ? d2 : c2, p3 = open ? d3 : c3;
    } else {
      // the last, partial block: its plaintext zero-padded into TAIL for the MAC (loops: a
      // subarray() costs about 0.1 us)
      put32(KS, 0, k0), put32(KS, 4, k1), put32(KS, 8, k2), put32(KS, 12, k3);
      b.fill(0);
      for (let j = 0; o + j < n; j++) {
        const c = src[o + j]!;
        const p = open ? c ^ KS[j]! : c;
        b[j] = p;
        out[o + j] = open ? p : c ^ KS[j]!;
      }
      p0 = le32(b, 0), p1 = le32(b, 4), p2 = le32(b, 8), p3 = le32(b, 12);
      b.fill(0);
      KS.fill(0);
    }
    aesEncrypt(xk, x0 ^ p0, x1 ^ p1, x2 ^ p2, x3 ^ p3);
    x0 = E[0]!, x1 = E[1]!, x2 = E[2]!, x3 = E[3]!;
  }
  // T ^ first 8 bytes of S_0
  aesEncrypt(xk, a0, a1, a2, a3);
  const t0 = x0 ^ E[0]!;
  const t1 = x1 ^ E[1]!;
  E.fill(0); // no keystream left behind in the shared words
  if (open) return (t0 ^ le32(src, n)) | (t1 ^ le32(src, n + 4));
  put32(out, n, t0);
  put32(out, n + 4, t1);
  return 0;
}

export function ccm8Encrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return ccm8EncryptWith(schedule(key), nonce, aad, plaintext);
}

/** ccm8Encrypt with an expanded key (aes.ts expandKeyLE), for callers that keep their own schedules. */
export function ccm8EncryptWith(xk: Uint32Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + TAG_LENGTH);
  pass(xk, nonce, aad, plaintext, plaintext.length, out, false);
  return out;
}

/** The plaintext, or undefined when `sealed` (ciphertext ‖ 8-byte tag) does not authenticate. */
export function ccm8Decrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  return sealed.length < TAG_LENGTH ? undefined : ccm8DecryptWith(schedule(key), nonce, aad, sealed);
}

/** ccm8Decrypt with an expanded key (aes.ts expandKeyLE), for callers that keep their own schedules. */
export function ccm8DecryptWith(xk: Uint32Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < TAG_LENGTH) return undefined;
  const n = sealed.length - TAG_LENGTH;
  const out = new Uint8Array(n);
  if (pass(xk, nonce, aad, sealed, n, out, true) !== 0) {
    out.fill(0);
    return undefined;
  }
  return out;
}
