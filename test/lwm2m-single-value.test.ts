/**
 * Single-value LwM2M formats: text/plain (0), opaque (42) and CBOR single value (60). Every
 * vector of test/fixtures/lwm2m-vectors/text_opaque.json and cbor_single_value.json (decode
 * to the described value, encode to the same bytes where the vector says encode), path and type
 * rules, and properties: random bytes decode or throw Lwm2mCodecError only; values of every
 * type round-trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../lib/bytes/util.js';
import { decodeCborSingle, encodeCborSingle } from '../lib/lwm2m/codec/cbor-single.js';
import { decodeOpaque, encodeOpaque } from '../lib/lwm2m/codec/opaque.js';
import { decodeText, encodeText } from '../lib/lwm2m/codec/text.js';
import { DEVICE, resolverFor, SERVER, STANDARD_OBJECTS } from '../lib/lwm2m/objects.js';
import {
  Lwm2mCodecError,
  parsePath,
  type Lwm2mRecord,
  type Path,
  type ResourceType,
  type TypeResolver,
  type Value,
} from '../lib/lwm2m/types.js';
import { readFixtureJson } from './helpers/fixtures.js';
import { canonValue, expectCodecError, obj, res, RESOURCE_TYPES } from './helpers/lwm2m.js';

// ---------------------------------------------------------------------------------------------
// Test-only objects and helpers

/** Firmware Update /5/x/0 Package (opaque); /323/x/15 a float resource (Leshan's test model). */
const FIRMWARE = obj(5, [res(0, 'opaque'), res(1, 'string')]);
const OBJ323 = obj(323, [res(15, 'float')]);
const TYPES = resolverFor([...STANDARD_OBJECTS, FIRMWARE, OBJ323]);
const UNKNOWN: TypeResolver = () => undefined;
/** A resolver where /O/x/R has type `t` (single resource). */
const typed = (t: ResourceType, multiple = false): TypeResolver => (_o, r) => res(r, t, multiple);

function one(records: Lwm2mRecord[], path: Path): Value {
  expect(records).toHaveLength(1);
  expect([...records[0]!.path]).toEqual([...path]);
  return records[0]!.value;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

// ---------------------------------------------------------------------------------------------
// text_opaque.json

interface TextVector {
  id: string;
  path: string;
  payload: string | null;
  values?: unknown;
  direction: string;
  expect_error?: boolean;
}
const TEXT_VECTORS = readFixtureJson<{ vectors: TextVector[] }>('lwm2m-vectors/text_opaque.json').vectors;

/** A vector's described value for the resource's type. */
function describedTextValue(v: TextVector, type: ResourceType): Value {
  const d = v.values;
  if (typeof d === 'object' && d !== null && 'opaque_hex' in d) return fromHex((d as { opaque_hex: string }).opaque_hex);
  if (typeof d === 'string' && type === 'time') {
    const iso = /\d{4}-\d{2}-\d{2}T[\d:]+Z/.exec(d)![0];
    return Date.parse(iso) / 1000;
  }
  return d as Value;
}

describe('text_opaque.json vectors', () => {
  it('has 7 vectors', () => expect(TEXT_VECTORS).toHaveLength(7));

  for (const v of TEXT_VECTORS) {
    const path = parsePath(v.path);
    const def = TYPES(path[0]!, path[2]!)!;
    if (v.expect_error && v.direction === 'decode') {
      it(`${v.id}: decoding fails`, () => expectCodecError(() => decodeText(utf8(v.payload!), path, TYPES)));
      continue;
    }
    if (v.expect_error) {
      it(`${v.id}: encoding a multiple-instance resource as text fails`, () => {
        expect(def.multiple).toBe(true);
        const instances = [
          { path: [...path, 0], value: 1 },
          { path: [...path, 1], value: 5 },
        ];
        expectCodecError(() => encodeText(instances, path, TYPES));
        expectCodecError(() => encodeText([{ path, value: 1 }], path, TYPES));
        // One of its instances can be written.
        expect(text(encodeText([instances[1]!], instances[1]!.path, TYPES))).toBe('5');
      });
      continue;
    }
    const value = describedTextValue(v, def.type);
    it(`${v.id}: "${v.payload}" decodes to ${canonValue(value)}`, () => {
      expect(canonValue(one(decodeText(utf8(v.payload!), path, TYPES), path))).toBe(canonValue(value));
    });
    if (v.direction.includes('encode')) {
      it(`${v.id}: ${canonValue(value)} encodes to "${v.payload}"`, () => {
        expect(text(encodeText([{ path, value }], path, TYPES))).toBe(v.payload);
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// cbor_single_value.json

interface CborVector {
  id: string;
  path: string;
  direction: string;
  lwm2m_type?: string;
  value_c_source?: string[];
  hex: string;
  length: number;
  cbor_diagnostic_check: string;
  expect_error?: boolean;
  expected_asserts?: string[];
}
const CBOR_VECTORS = readFixtureJson<{ vectors: CborVector[] }>('lwm2m-vectors/cbor_single_value.json').vectors;

const WAKAAMA_TYPE: Record<string, ResourceType> = {
  INTEGER: 'integer',
  UNSIGNED_INTEGER: 'unsigned',
  FLOAT: 'float',
  BOOLEAN: 'boolean',
  OPAQUE: 'opaque',
  STRING: 'string',
};

const modelInt = (b: bigint): number | bigint => (b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);

/** The value a wakaama test builds (value_c_source), as a model value. */
function cSourceValue(v: CborVector, type: ResourceType): Value {
  const src = v.value_c_source!.join('\n');
  if (src.includes('zeroed struct')) return 0;
  let m = /asInteger = (.+)$/m.exec(src) ?? /asUnsigned = (.+)$/m.exec(src);
  if (m) {
    const lit = m[1]!.trim();
    if (lit === 'INT64_MAX') return 2n ** 63n - 1n;
    if (lit === 'UINT64_MAX') return 2n ** 64n - 1n;
    return modelInt(BigInt(lit.replace(/ll$/i, '')));
  }
  m = /asFloat = (.+)$/m.exec(src);
  if (m) {
    const lit = m[1]!.trim();
    return lit === 'INFINITY' ? Infinity : lit === '-INFINITY' ? -Infinity : Number(lit);
  }
  m = /asBoolean = (true|false)$/m.exec(src);
  if (m) return m[1] === 'true';
  m = /asBuffer\.buffer = (.+)$/m.exec(src);
  if (m) {
    const lit = m[1]!.trim();
    if (lit === 'NULL') return type === 'opaque' ? new Uint8Array(0) : '';
    const str = /^\(uint8_t \*\)"(.*)"$/.exec(lit);
    if (str) return str[1]!.replace(/\\(.)/g, '$1');
    // (uint8_t *)bin: the bytes are only in the test source; the diagnostic shows them.
    return fromHex(/^h'([0-9a-f]*)'$/.exec(v.cbor_diagnostic_check)![1]!);
  }
  throw new Error(`unmapped value_c_source in ${v.id}: ${src}`);
}

/** The resource type and a check of the value from wakaama's expected_asserts. */
function assertsExpectation(v: CborVector): { type: ResourceType; check: (value: Value) => void } {
  const asserts = v.expected_asserts!;
  const typeName = /^type == LWM2M_TYPE_(\w+)$/.exec(asserts[0]!)![1]!;
  const type = WAKAAMA_TYPE[typeName]!;
  const checks: Array<(value: Value) => void> = [];
  for (const a of asserts.slice(1)) {
    let m: RegExpExecArray | null;
    if ((m = /^value\.asFloat == (-?)INFINITY$/.exec(a))) {
      const want = m[1] ? -Infinity : Infinity;
      checks.push((x) => expect(x).toBe(want));
    } else if (/^value\.asFloat != \w+->value\.asFloat$/.test(a)) checks.push((x) => expect(Number.isNaN(x)).toBe(true));
    else if ((m = /^value\.as(?:Float|Unsigned|Integer) == ([\d.]+)$/.exec(a))) {
      const want = Number(m[1]);
      checks.push((x) => expect(x).toBe(want));
    } else if ((m = /^value\.asBuffer\.length == (\d+)$/.exec(a))) {
      const want = Number(m[1]);
      checks.push((x) => expect(typeof x === 'string' ? utf8(x).length : (x as Uint8Array).length).toBe(want));
    } else if (a === 'value.asBuffer.length == sizeof(expected)') continue;
    else if ((m = /^expected_bytes=([0-9a-f]+)$/.exec(a))) {
      const want = m[1]!;
      checks.push((x) => expect(toHex(x as Uint8Array)).toBe(want));
    } else throw new Error(`unmapped assert in ${v.id}: ${a}`);
  }
  return {
    type,
    check: (value) => {
      for (const c of checks) c(value);
    },
  };
}

describe('cbor_single_value.json vectors', () => {
  it('has the vectors this file maps', () => {
    expect(CBOR_VECTORS).toHaveLength(63);
    for (const v of CBOR_VECTORS) expect(fromHex(v.hex).length, v.id).toBe(v.length);
  });

  for (const v of CBOR_VECTORS) {
    const path = parsePath(v.path);
    const b = fromHex(v.hex);
    if (v.expect_error) {
      it(`${v.id}: ${v.cbor_diagnostic_check} is refused for every resource type`, () => {
        expectCodecError(() => decodeCborSingle(b, path, UNKNOWN));
        for (const t of RESOURCE_TYPES) expectCodecError(() => decodeCborSingle(b, path, typed(t)));
      });
      continue;
    }
    if (v.lwm2m_type) {
      const type = WAKAAMA_TYPE[v.lwm2m_type]!;
      const value = cSourceValue(v, type);
      it(`${v.id}: ${v.hex} <-> ${type} ${canonValue(value)}`, () => {
        expect(v.direction).toBe('encode+decode');
        expect(canonValue(one(decodeCborSingle(b, path, typed(type)), path))).toBe(canonValue(value));
        // Without a model the item's own type gives the same value.
        expect(canonValue(one(decodeCborSingle(b, path, UNKNOWN), path))).toBe(canonValue(value));
        expect(toHex(encodeCborSingle([{ path, value }], path, typed(type)))).toBe(v.hex);
      });
      continue;
    }
    const { type, check } = assertsExpectation(v);
    it(`${v.id}: ${v.cbor_diagnostic_check} decodes as ${type}`, () => {
      expect(v.direction).toBe('decode');
      check(one(decodeCborSingle(b, path, typed(type)), path));
      check(one(decodeCborSingle(b, path, UNKNOWN), path));
    });
  }

  it('tags 0 and 1 read as seconds for a time resource', () => {
    const tag0 = fromHex(CBOR_VECTORS.find((v) => v.id === 'wakaama-cbor_test_77')!.hex);
    const tag1 = fromHex(CBOR_VECTORS.find((v) => v.id === 'wakaama-cbor_test_78')!.hex);
    expect(one(decodeCborSingle(tag0, [3, 0, 13], TYPES), [3, 0, 13])).toBe(1363896240);
    expect(one(decodeCborSingle(tag1, [3, 0, 13], TYPES), [3, 0, 13])).toBe(1363896240);
    expect(toHex(encodeCborSingle([{ path: [3, 0, 13], value: 1363896240 }], [3, 0, 13], TYPES))).toBe(toHex(tag1));
    // 1(1363896240.5) is not whole seconds.
    expectCodecError(() => decodeCborSingle(fromHex('c1fb41d452d9ec200000'), [3, 0, 13], TYPES));
  });

  it('a time read from a float is whole seconds as an integer: -0.0 is 0 (found by the lwm2m-text fuzz target)', () => {
    for (const hex of ['fa80000000', 'f98000', 'fb8000000000000000', 'c1f98000']) {
      const v = one(decodeCborSingle(fromHex(hex), [1, 1, 12], TYPES), [1, 1, 12]);
      expect(Object.is(v, 0), hex).toBe(true);
      // and it writes back as what it reads as
      const back = encodeCborSingle([{ path: [1, 1, 12], value: v }], [1, 1, 12], TYPES);
      expect(toHex(back)).toBe('c100');
      expect(Object.is(one(decodeCborSingle(back, [1, 1, 12], TYPES), [1, 1, 12]), 0)).toBe(true);
    }
    expect(one(decodeCborSingle(fromHex('fa4b000000'), [1, 1, 12], TYPES), [1, 1, 12])).toBe(8388608);
  });
});

// ---------------------------------------------------------------------------------------------
// Rules

describe('single-value rules', () => {
  const codecs = [
    ['text', decodeText, encodeText],
    ['opaque', decodeOpaque, encodeOpaque],
    ['cbor', decodeCborSingle, encodeCborSingle],
  ] as const;

  it('paths must be a resource or resource instance; multiplicity must match', () => {
    for (const [name, decode, encode] of codecs) {
      const T = name === 'opaque' ? typed('opaque') : TYPES;
      for (const p of [[], [3], [3, 0], [3, 0, 0, 0, 0], [3, 0, 70000]] as Path[]) {
        expectCodecError(() => decode(new Uint8Array(0), p, T));
        expectCodecError(() => encode([{ path: p, value: 'x' }], p, T));
      }
      if (name !== 'opaque') {
        // /3/0/6 is multiple, /3/0/9 single, /3/0/4 executable.
        expectCodecError(() => decode(utf8('1'), [3, 0, 6], TYPES));
        expectCodecError(() => decode(utf8('1'), [3, 0, 9, 0], TYPES));
        expectCodecError(() => decode(utf8('1'), [3, 0, 4], TYPES));
        expectCodecError(() => encode([{ path: [3, 0, 4], value: 1 }], [3, 0, 4], TYPES));
      }
      // Exactly one record, at the request path.
      expectCodecError(() => encode([], [5, 0, 0], TYPES));
      expectCodecError(() => encode([{ path: [5, 0, 0], value: new Uint8Array(1) }, { path: [5, 0, 0], value: new Uint8Array(1) }], [5, 0, 0], TYPES));
      expectCodecError(() => encode([{ path: [5, 1, 0], value: new Uint8Array(1) }], [5, 0, 0], TYPES));
    }
  });

  it('opaque: bytes of opaque resources only', () => {
    const b = Uint8Array.of(0, 1, 0xff);
    expect(toHex(one(decodeOpaque(b, [5, 0, 0], TYPES), [5, 0, 0]) as Uint8Array)).toBe('0001ff');
    expect(toHex(one(decodeOpaque(b, [9999, 0, 0], UNKNOWN), [9999, 0, 0]) as Uint8Array)).toBe('0001ff');
    expect(toHex(encodeOpaque([{ path: [5, 0, 0], value: b }], [5, 0, 0], TYPES))).toBe('0001ff');
    expectCodecError(() => decodeOpaque(b, [3, 0, 0], TYPES));
    expectCodecError(() => encodeOpaque([{ path: [5, 0, 0], value: 'x' }], [5, 0, 0], TYPES));
    expectCodecError(() => encodeOpaque([{ path: [3, 0, 0], value: b }], [3, 0, 0], TYPES));
  });

  it('text: values by type', () => {
    const dec = (s: string, t: ResourceType): Value => one(decodeText(utf8(s), [1, 0, 0], typed(t)), [1, 0, 0]);
    const enc = (v: Value, t: ResourceType): string => text(encodeText([{ path: [1, 0, 0], value: v }], [1, 0, 0], typed(t)));
    expect(dec('-42', 'integer')).toBe(-42);
    expect(dec('+42', 'integer')).toBe(42);
    expect(dec('9223372036854775807', 'integer')).toBe(2n ** 63n - 1n);
    expect(dec('18446744073709551615', 'unsigned')).toBe(2n ** 64n - 1n);
    expect(dec('1e3', 'float')).toBe(1000);
    expect(dec('-0', 'float')).toBe(-0);
    expect(dec('NaN', 'float')).toBeNaN();
    expect(dec('1', 'boolean')).toBe(true);
    expect(dec('0', 'boolean')).toBe(false);
    expect(dec('3:65535', 'objlnk')).toEqual({ objectId: 3, instanceId: 65535 });
    expect(dec('', 'opaque')).toEqual(new Uint8Array(0));
    expect(dec('', 'string')).toBe('');
    expect(dec('héllo', 'string')).toBe('héllo');
    // Unknown resources are strings.
    expect(one(decodeText(utf8('12'), [9999, 0, 0], UNKNOWN), [9999, 0, 0])).toBe('12');
    for (const [s, t] of [
      ['9223372036854775808', 'integer'],
      ['1.0', 'integer'],
      ['', 'integer'],
      [' 1', 'integer'],
      ['-1', 'unsigned'],
      ['18446744073709551616', 'unsigned'],
      ['1,5', 'float'],
      ['', 'float'],
      ['0x10', 'float'],
      ['true', 'boolean'],
      ['2', 'boolean'],
      ['3', 'objlnk'],
      ['65536:0', 'objlnk'],
      ['AQI', 'opaque'],
      ['AR==', 'opaque'],
      ['AQ-_', 'opaque'],
      ['1.5', 'time'],
    ] as Array<[string, ResourceType]>) {
      expectCodecError(() => dec(s, t));
    }
    expectCodecError(() => decodeText(fromHex('c328'), [3, 0, 0], TYPES));
    expect(enc(-0, 'float')).toBe('-0');
    expect(enc(1e21, 'float')).toBe('1e+21');
    expect(enc(0.1 + 0.2, 'float')).toBe('0.30000000000000004');
    expect(enc(2n ** 64n - 1n, 'unsigned')).toBe('18446744073709551615');
    expect(enc(true, 'boolean')).toBe('1');
    expect(enc({ objectId: 66, instanceId: 0 }, 'objlnk')).toBe('66:0');
    expectCodecError(() => enc(1.5, 'integer'));
    expectCodecError(() => enc('1', 'integer'));
    expectCodecError(() => enc(-1, 'unsigned'));
    expectCodecError(() => enc(1, 'boolean'));
    expectCodecError(() => enc('\udc00', 'string'));
  });

  it('cbor: canonical encodings and refusals', () => {
    const enc = (v: Value, t: ResourceType): string => toHex(encodeCborSingle([{ path: [1, 0, 0], value: v }], [1, 0, 0], typed(t)));
    const dec = (hex: string, t?: ResourceType): Value => one(decodeCborSingle(fromHex(hex), [1, 0, 0], t ? typed(t) : UNKNOWN), [1, 0, 0]);
    expect(enc(23, 'integer')).toBe('17');
    expect(enc(255, 'integer')).toBe('18ff');
    expect(enc(256, 'integer')).toBe('190100');
    expect(enc(65536, 'integer')).toBe('1a00010000');
    expect(enc(-24, 'integer')).toBe('37');
    expect(enc(-25, 'integer')).toBe('3818');
    expect(enc(-(2n ** 63n), 'integer')).toBe('3b7fffffffffffffff');
    expect(enc(NaN, 'float')).toBe('f97e00');
    expect(enc(2 ** -24, 'float')).toBe('f90001');
    expect(enc(2 ** -25, 'float')).toBe('fa33000000');
    expect(enc(65504, 'float')).toBe('f97bff');
    expect(enc(65505, 'float')).toBe('fa477fe100');
    expect(enc(100000, 'float')).toBe('fa47c35000');
    expect(enc({ objectId: 3, instanceId: 0 }, 'objlnk')).toBe('63333a30');
    expect(enc('</3>', 'corelnk')).toBe('643c2f333e');
    expect(enc(-1, 'time')).toBe('c120');
    // Non-minimal heads are read.
    expect(dec('1b0000000000000001', 'integer')).toBe(1);
    expect(dec('5800')).toEqual(new Uint8Array(0));
    expect(dec('f93c00', 'float')).toBe(1);
    expect(dec('fa3fc00000', 'float')).toBe(1.5);
    expect(dec('05', 'float')).toBe(5);
    expect(dec('1bffffffffffffffff')).toBe(2n ** 64n - 1n);
    expect(dec('3b7fffffffffffffff')).toBe(-(2n ** 63n));
    expect(dec('63333a30', 'objlnk')).toEqual({ objectId: 3, instanceId: 0 });
    for (const [hex, t] of [
      ['1b8000000000000000', 'integer'],
      ['20', 'unsigned'],
      ['f93c00', 'integer'],
      ['01', 'boolean'],
      ['4100', 'string'],
      ['6100', 'opaque'],
      ['62c328', 'string'],
      ['f6', undefined],
      ['0000', 'integer'],
      ['', 'integer'],
      ['18', 'integer'],
      ['1c', 'integer'],
      ['5f4100ff', 'opaque'],
      ['ff', undefined],
      ['c5', 'integer'],
      ['6133', 'objlnk'],
      ['c074323031332d30332d32315432303a30343a30305a', 'integer'],
      ['5a00010000', 'opaque'],
    ] as Array<[string, ResourceType | undefined]>) {
      expectCodecError(() => dec(hex, t));
    }
    expectCodecError(() => enc(1.5, 'integer'));
    expectCodecError(() => enc(2n ** 64n, 'unsigned'));
    expectCodecError(() => enc('x', 'opaque'));
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

function valueArb(t: ResourceType): fc.Arbitrary<Value> {
  switch (t) {
    case 'string':
    case 'corelnk':
      return fc.string({ unit: 'binary', maxLength: 40 });
    case 'integer':
    case 'time':
      return fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.integer(), fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n).map(modelInt));
    case 'unsigned':
      return fc.oneof(fc.integer({ min: 0, max: 300 }), fc.bigInt(0n, 2n ** 64n - 1n).map(modelInt));
    case 'float':
      return fc.oneof(fc.double(), fc.float().map(Number), fc.integer({ min: -70000, max: 70000 }).map((n) => n / 64));
    case 'boolean':
      return fc.boolean();
    case 'opaque':
      return fc.uint8Array({ maxLength: 64 });
    case 'objlnk':
      return fc.record({ objectId: fc.integer({ min: 0, max: 65535 }), instanceId: fc.integer({ min: 0, max: 65535 }) });
    default:
      throw new Error(t);
  }
}

describe('single-value properties', () => {
  it('random bytes decode to a record or throw Lwm2mCodecError, never anything else', () => {
    const types = [undefined, ...RESOURCE_TYPES];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), fc.constantFrom(...types), fc.boolean(), (b, t, instance) => {
        const path: Path = instance ? [1, 0, 2, 3] : [1, 0, 2];
        const resolver = t ? typed(t, instance) : UNKNOWN;
        for (const decode of [decodeText, decodeOpaque, decodeCborSingle]) {
          try {
            const recs = decode(b, path, resolver);
            expect(recs).toHaveLength(1);
          } catch (e) {
            if (!(e instanceof Lwm2mCodecError)) throw e;
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('CBOR-shaped random input (plausible heads) decodes or throws Lwm2mCodecError', () => {
    const item = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 10 })).map(([h, rest]) => Uint8Array.of(h, ...rest));
    fc.assert(
      fc.property(item, fc.constantFrom(undefined, ...RESOURCE_TYPES), (b, t) => {
        try {
          decodeCborSingle(b, [1, 0, 2], t ? typed(t) : UNKNOWN);
        } catch (e) {
          if (!(e instanceof Lwm2mCodecError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });

  const roundTrip = (name: string, encode: typeof encodeText, decode: typeof decodeText, types: readonly ResourceType[]): void => {
    it(`${name}: encode -> decode round trip for ${types.join(', ')}`, () => {
      for (const t of types) {
        fc.assert(
          fc.property(valueArb(t), fc.boolean(), (value, instance) => {
            const path: Path = instance ? [9, 1, 2, 3] : [9, 1, 2];
            const resolver = typed(t, instance);
            const bytes = encode([{ path, value }], path, resolver);
            expect(canonValue(one(decode(bytes, path, resolver), path))).toBe(canonValue(value));
          }),
          { numRuns: 100 },
        );
      }
    });
  };
  roundTrip('text', encodeText, decodeText, RESOURCE_TYPES);
  roundTrip('opaque', encodeOpaque, decodeOpaque, ['opaque']);
  roundTrip('cbor', encodeCborSingle, decodeCborSingle, RESOURCE_TYPES);

  it('cbor floats use the shortest exact width', () => {
    fc.assert(
      fc.property(valueArb('float'), (x) => {
        const hex = toHex(encodeCborSingle([{ path: [9, 0, 0], value: x }], [9, 0, 0], typed('float')));
        const n = x as number;
        if (hex.startsWith('fb')) expect(Math.fround(n)).not.toBe(n);
        if (hex.startsWith('fa')) expect(Math.fround(n)).toBe(n);
      }),
      { numRuns: 300 },
    );
  });

  it('unknown resources: the value type picks the encoding', () => {
    fc.assert(
      fc.property(fc.constantFrom(...RESOURCE_TYPES.filter((t) => t !== 'corelnk' && t !== 'time')).chain(valueArb), (value) => {
        for (const [encode, decode] of [
          [encodeText, decodeText],
          [encodeCborSingle, decodeCborSingle],
        ] as const) {
          const bytes = encode([{ path: [9999, 0, 1], value }], [9999, 0, 1], UNKNOWN);
          // Text decodes unknown resources as strings; CBOR by the item's type.
          const back = one(decode(bytes, [9999, 0, 1], UNKNOWN), [9999, 0, 1]);
          if (decode === decodeText) expect(typeof back).toBe('string');
          else if (!(typeof value === 'object' && !(value instanceof Uint8Array))) expect(canonValue(back)).toBe(canonValue(value));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('STANDARD_OBJECTS resources: every readable single resource round-trips in text and CBOR', () => {
    const defs = [...SERVER.resources.map((r) => [1, r] as const), ...DEVICE.resources.map((r) => [3, r] as const)].filter(([, r]) => r.type !== 'none');
    for (const [o, r] of defs) {
      fc.assert(
        fc.property(valueArb(r.type), (value) => {
          const path: Path = r.multiple ? [o, 0, r.id, 0] : [o, 0, r.id];
          for (const [encode, decode] of [
            [encodeText, decodeText],
            [encodeCborSingle, decodeCborSingle],
          ] as const) {
            expect(canonValue(one(decode(encode([{ path, value }], path, TYPES), path, TYPES), path))).toBe(canonValue(value));
          }
        }),
        { numRuns: 20 },
      );
    }
  });
});
