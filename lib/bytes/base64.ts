/**
 * Base64 (RFC 4648 §4) and base64url (§5) in plain JavaScript: no Buffer, no atob/btoa, so
 * the engine runs on small runtimes (QuickJS). One implementation for every caller: PEM
 * bodies (RFC 7468), SenML JSON `vd` (RFC 8428 §5: either alphabet), LwM2M text/plain
 * opaque values and the persisted client state. Malformed input is a {@link DecodeError}.
 */
import { DecodeError } from './reader.js';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const STANDARD = LETTERS + '+/';
const URL_SAFE = LETTERS + '-_';

/** Character code -> 6-bit value, -1 where the alphabet has no such character. */
function table(alphabet: string): Int8Array {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
}
const STANDARD_VALUES = table(STANDARD);
const URL_VALUES = table(URL_SAFE);

export interface Base64DecodeOptions {
  /**
   * 'standard' (RFC 4648 §4, `+/`), 'url' (§5, `-_`), or 'either' (one or the other, not a
   * mix: SenML JSON `vd`, which Leshan writes in base64url and wakaama in base64). Default
   * 'standard'.
   */
  alphabet?: 'standard' | 'url' | 'either';
  /**
   * 'required': the length is a multiple of 4 with `=` padding (the default); 'optional':
   * padded or unpadded (RFC 4648 §3.2 allows leaving it out where the length is known).
   */
  padding?: 'required' | 'optional';
  /** Skip white space anywhere (PEM bodies, RFC 7468 §2); otherwise it is refused. */
  ignoreWhitespace?: boolean;
}

/**
 * Decodes strictly: characters of the chosen alphabet only, `=` only at the end (at most two,
 * completing the last group of four), no lone sixth-bit character (length 1 mod 4), and the
 * spare bits of the last character zero (RFC 4648 §3.5: the canonical encoding only, so a
 * value has one base64 form).
 */
export function base64Decode(s: string, o: Base64DecodeOptions = {}): Uint8Array {
  const text = o.ignoreWhitespace ? s.replace(/[ \t\r\n\f\v]+/g, '') : s;
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d) end--;
  const padding = text.length - end;
  if (padding > 2) throw new DecodeError('base64: more than two "=" at the end');
  if (padding > 0 || (o.padding ?? 'required') === 'required') {
    if (text.length % 4 !== 0) throw new DecodeError('base64: length is not a multiple of 4');
  }
  if (end % 4 === 1) throw new DecodeError('base64: a lone character in the last group');
  const values = pickAlphabet(text, end, o.alphabet ?? 'standard');
  const out = new Uint8Array((end * 3) >> 2);
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? values[c]! : -1;
    if (v < 0) throw new DecodeError(c === 0x3d ? 'base64: "=" before the end' : `base64: invalid character at ${i}`);
    acc = ((acc << 6) | v) & 0xfff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw new DecodeError('base64: non-zero spare bits in the last character');
  return out;
}

/** The value table for `text`; 'either' takes the alphabet of the first alphabet-specific character. */
function pickAlphabet(text: string, end: number, alphabet: 'standard' | 'url' | 'either'): Int8Array {
  if (alphabet === 'standard') return STANDARD_VALUES;
  if (alphabet === 'url') return URL_VALUES;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2d || c === 0x5f) return URL_VALUES; // - _
    if (c === 0x2b || c === 0x2f) return STANDARD_VALUES; // + /
  }
  return STANDARD_VALUES;
}

function encode(b: Uint8Array, alphabet: string, pad: boolean): string {
  let s = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    s += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  if (i + 1 === b.length) {
    const n = b[i]! << 16;
    s += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + (pad ? '==' : '');
  } else if (i + 2 === b.length) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8);
    s += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? '=' : '');
  }
  return s;
}

/** Standard base64 with `=` padding (RFC 4648 §4). */
export function base64Encode(b: Uint8Array): string {
  return encode(b, STANDARD, true);
}

/** base64url without padding (RFC 4648 §5 and §3.2; what SenML JSON `vd` and Leshan write). */
export function base64UrlEncode(b: Uint8Array): string {
  return encode(b, URL_SAFE, false);
}
