/** Byte helpers shared by every layer. */

/** Constant-time equality for equal-length secrets (length itself is not secret). */
export function ctEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * The empty byte array, one for every empty field (nothing in it can change): no array of its
 * own per empty extension, message body or read.
 */
export const EMPTY_BYTES = new Uint8Array(0);

/** Overwrites a buffer that held a secret. */
export function wipe(b: Uint8Array | undefined): void {
  if (b) b.fill(0);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The character codes of 0-9 and a-f. */
const HEX_CODES = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];
/** Bytes per String.fromCharCode call (its arguments go on the stack). */
const HEX_CHUNK = 4096;

/**
 * Lowercase hex. Built from character codes, so the string is flat: one built by `+=` is a
 * rope of two nodes per byte (~4 KB for a 32-byte session ID), and a rope kept as a Map key
 * (session IDs, CIDs) stays one.
 */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let at = 0; at < b.length; at += HEX_CHUNK) {
    const end = Math.min(b.length, at + HEX_CHUNK);
    const codes: number[] = [];
    for (let i = at; i < end; i++) codes.push(HEX_CODES[b[i]! >> 4]!, HEX_CODES[b[i]! & 15]!);
    s += String.fromCharCode.apply(null, codes);
  }
  return s;
}

export function fromHex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new TypeError('invalid hex string');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}

/**
 * UTF-8 encoding in plain JS: the engine must not need TextEncoder (small JS runtimes such
 * as QuickJS do not have it). Lone surrogates become U+FFFD, as TextEncoder does.
 */
export function utf8(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

/**
 * Bytes as text, one character per byte (ISO 8859-1): PEM text read as bytes, 8-bit ASN.1
 * strings, and a Map key for bytes (distinct bytes, distinct strings). Up to 4 KiB in one call,
 * with no view made (a view of a small array would move it off the V8 heap).
 */
export function latin1(b: Uint8Array): string {
  if (b.length <= 4096) return String.fromCharCode.apply(null, b as unknown as number[]);
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}
