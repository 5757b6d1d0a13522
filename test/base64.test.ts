/**
 * The one base64 (lib/bytes/base64.ts, RFC 4648 §4 and §5) used by PEM, the LwM2M codecs and
 * the persisted client state: the RFC 4648 §10 vectors both ways, Node's Buffer as an oracle
 * for random bytes (encode and decode, both alphabets), and every refusal a caller relies on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64Decode, base64Encode, base64UrlEncode, type Base64DecodeOptions } from '../lib/bytes/base64.js';
import { DecodeError } from '../lib/bytes/reader.js';
import { latin1, toHex } from '../lib/bytes/util.js';

const bytesOf = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** RFC 4648 §10. */
const RFC4648: Array<[string, string]> = [
  ['', ''],
  ['f', 'Zg=='],
  ['fo', 'Zm8='],
  ['foo', 'Zm9v'],
  ['foob', 'Zm9vYg=='],
  ['fooba', 'Zm9vYmE='],
  ['foobar', 'Zm9vYmFy'],
];

describe('base64 (RFC 4648), no Buffer', () => {
  it('RFC 4648 §10 test vectors both ways, with and without white space', () => {
    for (const [plain, enc] of RFC4648) {
      expect(base64Encode(bytesOf(plain))).toBe(enc);
      expect(base64UrlEncode(bytesOf(plain))).toBe(enc.replace(/=+$/, ''));
      expect(latin1(base64Decode(enc))).toBe(plain);
      expect(latin1(base64Decode(enc, { alphabet: 'url' }))).toBe(plain);
      expect(latin1(base64Decode(enc.replace(/=+$/, ''), { padding: 'optional' }))).toBe(plain);
      expect(latin1(base64Decode(` ${enc.slice(0, 2)}\r\n${enc.slice(2)}\n`, { ignoreWhitespace: true }))).toBe(plain);
    }
  });

  it('the two alphabets differ in 62 and 63 only', () => {
    const b = new Uint8Array([0xfb, 0xff, 0xbf]); // 111110 111111 111110 111111
    expect(base64Encode(b)).toBe('+/+/');
    expect(base64UrlEncode(b)).toBe('-_-_');
    expect(base64Decode('+/+/')).toEqual(b);
    expect(base64Decode('-_-_', { alphabet: 'url' })).toEqual(b);
    expect(base64Decode('-_-_', { alphabet: 'either' })).toEqual(b);
    expect(base64Decode('+/+/', { alphabet: 'either' })).toEqual(b);
  });

  it('refuses bad length, characters, padding and non-canonical spare bits', () => {
    const refused: Array<[string, Base64DecodeOptions?]> = [
      ['Zg='],
      ['Z==='],
      ['Zm9v!A=='],
      ['Zg==Zg=='],
      ['Zm=v'],
      ['===='],
      ['Zm9vYmFy='],
      ['Zm9\u00e9'],
      ['Zg'], // unpadded where padding is required
      ['Zm8'],
      ['Z', { padding: 'optional' }], // a lone character: 6 bits are no byte
      ['Zm9vY', { padding: 'optional' }],
      ['Zh=='], // spare bits not zero: 'Zg==' is the one form of "f"
      ['Zm9='],
      ['Zh', { padding: 'optional' }],
      ['Zm 9v'], // white space only where asked to skip it
      ['Zm9v\n'],
      ['-_-_'], // url characters in standard base64
      ['+/+/', { alphabet: 'url' }],
      ['+_+_', { alphabet: 'either' }], // a mix of both alphabets
      ['a-b/', { alphabet: 'either' }],
    ];
    for (const [bad, o] of refused) expect(() => base64Decode(bad, o), `${JSON.stringify(bad)} ${JSON.stringify(o)}`).toThrow(DecodeError);
  });

  it('matches Node Buffer both ways for random bytes of every length (Buffer is the oracle, here only)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const std = Buffer.from(b).toString('base64');
        const url = Buffer.from(b).toString('base64url');
        expect(base64Encode(b)).toBe(std);
        expect(base64UrlEncode(b)).toBe(url);
        expect(toHex(base64Decode(std))).toBe(toHex(b));
        expect(toHex(base64Decode(url, { alphabet: 'url', padding: 'optional' }))).toBe(toHex(b));
        expect(toHex(base64Decode(url, { alphabet: 'either', padding: 'optional' }))).toBe(toHex(b));
        expect(toHex(base64Decode(std, { alphabet: 'either', padding: 'optional' }))).toBe(toHex(b));
        expect(toHex(base64Decode(std.replace(/(.{1,7})/g, '$1\r\n'), { ignoreWhitespace: true }))).toBe(toHex(b));
      }),
      { numRuns: 500 },
    );
  });

  it('random strings: what decodes re-encodes to the same string (one form per value), the rest is a DecodeError', () => {
    const chars = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_= \n!é');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 24 }).map((a) => a.join('')), (s) => {
        let b: Uint8Array;
        try {
          b = base64Decode(s);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          // Buffer is lenient; where we refuse, the input is not the canonical encoding of what Buffer reads
          expect(Buffer.from(Buffer.from(s, 'base64')).toString('base64')).not.toBe(s);
          return;
        }
        expect(base64Encode(b)).toBe(s);
        expect(toHex(b)).toBe(Buffer.from(s, 'base64').toString('hex'));
      }),
      { numRuns: 2000 },
    );
  });
});
