/**
 * base64 (RFC 4648 §4) and base64url (§5) in plain JS: the engine runs where Node's Buffer
 * does not exist. SenML JSON `vd` takes either alphabet; text/plain opaque values and the
 * persisted client state use standard base64 with padding.
 */
import { fail } from './value.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64STD = B64 + '+/';
const B64URL = B64 + '-_';
const B64_VALUES = new Map<string, number>([...B64URL].map((c, i) => [c, i]));
B64_VALUES.set('+', 62);
B64_VALUES.set('/', 63);

/** base64 or base64url, padded or not; rejects other characters and non-zero spare bits (Lwm2mCodecError). */
export function base64Decode(s: string, what: string): Uint8Array {
  let body = s;
  if (s.endsWith('=')) {
    if (s.length % 4 !== 0) fail(`${what}: bad base64 padding`);
    body = s.replace(/={1,2}$/, '');
  }
  if (body.length % 4 === 1) fail(`${what}: bad base64 length`);
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of body) {
    const v = B64_VALUES.get(c);
    if (v === undefined) return fail(`${what}: "${c}" is not a base64 character`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  if (acc !== 0) fail(`${what}: base64 has non-zero spare bits`);
  return out;
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

/** Standard base64 with padding (RFC 4648 §4). */
export function base64Encode(b: Uint8Array): string {
  return encode(b, B64STD, true);
}

/** base64url without padding (RFC 8428 §5, Leshan). */
export function base64UrlEncode(b: Uint8Array): string {
  return encode(b, B64URL, false);
}
