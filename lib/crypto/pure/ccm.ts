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
import { expandKeyLE, encrypt as aesEncrypt } from './aes.js';

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

/** Scratch for partial blocks and the encoded AAD (the provider is synchronous: no reentrancy). */
const TAIL = new Uint8Array(16);
let aadScratch = new Uint8Array(64);

/**
 * The CCM state of one message: the CBC-MAC chain (x0..x3) and the counter-block words
 * (a0..a2 fixed, a3 = a3base with the counter in its last L bytes).
 */
class Ccm {
  x0 = 0;
  x1 = 0;
  x2 = 0;
  x3 = 0;
  private readonly a0: number;
  private readonly a1: number;
  private readonly a2: number;
  private readonly a3: number;
  /** Keystream of the last counter block. */
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;

  constructor(
    private readonly xk: Uint32Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    messageLength: number,
  ) {
    const n = nonce.length;
    if (n < 7 || n > 13) throw new TypeError('CCM nonce must be 7 to 13 bytes');
    const L = 15 - n;
    if (L < 4 && messageLength >= 2 ** (8 * L)) throw new RangeError('message too long for the CCM nonce length');
    // A_0 = (L-1) ‖ N ‖ 0...; B_0 = flags ‖ N ‖ l(m). Both share the nonce bytes.
    const blk = TAIL;
    blk.fill(0);
    blk[0] = L - 1;
    blk.set(nonce, 1);
    this.a0 = le32(blk, 0);
    this.a1 = le32(blk, 4);
    this.a2 = le32(blk, 8);
    this.a3 = le32(blk, 12);
    blk[0] = (aad.length > 0 ? 0x40 : 0) | (((TAG_LENGTH - 2) / 2) << 3) | (L - 1);
    for (let i = 0, m = messageLength; i < L && i < 4; i++, m >>>= 8) blk[15 - i] = m & 0xff;
    this.mac(le32(blk, 0), le32(blk, 4), le32(blk, 8), le32(blk, 12));
    if (aad.length > 0) this.macAad(aad);
  }

  /** X = E(X ^ B). */
  mac(b0: number, b1: number, b2: number, b3: number): void {
    const r = aesEncrypt(this.xk, this.x0 ^ b0, this.x1 ^ b1, this.x2 ^ b2, this.x3 ^ b3);
    this.x0 = r.s0;
    this.x1 = r.s1;
    this.x2 = r.s2;
    this.x3 = r.s3;
  }

  /** S = E(A_i). */
  keystream(i: number): void {
    const r = aesEncrypt(this.xk, this.a0, this.a1, this.a2, this.a3 | bswap32(i));
    this.s0 = r.s0;
    this.s1 = r.s1;
    this.s2 = r.s2;
    this.s3 = r.s3;
  }

  /** RFC 3610 §2.2: l(a) ‖ a, zero-padded to whole blocks, into the MAC. */
  private macAad(aad: Uint8Array): void {
    const a = aad.length;
    if (a >= 0x1_0000_0000) throw new RangeError('CCM additional data too long');
    const hdr = a < 0xff00 ? 2 : 6;
    const total = (hdr + a + 15) & ~15;
    if (aadScratch.length < total) aadScratch = new Uint8Array(total);
    const b = aadScratch;
    if (hdr === 2) {
      b[0] = a >>> 8;
      b[1] = a & 0xff;
    } else {
      b[0] = 0xff;
      b[1] = 0xfe;
      b[2] = a >>> 24;
      b[3] = (a >>> 16) & 0xff;
      b[4] = (a >>> 8) & 0xff;
      b[5] = a & 0xff;
    }
    b.set(aad, hdr);
    b.fill(0, hdr + a, total);
    for (let o = 0; o < total; o += 16) this.mac(le32(b, o), le32(b, o + 4), le32(b, o + 8), le32(b, o + 12));
  }

  /** T ^ first 8 bytes of S_0, as two words. */
  tag(): [number, number] {
    this.keystream(0);
    return [this.x0 ^ this.s0, this.x1 ^ this.s1];
  }
}

/** XOR of the keystream words into a partial block in TAIL (bytes 0..n-1). */
function xorTail(c: Ccm, n: number): void {
  for (let j = 0; j < n; j++) {
    const w = j < 4 ? c.s0 : j < 8 ? c.s1 : j < 12 ? c.s2 : c.s3;
    TAIL[j] = TAIL[j]! ^ ((w >>> ((j & 3) * 8)) & 0xff);
  }
}

export function ccm8Encrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return ccm8EncryptWith(schedule(key), nonce, aad, plaintext);
}

/** ccm8Encrypt with an expanded key (aes.ts expandKeyLE), for callers that keep their own schedules. */
export function ccm8EncryptWith(xk: Uint32Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const n = plaintext.length;
  const c = new Ccm(xk, nonce, aad, n);
  const out = new Uint8Array(n + TAG_LENGTH);
  const full = n & ~15;
  let i = 1;
  for (let o = 0; o < full; o += 16, i++) {
    const p0 = le32(plaintext, o), p1 = le32(plaintext, o + 4), p2 = le32(plaintext, o + 8), p3 = le32(plaintext, o + 12);
    c.mac(p0, p1, p2, p3);
    c.keystream(i);
    put32(out, o, p0 ^ c.s0);
    put32(out, o + 4, p1 ^ c.s1);
    put32(out, o + 8, p2 ^ c.s2);
    put32(out, o + 12, p3 ^ c.s3);
  }
  const rest = n - full;
  if (rest > 0) {
    TAIL.fill(0);
    for (let j = 0; j < rest; j++) TAIL[j] = plaintext[full + j]!; // a loop: subarray() costs ~0.1 us
    c.mac(le32(TAIL, 0), le32(TAIL, 4), le32(TAIL, 8), le32(TAIL, 12));
    c.keystream(i);
    xorTail(c, rest);
    for (let j = 0; j < rest; j++) out[full + j] = TAIL[j]!;
    TAIL.fill(0);
  }
  const [t0, t1] = c.tag();
  put32(out, n, t0);
  put32(out, n + 4, t1);
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
  const c = new Ccm(xk, nonce, aad, n);
  const out = new Uint8Array(n);
  const full = n & ~15;
  let i = 1;
  for (let o = 0; o < full; o += 16, i++) {
    c.keystream(i);
    const p0 = le32(sealed, o) ^ c.s0, p1 = le32(sealed, o + 4) ^ c.s1, p2 = le32(sealed, o + 8) ^ c.s2, p3 = le32(sealed, o + 12) ^ c.s3;
    c.mac(p0, p1, p2, p3);
    put32(out, o, p0);
    put32(out, o + 4, p1);
    put32(out, o + 8, p2);
    put32(out, o + 12, p3);
  }
  const rest = n - full;
  if (rest > 0) {
    TAIL.fill(0);
    for (let j = 0; j < rest; j++) TAIL[j] = sealed[full + j]!;
    c.keystream(i);
    xorTail(c, rest);
    c.mac(le32(TAIL, 0), le32(TAIL, 4), le32(TAIL, 8), le32(TAIL, 12));
    for (let j = 0; j < rest; j++) out[full + j] = TAIL[j]!;
    TAIL.fill(0);
  }
  const [t0, t1] = c.tag();
  // One accumulated difference over the whole tag: no early exit.
  const diff = (t0 ^ le32(sealed, n)) | (t1 ^ le32(sealed, n + 4));
  if (diff !== 0) {
    out.fill(0);
    return undefined;
  }
  return out;
}
