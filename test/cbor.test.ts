/**
 * The general CBOR codec (lib/lwm2m/codec/cbor.ts): RFC 8949 Appendix A examples both ways,
 * Appendix F (not well-formed) examples refused, and properties: round trips of random items
 * (bigints included), preferred (smallest) encoding, exhaustive half-float conversion, and
 * nothing but CborError for malformed input, truncations and mutations.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../lib/bytes/util.js';
import {
  CborError,
  CborFloat,
  CborSimple,
  CborTag,
  decodeCbor,
  decodeCborPrefix,
  encodeCbor,
  halfToNumber,
  numberToHalf,
  type CborItem,
  type CborMap,
} from '../lib/lwm2m/codec/cbor.js';

const m = (...entries: [CborItem, CborItem][]): CborMap => new Map(entries);
const F = (v: number) => new CborFloat(v);
const dec = (hex: string) => decodeCbor(fromHex(hex), { floats: 'wrap' });
const enc = (x: CborItem) => toHex(encodeCbor(x));

// [diagnostic, item, hex, preferred?] from RFC 8949 Appendix A; preferred=false: decode only
const APPENDIX_A: [string, CborItem, string, boolean?][] = [
  ['0', 0, '00'],
  ['1', 1, '01'],
  ['10', 10, '0a'],
  ['23', 23, '17'],
  ['24', 24, '1818'],
  ['25', 25, '1819'],
  ['100', 100, '1864'],
  ['1000', 1000, '1903e8'],
  ['1000000', 1000000, '1a000f4240'],
  ['1000000000000', 1000000000000, '1b000000e8d4a51000'],
  ['18446744073709551615', 18446744073709551615n, '1bffffffffffffffff'],
  ['18446744073709551616', 18446744073709551616n, 'c249010000000000000000'],
  ['-18446744073709551616', -18446744073709551616n, '3bffffffffffffffff'],
  ['-18446744073709551617', -18446744073709551617n, 'c349010000000000000000'],
  ['-1', -1, '20'],
  ['-10', -10, '29'],
  ['-100', -100, '3863'],
  ['-1000', -1000, '3903e7'],
  ['0.0', F(0), 'f90000'],
  ['-0.0', F(-0), 'f98000'],
  ['1.0', F(1), 'f93c00'],
  ['1.1', F(1.1), 'fb3ff199999999999a'],
  ['1.5', F(1.5), 'f93e00'],
  ['65504.0', F(65504), 'f97bff'],
  ['100000.0', F(100000), 'fa47c35000'],
  ['3.4028234663852886e+38', F(3.4028234663852886e38), 'fa7f7fffff'],
  ['1.0e+300', F(1e300), 'fb7e37e43c8800759c'],
  ['5.960464477539063e-8', F(5.960464477539063e-8), 'f90001'],
  ['0.00006103515625', F(0.00006103515625), 'f90400'],
  ['-4.0', F(-4), 'f9c400'],
  ['-4.1', F(-4.1), 'fbc010666666666666'],
  ['Infinity', F(Infinity), 'f97c00'],
  ['NaN', F(NaN), 'f97e00'],
  ['-Infinity', F(-Infinity), 'f9fc00'],
  ['Infinity (single)', F(Infinity), 'fa7f800000', false],
  ['NaN (single)', F(NaN), 'fa7fc00000', false],
  ['-Infinity (single)', F(-Infinity), 'faff800000', false],
  ['Infinity (double)', F(Infinity), 'fb7ff0000000000000', false],
  ['NaN (double)', F(NaN), 'fb7ff8000000000000', false],
  ['-Infinity (double)', F(-Infinity), 'fbfff0000000000000', false],
  ['false', false, 'f4'],
  ['true', true, 'f5'],
  ['null', null, 'f6'],
  ['undefined', undefined, 'f7'],
  ['simple(16)', new CborSimple(16), 'f0'],
  ['simple(255)', new CborSimple(255), 'f8ff'],
  ['0("2013-03-21T20:04:00Z")', new CborTag(0, '2013-03-21T20:04:00Z'), 'c074323031332d30332d32315432303a30343a30305a'],
  ['1(1363896240)', new CborTag(1, 1363896240), 'c11a514b67b0'],
  ['1(1363896240.5)', new CborTag(1, F(1363896240.5)), 'c1fb41d452d9ec200000'],
  ["23(h'01020304')", new CborTag(23, fromHex('01020304')), 'd74401020304'],
  ["24(h'6449455446')", new CborTag(24, fromHex('6449455446')), 'd818456449455446'],
  ['32("http://www.example.com")', new CborTag(32, 'http://www.example.com'), 'd82076687474703a2f2f7777772e6578616d706c652e636f6d'],
  ["h''", new Uint8Array(0), '40'],
  ["h'01020304'", fromHex('01020304'), '4401020304'],
  ['""', '', '60'],
  ['"a"', 'a', '6161'],
  ['"IETF"', 'IETF', '6449455446'],
  ['"\\"\\\\"', '"\\', '62225c'],
  ['"\\u00fc"', '\u00fc', '62c3bc'],
  ['"\\u6c34"', '\u6c34', '63e6b0b4'],
  ['"\\ud800\\udd51"', '\ud800\udd51', '64f0908591'],
  ['[]', [], '80'],
  ['[1, 2, 3]', [1, 2, 3], '83010203'],
  ['[1, [2, 3], [4, 5]]', [1, [2, 3], [4, 5]], '8301820203820405'],
  ['[1, ..., 25]', Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
  ['{}', m(), 'a0'],
  ['{1: 2, 3: 4}', m([1, 2], [3, 4]), 'a201020304'],
  ['{"a": 1, "b": [2, 3]}', m(['a', 1], ['b', [2, 3]]), 'a26161016162820203'],
  ['["a", {"b": "c"}]', ['a', m(['b', 'c'])], '826161a161626163'],
  ['{"a": "A", ..., "e": "E"}', m(['a', 'A'], ['b', 'B'], ['c', 'C'], ['d', 'D'], ['e', 'E']), 'a56161614161626142616361436164614461656145'],
  ["(_ h'0102', h'030405')", fromHex('0102030405'), '5f42010243030405ff', false],
  ['(_ "strea", "ming")', 'streaming', '7f657374726561646d696e67ff', false],
  ['[_ ]', [], '9fff', false],
  ['[_ 1, [2, 3], [_ 4, 5]]', [1, [2, 3], [4, 5]], '9f018202039f0405ffff', false],
  ['[_ 1, [2, 3], [4, 5]]', [1, [2, 3], [4, 5]], '9f01820203820405ff', false],
  ['[1, [2, 3], [_ 4, 5]]', [1, [2, 3], [4, 5]], '83018202039f0405ff', false],
  ['[1, [_ 2, 3], [4, 5]]', [1, [2, 3], [4, 5]], '83019f0203ff820405', false],
  ['[_ 1, ..., 25]', Array.from({ length: 25 }, (_, i) => i + 1), '9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff', false],
  ['{_ "a": 1, "b": [_ 2, 3]}', m(['a', 1], ['b', [2, 3]]), 'bf61610161629f0203ffff', false],
  ['["a", {_ "b": "c"}]', ['a', m(['b', 'c'])], '826161bf61626163ff', false],
  ['{_ "Fun": true, "Amt": -2}', m(['Fun', true], ['Amt', -2]), 'bf6346756ef563416d7421ff', false],
];

// RFC 8949 Appendix F.1 plus further not-well-formed or invalid items
const MALFORMED: string[] = [
  // end of input in a head
  '18', '19', '1a', '1b', '1901', '1a0102', '1b01020304050607', '38', '58', '78', '98', '9a01ff00', 'b8', 'd8', 'f8', 'f900', 'fa0000', 'fb000000',
  // definite-length strings with short data
  '41', '61', '5affffffff00', '5bffffffffffffffff010203', '7affffffff00', '7b7fffffffffffff010203',
  // definite-length maps and arrays not closed
  '81', '818181818181818181', '8200', 'a1', 'a20102', 'a100', 'a2000000',
  // tag without content
  'c0',
  // indefinite-length strings / containers not closed
  '5f4100', '7f6100', '9f', '9f0102', 'bf', 'bf0102', 'bf01',
  // reserved additional information
  '1c', '1d', '1e', '3c', '3d', '3e', '5c', '5d', '5e', '7c', '7d', '7e', '9c', '9d', '9e', 'bc', 'bd', 'be', 'dc', 'dd', 'de', 'fc', 'fd', 'fe',
  // two-byte simple values below 32
  'f800', 'f801', 'f818', 'f81f',
  // indefinite length where none is allowed
  '1f', '3f', 'df',
  // break out of place
  'ff', '81ff', '8200ff', 'a1ff', 'a1ff00', 'a100ff', 'a20000ff', '9f81ff', '9f829f819f9fffffffff', 'bf00ff', 'bf000000ff',
  // bad chunks of indefinite strings
  '5f00ff', '5f21ff', '5f6100ff', '5f80ff', '5fa0ff', '5fc000ff', '5fe0ff', '7f4100ff', '5f5f4100ffff', '7f7f6100ffff',
  // invalid UTF-8 (overlong, surrogate, truncated sequence, chunk splitting a character)
  '62c0af', '63eda080', '61c3', '7f61c361bcff',
  // duplicate map keys
  'a2010101 02'.replace(' ', ''), 'a2616101616102', 'bf01010102ff',
  // trailing bytes
  '0000', '8000', 'f6f6',
  // invalid tag contents (RFC 8949 §3.4)
  'c001', 'c16161', 'c26161', 'c301', 'c48101', 'c4820161' + '61', 'c582f9010000',
  // lengths far beyond the input
  '9bffffffffffffffff', 'bbffffffffffffffff', '5bffffffffffffffff', '9b0000000100000000',
];

describe('RFC 8949 Appendix A', () => {
  for (const [diag, item, hex, preferred = true] of APPENDIX_A) {
    it(`${diag} <-> ${hex}`, () => {
      expect(dec(hex)).toStrictEqual(item);
      if (preferred) expect(enc(item)).toBe(hex);
      else expect(enc(dec(hex))).not.toBe(hex); // re-encoded in preferred form
    });
  }

  it('decodes floats as plain numbers by default', () => {
    expect(decodeCbor(fromHex('f93c00'))).toBe(1);
    expect(decodeCbor(fromHex('fb3ff199999999999a'))).toBe(1.1);
    expect(Object.is(decodeCbor(fromHex('f98000')), -0)).toBe(true);
    // a plain number that is not a safe integer is written as a float
    expect(enc(1.5)).toBe('f93e00');
    expect(enc(-0)).toBe('f98000');
    expect(enc(2 ** 60)).toBe('fa5d800000');
    expect(enc(NaN)).toBe('f97e00');
  });
});

describe('not well-formed or invalid CBOR', () => {
  for (const hex of MALFORMED) {
    it(`refuses ${hex}`, () => {
      expect(() => decodeCbor(fromHex(hex))).toThrow(CborError);
    });
  }

  it('caps nesting (and never overflows the stack)', () => {
    const nested = (n: number) => new Uint8Array([...new Array<number>(n).fill(0x81), 0x00]);
    expect(() => decodeCbor(nested(64))).not.toThrow();
    expect(() => decodeCbor(nested(65))).toThrow(CborError);
    expect(() => decodeCbor(nested(100_000))).toThrow(CborError);
    expect(() => decodeCbor(nested(5), { maxDepth: 4 })).toThrow(/nesting/);
    const tags = new Uint8Array([...new Array<number>(100).fill(0xc6), 0x00]);
    expect(() => decodeCbor(tags)).toThrow(CborError);
    const deep: CborItem[] = [];
    let cur = deep;
    for (let i = 0; i < 100; i++) {
      const next: CborItem[] = [];
      cur.push(next);
      cur = next;
    }
    expect(() => encodeCbor(deep)).toThrow(CborError);
    const cyclic: CborItem[] = [];
    cyclic.push(cyclic);
    expect(() => encodeCbor(cyclic)).toThrow(CborError);
  });

  it('reports the offset of the failure', () => {
    try {
      decodeCbor(fromHex('8301021c'));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CborError);
      expect((e as CborError).offset).toBe(3);
    }
  });

  it('refuses to encode what CBOR cannot carry', () => {
    expect(() => encodeCbor('\ud800')).toThrow(CborError);
    expect(() => encodeCbor('a\udc00b')).toThrow(CborError);
    expect(() => encodeCbor((() => 1) as unknown as CborItem)).toThrow(CborError);
    expect(() => encodeCbor(Symbol('x') as unknown as CborItem)).toThrow(CborError);
    expect(() => encodeCbor({ a: 1 } as unknown as CborItem)).toThrow(CborError);
    expect(() => new CborSimple(20)).toThrow(CborError);
    expect(() => new CborSimple(24)).toThrow(CborError);
    expect(() => encodeCbor(new CborTag(-1, 0))).toThrow(CborError);
  });
});

describe('tags, bignums, options', () => {
  it('decodes bignums (tags 2/3) to integers and writes bigints beyond 64 bits as bignums', () => {
    expect(dec('c240')).toBe(0);
    expect(dec('c24101')).toBe(1);
    expect(dec('c34101')).toBe(-2);
    expect(dec('c2490000000000000000ff')).toBe(255); // leading zeros accepted
    expect(dec('c249010000000000000001')).toBe(18446744073709551617n);
    expect(enc(2n ** 64n + 1n)).toBe('c249010000000000000001');
    expect(enc(-(2n ** 64n) - 2n)).toBe('c349010000000000000001');
    expect(enc(2n ** 200n)).toBe('c2581a' + '01' + '00'.repeat(25));
    expect(enc(5n)).toBe('05');
    expect(enc(-(2n ** 63n))).toBe('3b7fffffffffffffff');
    expect(dec('1b0020000000000000')).toBe(2n ** 53n);
    expect(dec('1b001fffffffffffff')).toBe(2 ** 53 - 1);
    expect(dec('3b001ffffffffffffe')).toBe(-(2 ** 53 - 1));
    expect(dec('3b001fffffffffffff')).toBe(-(2n ** 53n));
  });

  it('keeps other tags with their number and content (tag 4 decimal fraction, big tag numbers)', () => {
    expect(dec('c48221196ab3')).toStrictEqual(new CborTag(4, [-2, 27315]));
    expect(dec('c48220c249010000000000000000')).toStrictEqual(new CborTag(4, [-1, 2n ** 64n]));
    expect(dec('d9d9f700')).toStrictEqual(new CborTag(55799, 0));
    expect(dec('dbffffffffffffffff00')).toStrictEqual(new CborTag(2n ** 64n - 1n, 0));
    expect(enc(new CborTag(2n ** 64n - 1n, 0))).toBe('dbffffffffffffffff00');
    expect(() => enc(new CborTag(2n ** 64n, 0))).toThrow(CborError);
  });

  it('sorts map keys bytewise on request (RFC 8949 §4.2.1), keeps insertion order otherwise', () => {
    const x = m(['b', 1], ['a', 2], [10, 3], [-1, 4]);
    expect(enc(x)).toBe('a4616201616102' + '0a03' + '2004');
    expect(toHex(encodeCbor(x, { sortKeys: true }))).toBe('a40a03200461610261620' + '1');
    expect(() => encodeCbor(m([[1], 1], [[1], 2]), { sortKeys: true })).toThrow(CborError);
  });

  it('decodes a prefix and stays inside the view it is given', () => {
    const buf = fromHex('ff' + '8301020' + '3' + '1b');
    expect(decodeCborPrefix(buf, 1)).toEqual({ item: [1, 2, 3], end: 5 });
    // a view cut short: the byte after the view is a valid continuation but must not be read
    const whole = fromHex('820102');
    expect(() => decodeCbor(whole.subarray(0, 2))).toThrow(CborError);
    expect(() => decodeCborPrefix(whole, 4)).toThrow(CborError);
  });

  it('returns copies of byte strings, not views of the input', () => {
    const input = fromHex('4401020304');
    const out = decodeCbor(input) as Uint8Array;
    input[1] = 0xff;
    expect(toHex(out)).toBe('01020304');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const int = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
);
const float = fc.double().map(F);
const text = fc.string({ unit: 'binary', maxLength: 20 });
const scalar: fc.Arbitrary<CborItem> = fc.oneof(
  int,
  float,
  text,
  fc.uint8Array({ maxLength: 20 }),
  fc.constantFrom<CborItem>(true, false, null, undefined),
  fc.oneof(fc.integer({ min: 0, max: 19 }), fc.integer({ min: 32, max: 255 })).map((v) => new CborSimple(v)),
);
const { item } = fc.letrec<{ item: CborItem }>((tie) => ({
  item: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('item'), { maxLength: 5 }),
    fc.uniqueArray(fc.tuple(fc.oneof(fc.integer({ min: -30, max: 30 }), fc.string({ maxLength: 4 })), tie('item')), { maxLength: 5, selector: (e) => e[0] }).map((es) => new Map<CborItem, CborItem>(es)),
    fc.tuple(fc.oneof(fc.integer({ min: 6, max: 2 ** 32 }), fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n })), tie('item')).map(([t, v]) => new CborTag(t, v)),
  ),
}));

/** What decoding with { floats: 'wrap' } gives back for an item. */
function normalize(x: CborItem): CborItem {
  if (typeof x === 'number') return Number.isSafeInteger(x) && !Object.is(x, -0) ? x : F(x);
  if (typeof x === 'bigint') return x >= -(2n ** 53n - 1n) && x <= 2n ** 53n - 1n ? Number(x) : x;
  if (x instanceof CborFloat) return Number.isNaN(x.value) ? F(NaN) : x;
  if (Array.isArray(x)) return x.map(normalize);
  if (x instanceof Map) return new Map([...x].map(([k, v]) => [normalize(k), normalize(v)]));
  if (x instanceof CborTag) return new CborTag(typeof x.tag === 'bigint' && x.tag <= 2n ** 53n - 1n ? Number(x.tag) : x.tag, normalize(x.value));
  return x;
}

function headLength(arg: bigint): number {
  return arg < 24n ? 1 : arg < 0x100n ? 2 : arg < 0x10000n ? 3 : arg < 0x100000000n ? 5 : 9;
}

// every half-precision value, by its number (keyed so that -0 and 0 differ)
const HALVES = new Map<string, number>();
for (let h = 0; h < 0x10000; h++) {
  const v = halfToNumber(h);
  if (!Number.isNaN(v)) HALVES.set(Object.is(v, -0) ? '-0' : String(v), h);
}
const halfKey = (v: number) => (Object.is(v, -0) ? '-0' : String(v));

describe('properties', () => {
  it('encode -> decode gives the item back; re-encoding gives the same bytes', () => {
    fc.assert(
      fc.property(item, (x) => {
        const bytes = encodeCbor(x);
        const back = decodeCbor(bytes, { floats: 'wrap' });
        expect(back).toStrictEqual(normalize(x));
        expect(toHex(encodeCbor(back))).toBe(toHex(bytes));
      }),
      { numRuns: 400 },
    );
  });

  it('integers use the shortest head (and bignums beyond 64 bits)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }), (v) => {
        const bytes = encodeCbor(v);
        expect(bytes.length).toBe(headLength(v >= 0n ? v : -1n - v));
        expect(bytes[0]! >> 5).toBe(v >= 0n ? 0 : 1);
        const back = decodeCbor(bytes);
        expect(typeof back === 'number' ? BigInt(back) : back).toBe(v);
        expect(typeof back === 'number').toBe(v >= -(2n ** 53n - 1n) && v <= 2n ** 53n - 1n);
      }),
    );
  });

  it('non-preferred integer heads decode to the same value and re-encode in preferred form', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }), fc.boolean(), (v, neg) => {
        const wide = new Uint8Array(9);
        wide[0] = (neg ? 0x20 : 0) | 27;
        new DataView(wide.buffer).setBigUint64(1, v);
        const back = decodeCbor(wide);
        const expected = neg ? -1n - v : v;
        expect(BigInt(back as number)).toBe(expected);
        expect(encodeCbor(back).length).toBe(headLength(v));
      }),
    );
  });

  it('half floats: every binary16 value converts both ways (exhaustive)', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const v = halfToNumber(h);
      if (Number.isNaN(v)) {
        if (numberToHalf(v) !== 0x7e00 || (h & 0x7c00) !== 0x7c00 || (h & 0x3ff) === 0) wrong.push(h);
        continue;
      }
      const b = encodeCbor(F(v));
      if (numberToHalf(v) !== h || b.length !== 3 || b[0] !== 0xf9 || ((b[1]! << 8) | b[2]!) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('floats use the shortest exact form and decode to the same double', () => {
    const doubles = fc.oneof(
      fc.double(),
      fc.float().map((f) => f), // exact singles
      fc.integer({ min: 0, max: 0xffff }).map(halfToNumber), // exact halves
      fc.integer({ min: -2048, max: 2048 }).map((i) => i / 64),
    );
    fc.assert(
      fc.property(doubles, (d) => {
        const bytes = encodeCbor(F(d));
        const expected = Number.isNaN(d) || HALVES.has(halfKey(d)) ? 3 : Object.is(Math.fround(d), d) ? 5 : 9;
        expect(bytes.length).toBe(expected);
        const back = decodeCbor(bytes);
        expect(Object.is(back, d) || (Number.isNaN(back) && Number.isNaN(d))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes decode or throw CborError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, wrap) => {
        try {
          const x = decodeCbor(bytes, { floats: wrap ? 'wrap' : 'number' });
          // whatever decodes re-encodes and decodes to the same thing
          if (wrap) expect(decodeCbor(encodeCbor(x), { floats: 'wrap' })).toStrictEqual(x);
        } catch (e) {
          if (!(e instanceof CborError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated and truncated encodings decode or throw CborError; strict prefixes always throw', () => {
    fc.assert(
      fc.property(item, fc.nat(), fc.integer({ min: 0, max: 255 }), (x, at, byte) => {
        const bytes = encodeCbor(x);
        for (let n = 0; n < bytes.length; n++) expect(() => decodeCbor(bytes.subarray(0, n))).toThrow(CborError);
        const mutated = bytes.slice();
        mutated[at % mutated.length] = byte;
        try {
          decodeCbor(mutated);
        } catch (e) {
          if (!(e instanceof CborError)) throw e;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('indefinite-length forms decode to the same item as definite ones', () => {
    const toIndefinite = (x: CborItem): Uint8Array => {
      const parts: number[] = [];
      const put = (y: CborItem): void => {
        if (Array.isArray(y)) {
          parts.push(0x9f);
          y.forEach(put);
          parts.push(0xff);
        } else if (y instanceof Map) {
          parts.push(0xbf);
          for (const [k, v] of y) {
            put(k);
            put(v);
          }
          parts.push(0xff);
        } else if (typeof y === 'string' && y.length > 1) {
          parts.push(0x7f, ...encodeCbor(y.slice(0, 1)), ...encodeCbor(y.slice(1)), 0xff);
        } else if (y instanceof Uint8Array) {
          parts.push(0x5f, ...encodeCbor(y.subarray(0, 1)), ...encodeCbor(y.subarray(1)), 0xff);
        } else parts.push(...encodeCbor(y));
      };
      put(x);
      return Uint8Array.from(parts);
    };
    const ascii = fc.string({ unit: 'grapheme-ascii', maxLength: 6 });
    const { tree } = fc.letrec<{ tree: CborItem }>((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small' },
        fc.oneof(int, ascii, fc.uint8Array({ maxLength: 6 })),
        fc.array(tie('tree'), { maxLength: 4 }),
        fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 50 }), tie('tree')), { maxLength: 4, selector: (e) => e[0] }).map((es) => new Map<CborItem, CborItem>(es)),
      ),
    }));
    fc.assert(
      fc.property(tree, (x) => {
        expect(decodeCbor(toIndefinite(x))).toStrictEqual(normalize(x));
      }),
      { numRuns: 300 },
    );
  });
});
