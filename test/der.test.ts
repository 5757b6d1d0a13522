/**
 * The one DER reader (lib/bytes/der.ts) and plain-JS PEM (lib/bytes/pem.ts; its base64 is tested
 * in base64.test.ts): byte vectors both ways (X.690 §8 and §10, RFC 7468), every refusal typed, and
 * fast-check properties (framing round-trips, random bytes only ever give a DecodeError).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBitString,
  decodeBoolean,
  decodeInteger,
  decodeNonNegativeInteger,
  decodeNull,
  decodeOctetAlignedBitString,
  decodeOid,
  DerReader,
  readerOf,
  readOne,
  readTlvs,
  Tag,
} from '../lib/bytes/der.js';
import { looksLikePem, pemToDer, readPem } from '../lib/bytes/pem.js';
import { DecodeError } from '../lib/bytes/reader.js';
import { concat, fromHex, latin1, toHex } from '../lib/bytes/util.js';
import { oid, tlv } from './helpers/x509-builder.js';

const h = fromHex;

/** The DecodeError message `f` throws; fails on success or any other error. */
function decodeErrorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return e.message;
    throw e;
  }
  throw new Error('expected a DecodeError');
}

describe('DER framing (X.690 §8.1, §10.1)', () => {
  it('reads short and long definite lengths, with views of value and whole encoding', () => {
    const seq = h('3003020105');
    const t = readOne(seq, Tag.SEQUENCE);
    expect(t.tag).toBe(0x30);
    expect(toHex(t.value)).toBe('020105');
    expect(toHex(t.der)).toBe('3003020105');
    expect(t.value.buffer).toBe(seq.buffer); // a view, not a copy
    const long = concat(h('048180'), new Uint8Array(128).fill(7));
    expect(readOne(long, Tag.OCTET_STRING).value.length).toBe(128);
    const longer = concat(h('04820100'), new Uint8Array(256));
    expect(readOne(longer, Tag.OCTET_STRING).value.length).toBe(256);
    expect(readTlvs(h('0500020100')).map((x) => x.tag)).toEqual([0x05, 0x02]);
    expect(readTlvs(new Uint8Array(0))).toEqual([]);
  });

  it('refuses what DER forbids or we do not read', () => {
    const cases: Array<[string, RegExp]> = [
      ['0480', /indefinite/],
      ['04817f' + '00'.repeat(127), /non-minimal length/],
      ['0482007f' + '00'.repeat(127), /non-minimal length/],
      ['0482000180', /non-minimal length/],
      ['0485000000000100', /length too large/],
      ['1f0100', /high tag/],
      ['040500', /truncated contents/],
      ['04', /truncated length/],
      ['0482', /truncated length/],
      ['', /missing/],
    ];
    for (const [hex, re] of cases) expect(decodeErrorOf(() => readOne(h(hex))), hex).toMatch(re);
    expect(decodeErrorOf(() => readOne(h('050000')))).toMatch(/unexpected data/);
    expect(decodeErrorOf(() => readOne(h('0500'), Tag.SEQUENCE, 'a SEQUENCE'))).toMatch(/expected a SEQUENCE \(tag 0x30\), got tag 0x05/);
  });

  it('DerReader: next, optional, peekTag and end', () => {
    const r = readerOf(h('3009 0101ff 020102 a00100'.replace(/ /g, '')), Tag.SEQUENCE, 'test');
    expect(r.peekTag()).toBe(Tag.BOOLEAN);
    expect(r.optional(Tag.INTEGER)).toBeUndefined();
    expect(decodeBoolean(r.next(Tag.BOOLEAN).value)).toBe(true);
    expect(r.optional(Tag.INTEGER)?.value[0]).toBe(2);
    expect(() => r.end('test')).toThrow(DecodeError);
    expect(r.next(0xa0).value.length).toBe(1);
    expect(r.done).toBe(true);
    expect(r.peekTag()).toBeUndefined();
    r.end('test');
    expect(decodeErrorOf(() => new DerReader(new Uint8Array(0)).next(Tag.INTEGER, 'the version'))).toMatch(/missing the version/);
  });

  it('random bytes: the values read back to the same bytes, or a DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        try {
          const all = readTlvs(b);
          expect(toHex(concat(...all.map((t) => t.der)))).toBe(toHex(b));
          for (const t of all) expect(t.der.length).toBeGreaterThan(t.value.length);
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('generated values frame and unframe (lengths across the short/long boundary)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ tag: fc.constantFrom(0x02, 0x04, 0x0c, 0x30, 0x31, 0x80, 0xa3), body: fc.uint8Array({ maxLength: 600 }) }), { maxLength: 4 }), (vals) => {
        const enc = concat(...vals.map((v) => tlv(v.tag, v.body)));
        const back = readTlvs(enc);
        expect(back.map((t) => [t.tag, toHex(t.value)])).toEqual(vals.map((v) => [v.tag, toHex(v.body)]));
      }),
      { numRuns: 300 },
    );
  });
});

describe('DER primitive values', () => {
  it('BOOLEAN (§8.2) and NULL (§8.8)', () => {
    expect(decodeBoolean(h('ff'))).toBe(true);
    expect(decodeBoolean(h('00'))).toBe(false);
    expect(decodeBoolean(h('01'))).toBe(true); // BER TRUE, accepted as OpenSSL does
    expect(() => decodeBoolean(h(''))).toThrow(DecodeError);
    expect(() => decodeBoolean(h('ff00'))).toThrow(DecodeError);
    expect(decodeNull(h(''))).toBeNull();
    expect(() => decodeNull(h('00'))).toThrow(DecodeError);
  });

  it('INTEGER (§8.3): minimal two’s complement only', () => {
    for (const ok of ['00', '7f', '0080', 'ff', 'ff7f', '80', '273161fafa66fb9e58bf16a241c06ba780484299']) expect(toHex(decodeInteger(h(ok)))).toBe(ok);
    for (const bad of ['', '0000', '007f', 'ff80', 'ffff']) expect(() => decodeInteger(h(bad)), bad).toThrow(DecodeError);
    expect(decodeNonNegativeInteger(h('00'))).toBe(0);
    expect(decodeNonNegativeInteger(h('0080'))).toBe(128);
    expect(decodeNonNegativeInteger(h('0100'))).toBe(256);
    expect(decodeNonNegativeInteger(h('7fffffffffffffffff'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => decodeNonNegativeInteger(h('80'))).toThrow(/negative/);
  });

  it('BIT STRING (§8.6)', () => {
    expect(decodeBitString(h('00'))).toEqual({ bytes: new Uint8Array(0), unusedBits: 0 });
    expect(decodeBitString(h('0780'))).toEqual({ bytes: h('80'), unusedBits: 7 });
    expect(toHex(decodeOctetAlignedBitString(h('00abcd')))).toBe('abcd');
    for (const bad of ['', '08ff', '01']) expect(() => decodeBitString(h(bad)), bad).toThrow(DecodeError);
    expect(() => decodeOctetAlignedBitString(h('01fe'))).toThrow(/octet-aligned/);
  });

  it('OBJECT IDENTIFIER (§8.19): vectors, first-arc packing, big arcs, refusals', () => {
    const vectors: Array<[string, string]> = [
      ['2a864886f70d01010b', '1.2.840.113549.1.1.11'],
      ['551d13', '2.5.29.19'],
      ['2a8648ce3d030107', '1.2.840.10045.3.1.7'],
      ['2b06010505070301', '1.3.6.1.5.5.7.3.1'],
      ['00', '0.0'],
      ['27', '0.39'],
      ['28', '1.0'],
      ['4f', '1.39'],
      ['50', '2.0'],
      ['8837', '2.999'],
      ['0992268993f22c640119', '0.9.2342.19200300.100.1.25'],
    ];
    for (const [hex, dotted] of vectors) {
      const bytes = h(hex);
      expect(decodeOid(bytes), dotted).toBe(dotted);
      expect(toHex(oid(dotted).subarray(2)), dotted).toBe(toHex(bytes));
    }
    // A UUID OID (2.25.<128 bits>): beyond 2^53, exact.
    const uuid = '2.25.329800735698586629295641978511506172918';
    expect(decodeOid(oid(uuid).subarray(2))).toBe(uuid);
    expect(decodeErrorOf(() => decodeOid(h('')))).toMatch(/empty/);
    expect(decodeErrorOf(() => decodeOid(h('2a8086')))).toMatch(/truncated/);
    expect(decodeErrorOf(() => decodeOid(h('2a800148')))).toMatch(/non-minimal/);
    expect(decodeErrorOf(() => decodeOid(h('80812a')))).toMatch(/non-minimal/);
  });

  it('OBJECT IDENTIFIER: any arcs encode and decode back', () => {
    const arcs = fc.tuple(
      fc.constantFrom(0, 1, 2),
      fc.bigInt({ min: 0n, max: 39n }),
      fc.array(fc.oneof(fc.bigInt({ min: 0n, max: 200n }), fc.bigInt({ min: 0n, max: 1n << 70n })), { maxLength: 8 }),
    );
    fc.assert(
      fc.property(arcs, ([a, b, rest]) => {
        const dotted = [String(a), String(a === 2 ? b * 1000n : b), ...rest.map(String)].join('.');
        expect(decodeOid(oid(dotted).subarray(2))).toBe(dotted);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('PEM (RFC 7468), no Buffer', () => {
  it('reads every block with its label, ignores text around, refuses encrypted PEM', () => {
    const text = 'subject=CN=x\n-----BEGIN CERTIFICATE-----\nZm9v\n-----END CERTIFICATE-----\ngarbage\n-----BEGIN PUBLIC KEY-----\r\nYmFy\r\n-----END PUBLIC KEY-----\n';
    expect(readPem(text).map((b) => [b.label, latin1(b.der)])).toEqual([
      ['CERTIFICATE', 'foo'],
      ['PUBLIC KEY', 'bar'],
    ]);
    expect(latin1(pemToDer(text, ['PUBLIC KEY']).der)).toBe('bar');
    expect(() => pemToDer(text, ['PRIVATE KEY'])).toThrow(/no PEM block labelled PRIVATE KEY/);
    // BEGIN and END must name the same label.
    expect(readPem('-----BEGIN CERTIFICATE-----\nZm9v\n-----END PUBLIC KEY-----')).toEqual([]);
    expect(() => readPem('-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nZm9v\n-----END EC PRIVATE KEY-----')).toThrow(/encrypted/);
    expect(() => readPem('-----BEGIN CERTIFICATE-----\nZm9v!\n-----END CERTIFICATE-----')).toThrow(DecodeError);
    expect(looksLikePem(h('3000'))).toBe(false);
    expect(looksLikePem(new TextEncoder().encode('-----BEGIN'))).toBe(true);
  });
});
