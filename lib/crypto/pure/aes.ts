/**
 * A compact forward AES (FIPS 197), all that CCM (lib/crypto/pure/ccm.ts) needs: the key
 * schedule and block encryption, with the word layout of @noble/ciphers' `unsafe.expandKeyLE`
 * / `unsafe.encrypt` (which it replaced; the tests still compare the two).
 *
 * Why not @noble/ciphers: it builds its AES lookup tables when the module loads, for both
 * directions (CCM only ever encrypts): per direction two 256x256 Uint32 tables (T01, T23:
 * 256 KiB each) and a 256x256 Uint16 S-box pair table (128 KiB), about 662 KB as QuickJS
 * counts it, 1.3 MB for the two. That alone is over a 512 KB heap. This one keeps one
 * 1 KiB T-table and the 256-byte S-box (computed at load, no literal tables) and rotates the
 * table word per byte lane, as the classic 4 KiB-table AES does with four tables.
 *
 * Word layout (as in @noble/ciphers): the 16-byte state is four little-endian 32-bit words,
 * word c = column c, byte lane r = row r. Round keys are little-endian words too, so the first
 * four schedule words are the key bytes read little-endian (ccm.ts checks its cache on them).
 *
 * Like every table-based software AES, the lookups are indexed by secret bytes (see the
 * constant-time note in lib/crypto/pure.ts); the tables are 16x smaller than the 4 KiB
 * four-table layout, so fewer cache lines are involved, but that is no constant-time claim.
 */

const SBOX = new Uint8Array(256);
/** MixColumns of S(x) for a byte in row 0: {02}S | S<<8 | S<<16 | {03}S<<24. */
const T0 = new Uint32Array(256);
/** Rcon (FIPS 197 §5.2): x^(i) in GF(2^8). */
const RCON = new Uint8Array(16);

const xtime = (x: number): number => ((x << 1) ^ (x & 0x80 ? 0x1b : 0)) & 0xff;

(() => {
  // Exponent and log tables of GF(2^8) with the generator {03}; local, freed after setup.
  const exp = new Uint8Array(256);
  const log = new Uint8Array(256);
  for (let i = 0, x = 1; i < 255; i++) {
    exp[i] = x;
    log[x] = i;
    x ^= xtime(x);
  }
  for (let a = 0; a < 256; a++) {
    const inv = a === 0 ? 0 : exp[(255 - log[a]!) % 255]!;
    // affine transformation: b ^ rotl(b,1) ^ rotl(b,2) ^ rotl(b,3) ^ rotl(b,4) ^ 0x63
    let s = inv;
    let r = inv;
    for (let k = 0; k < 4; k++) {
      r = ((r << 1) | (r >>> 7)) & 0xff;
      s ^= r;
    }
    SBOX[a] = s ^ 0x63;
  }
  for (let a = 0; a < 256; a++) {
    const s = SBOX[a]!;
    const s2 = xtime(s);
    T0[a] = ((s2 ^ s) << 24) | (s << 16) | (s << 8) | s2;
  }
  for (let i = 0, x = 1; i < 16; i++, x = xtime(x)) RCON[i] = x;
})();

/** SubBytes + ShiftRows for one output column: lane r from word r's lane r. */
function sub(a: number, b: number, c: number, d: number): number {
  return SBOX[a & 0xff]! | (SBOX[(b >>> 8) & 0xff]! << 8) | (SBOX[(c >>> 16) & 0xff]! << 16) | (SBOX[d >>> 24]! << 24);
}

/** SubBytes + ShiftRows + MixColumns for one output column, T1..T3 as rotations of T0. */
function round(a: number, b: number, c: number, d: number): number {
  const t1 = T0[(b >>> 8) & 0xff]!;
  const t2 = T0[(c >>> 16) & 0xff]!;
  const t3 = T0[d >>> 24]!;
  return T0[a & 0xff]! ^ ((t1 << 8) | (t1 >>> 24)) ^ ((t2 << 16) | (t2 >>> 16)) ^ ((t3 << 24) | (t3 >>> 8));
}

/** The forward key schedule (FIPS 197 §5.2) as little-endian words: 44, 52 or 60 of them (in `into` when it has that length). */
export function expandKeyLE(key: Uint8Array, into?: Uint32Array): Uint32Array {
  const len = key.length;
  if (len !== 16 && len !== 24 && len !== 32) throw new Error(`AES key must be 16, 24 or 32 bytes, got ${len}`);
  const Nk = len / 4;
  const xk = into?.length === len + 28 ? into : new Uint32Array(len + 28);
  for (let i = 0; i < Nk; i++) xk[i] = key[4 * i]! | (key[4 * i + 1]! << 8) | (key[4 * i + 2]! << 16) | (key[4 * i + 3]! << 24);
  for (let i = Nk; i < xk.length; i++) {
    let t = xk[i - 1]!;
    if (i % Nk === 0) {
      t = (t >>> 8) | (t << 24); // RotWord, little-endian
      t = sub(t, t, t, t) ^ RCON[i / Nk - 1]!;
    } else if (Nk > 6 && i % Nk === 4) {
      t = sub(t, t, t, t);
    }
    xk[i] = xk[i - Nk]! ^ t;
  }
  return xk;
}

/**
 * The output of {@link encrypt}: its four little-endian column words, overwritten by every call
 * (read them at once). A returned object would be one allocation per block wherever V8 does not
 * inline encrypt (a large caller has no inlining budget left for it).
 */
export const OUT = new Int32Array(4);

/** One block, state as four little-endian column words; the four output words go to {@link OUT}. */
export function encrypt(xk: Uint32Array, s0: number, s1: number, s2: number, s3: number): void {
  let k = 0;
  s0 ^= xk[k++]!;
  s1 ^= xk[k++]!;
  s2 ^= xk[k++]!;
  s3 ^= xk[k++]!;
  const rounds = xk.length / 4 - 2;
  for (let i = 0; i < rounds; i++) {
    const t0 = xk[k++]! ^ round(s0, s1, s2, s3);
    const t1 = xk[k++]! ^ round(s1, s2, s3, s0);
    const t2 = xk[k++]! ^ round(s2, s3, s0, s1);
    const t3 = xk[k++]! ^ round(s3, s0, s1, s2);
    s0 = t0;
    s1 = t1;
    s2 = t2;
    s3 = t3;
  }
  OUT[0] = xk[k]! ^ sub(s0, s1, s2, s3);
  OUT[1] = xk[k + 1]! ^ sub(s1, s2, s3, s0);
  OUT[2] = xk[k + 2]! ^ sub(s2, s3, s0, s1);
  OUT[3] = xk[k + 3]! ^ sub(s3, s0, s1, s2);
}

