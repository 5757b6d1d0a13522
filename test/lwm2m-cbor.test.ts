/**
 * LwM2M CBOR (11544): the specification's examples
 * (test/fixtures/lwm2m-vectors/lwm2m_cbor.json) both ways, what Anjay writes (indefinite-length
 * maps), strictness, and properties: random records of every type round-trip, random bytes and
 * random LwM2M-CBOR-shaped items give records or Lwm2mCodecError only.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../lib/bytes/util.js';
import { CborFloat, CborTag, encodeCbor, type CborItem } from '../lib/lwm2m/codec/cbor.js';
import { decodeLwm2mCbor, encodeLwm2mCbor, LWM2M_CBOR_CONTENT_FORMAT, lwm2mCborCodec } from '../lib/lwm2m/codec/lwm2m-cbor.js';
import type { RequestPath, TimedRecord } from '../lib/lwm2m/codec/senml.js';
import { DEVICE, resolverFor, SECURITY, SERVER } from '../lib/lwm2m/objects.js';
import { Lwm2mCodecError, parsePath, type Lwm2mRecord, type Path, type ResourceType, type Value } from '../lib/lwm2m/types.js';
import { readFixtureJson } from './helpers/fixtures.js';
import { allTypesObject, allTypesRecordsArb, intValue, objlnkArb, res } from './helpers/lwm2m.js';

const TYPES = resolverFor([SECURITY, SERVER, DEVICE]);

interface Vector {
  id: string;
  path: string | null;
  hex: string;
  spec_diagnostic: string;
}
const VECTORS = readFixtureJson<{ vectors: Vector[] }>('lwm2m-vectors/lwm2m_cbor.json').vectors;

const OMA = 'Open Mobile Alliance';
const DEVICE_3_0: Lwm2mRecord[] = [
  { path: [3, 0, 0], value: OMA },
  { path: [3, 0, 1], value: 'Lightweight M2M Client' },
  { path: [3, 0, 2], value: '345000123' },
  { path: [3, 0, 3], value: '1.0' },
  { path: [3, 0, 6, 0], value: 1 },
  { path: [3, 0, 6, 1], value: 5 },
  { path: [3, 0, 7, 0], value: 3800 },
  { path: [3, 0, 7, 1], value: 5000 },
  { path: [3, 0, 8, 0], value: 125 },
  { path: [3, 0, 8, 1], value: 900 },
  { path: [3, 0, 9], value: 100 },
  { path: [3, 0, 10], value: 15 },
  { path: [3, 0, 11, 0], value: 0 },
  { path: [3, 0, 13], value: 1367491215 },
  { path: [3, 0, 14], value: '+02:00' },
  { path: [3, 0, 16], value: 'U' },
];
const server = (i: number, ssid: number, pmin: number, notif: boolean): Lwm2mRecord[] => [
  { path: [1, i, 0], value: ssid },
  { path: [1, i, 1], value: 86400 },
  { path: [1, i, 2], value: pmin },
  { path: [1, i, 3], value: 6000 },
  { path: [1, i, 5], value: 86400 },
  { path: [1, i, 6], value: notif },
  { path: [1, i, 7], value: 'U' },
];

/** The records of each example, from its spec_diagnostic; encode=false: decode only. */
const EXPECTED: Record<string, { records: Lwm2mRecord[]; encode: boolean }> = {
  'lwm2m-cbor-single-resource': { records: [{ path: [3, 0, 0], value: OMA }], encode: true },
  'lwm2m-cbor-single-resource-nested': { records: [{ path: [3, 0, 0], value: OMA }], encode: false },
  'lwm2m-cbor-multiple-resource': {
    records: [
      { path: [3, 0, 6, 0], value: 1 },
      { path: [3, 0, 6, 1], value: 5 },
    ],
    encode: true,
  },
  'lwm2m-cbor-device-instance': { records: DEVICE_3_0, encode: true },
  'lwm2m-cbor-server-object': { records: [...server(0, 101, 300, true), ...server(1, 102, 600, false)], encode: true },
  'lwm2m-cbor-composite': {
    records: [
      { path: [3, 0, 0], value: OMA },
      { path: [3, 0, 9], value: 100 },
      { path: [1, 0, 1], value: 86400 },
    ],
    encode: true,
  },
};

describe('LwM2M CBOR: the specification examples (lwm2m_cbor.json)', () => {
  it('has the vectors and the codec record', () => {
    expect(VECTORS.map((v) => v.id).sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(lwm2mCborCodec.contentFormat).toBe(LWM2M_CBOR_CONTENT_FORMAT);
    expect(LWM2M_CBOR_CONTENT_FORMAT).toBe(11544);
  });
  for (const v of VECTORS) {
    it(`${v.id}: ${v.spec_diagnostic.slice(0, 60)}`, () => {
      const p: RequestPath = v.path === null ? null : parsePath(v.path);
      const { records, encode } = EXPECTED[v.id]!;
      expect(decodeLwm2mCbor(fromHex(v.hex), p, TYPES)).toStrictEqual(records);
      expect(decodeLwm2mCbor(fromHex(v.hex), null, TYPES)).toStrictEqual(records);
      const out = toHex(encodeLwm2mCbor(records, p, TYPES));
      if (encode) expect(out).toBe(v.hex);
      else expect(out).toBe(VECTORS.find((x) => x.id === 'lwm2m-cbor-single-resource')!.hex);
    });
  }
});

describe('LwM2M CBOR details', () => {
  const M = (...e: [CborItem, CborItem][]) => new Map<CborItem, CborItem>(e);
  const dec = (x: CborItem, p: RequestPath = null) => decodeLwm2mCbor(encodeCbor(x), p, TYPES);

  it('reads any split of the path into keys, and indefinite-length maps (Anjay)', () => {
    const expected = [{ path: [3, 0, 0], value: 'x' }];
    for (const x of [M([[3, 0, 0], 'x']), M([3, M([0, M([0, 'x'])])]), M([[3], M([[0, 0], 'x'])]), M([[3, 0], M([[0], 'x'])])]) expect(dec(x)).toStrictEqual(expected);
    // {_ [3, 0]: {_ 0: "x", 6: {_ 0: 1}}} as Anjay streams it
    expect(decodeLwm2mCbor(fromHex('bf820300bf00617806bf0001ffffff'), [3, 0], TYPES)).toStrictEqual([
      { path: [3, 0, 0], value: 'x' },
      { path: [3, 0, 6, 0], value: 1 },
    ]);
    expect(decodeLwm2mCbor(new Uint8Array(0), null, TYPES)).toStrictEqual([]);
    expect(dec(M())).toStrictEqual([]);
    expect(dec(M([[3, 0], M()]))).toStrictEqual([]); // an instance without resources
  });

  it('types values by the object model', () => {
    expect(dec(M([[1, 0, 12], new CborTag(1, 1700000000)]))).toStrictEqual([{ path: [1, 0, 12], value: 1700000000 }]); // time, tag 1
    expect(dec(M([[0, 0, 17], '21:3']))).toStrictEqual([{ path: [0, 0, 17], value: { objectId: 21, instanceId: 3 } }]);
    expect(dec(M([[0, 0, 3], fromHex('abcdef')]))).toStrictEqual([{ path: [0, 0, 3], value: fromHex('abcdef') }]);
    expect(dec(M([[1, 0, 2], 2n ** 63n - 1n]))).toStrictEqual([{ path: [1, 0, 2], value: 2n ** 63n - 1n }]);
    expect(dec(M([[0, 0, 13], 2n ** 64n - 1n]))).toStrictEqual([{ path: [0, 0, 13], value: 2n ** 64n - 1n }]);
    expect(dec(M([[3, 0, 9], new CborFloat(50)]))).toStrictEqual([{ path: [3, 0, 9], value: 50 }]);
    // an unknown resource keeps the item's own type
    expect(dec(M([[9, 9, 9], new CborFloat(1.5)]))).toStrictEqual([{ path: [9, 9, 9], value: 1.5 }]);
    expect(dec(M([[9, 9, 9], 2n ** 64n]))).toStrictEqual([{ path: [9, 9, 9], value: 2n ** 64n }]);
    expect(dec(M([[9, 9, 9], '21:3']))).toStrictEqual([{ path: [9, 9, 9], value: '21:3' }]);
  });

  it('refuses what is not LwM2M CBOR', () => {
    const bad: [CborItem, RequestPath?][] = [
      [[M([[3, 0, 0], 'x'])]], // not a map
      [M([-1, M([[0, 0], 'x'])])], // negative id
      [M([65536, M([[0, 0], 'x'])])], // id too large
      [M([[], 'x'])], // empty key
      [M(['3', M([[0, 0], 'x'])])], // text key
      [M([[3, new CborFloat(0), 0], 'x'])], // float id
      [M([[3, 0, 6, 0, 1], 1])], // too deep
      [M([[3, 0, 6, 0], M([1, 1])])], // children of a resource instance
      [M([[3, 0], 'x'])], // a value above resource level
      [M([[3, 0, 0], null])],
      [M([[3, 0, 0], [1]])],
      [M([[3, 0, 0], 'a'], [3, M([0, M([0, 'b'])])])], // the same path twice
      [M([[9, 0, 1], 1], [[9, 0, 1, 0], 1])], // resource and its instances
      [M([[3, 0, 9], 'x'])], // integer given as text
      [M([[3, 0, 0], 1])], // string given as a number
      [M([[3, 0, 9], new CborFloat(1.5)])],
      [M([[3, 0, 9], 2n ** 63n])],
      [M([[0, 0, 13], -1])],
      [M([[0, 0, 3], 'abc'])], // opaque given as text
      [M([[0, 0, 17], '1:2:3'])],
      [M([[3, 0, 4], 1])], // executable
      [M([[3, 0, 6], 1])], // multiple resource without instance
      [M([[3, 0, 9, 0], 1])], // single resource with an instance
      [M([[3, 0, 9], 1]), [3, 1]], // outside the request path
    ];
    for (const [x, p] of bad) expect(() => dec(x, p ?? null)).toThrow(Lwm2mCodecError);
    for (const hex of ['a1', 'a183030000', 'a1830300006178ff', 'a1830300006178' + '00', 'ff', '00']) expect(() => decodeLwm2mCbor(fromHex(hex), null, TYPES), hex).toThrow(Lwm2mCodecError);
  });

  it('refuses records it cannot write', () => {
    const bad: [TimedRecord[], RequestPath][] = [
      [[{ path: [3, 0, 9], value: 1, time: 5 }], null], // no timestamps in LwM2M CBOR
      [[{ path: [3, 0], value: 1 }], null],
      [[{ path: [3, 0, 9], value: 1 }], [1]],
      [[{ path: [3, 0, 9], value: 1 }, { path: [3, 0, 9], value: 1 }], null],
      [[{ path: [9, 0, 9], value: 1 }, { path: [9, 0, 9, 1], value: 1 }], null],
      [[{ path: [9, 0, 9, 1], value: 1 }, { path: [9, 0, 9], value: 1 }], null],
      [[{ path: [3, 0, 9], value: 'x' }], null],
      [[{ path: [3, 0, 6], value: 1 }], null],
      [[{ path: [3, 0, 0], value: '\udc00' }], null],
    ];
    for (const [records, p] of bad) expect(() => encodeLwm2mCbor(records, p, TYPES)).toThrow(Lwm2mCodecError);
  });

  it('writes floats in the shortest exact form, time and integers as integers, objlnk as text', () => {
    const types = resolverFor([{ id: 9, name: 't', multiple: true, mandatory: false, resources: [res(0, 'float'), res(1, 'time'), res(2, 'objlnk')] }]);
    expect(toHex(encodeLwm2mCbor([{ path: [9, 0, 0], value: 1.5 }], [9, 0, 0], types))).toBe('a183090000f93e00');
    expect(toHex(encodeLwm2mCbor([{ path: [9, 0, 0], value: 20 }], [9, 0, 0], types))).toBe('a183090000f94d00');
    expect(toHex(encodeLwm2mCbor([{ path: [9, 0, 1], value: 1367491215 }], [9, 0, 1], types))).toBe('a1830900011a5182428f');
    expect(toHex(encodeLwm2mCbor([{ path: [9, 0, 2], value: { objectId: 3, instanceId: 0 } }], [9, 0, 2], types))).toBe('a183090002633' + '33a30');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const PROP_TYPES = resolverFor([allTypesObject(10)]);

function valueOf(t: ResourceType | undefined): fc.Arbitrary<Value> {
  switch (t) {
    case 'string':
    case 'corelnk':
      return fc.string({ unit: 'binary', maxLength: 12 });
    case 'integer':
    case 'time':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(intValue);
    case 'unsigned':
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(intValue);
    case 'float':
      return fc.double(); // NaN and infinities included: CBOR carries them
    case 'boolean':
      return fc.boolean();
    case 'opaque':
      return fc.uint8Array({ maxLength: 12 });
    case 'objlnk':
      return objlnkArb;
    default:
      return fc.oneof(fc.string({ maxLength: 8 }), fc.boolean(), fc.uint8Array({ maxLength: 8 }), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(intValue), fc.double().filter((d) => !Number.isSafeInteger(d) || Object.is(d, -0)));
  }
}

const recordsArb = allTypesRecordsArb(PROP_TYPES, valueOf, { maxLength: 10 });

/** Records in tree order (the encoder groups by path prefix, in order of first appearance). */
function treeOrder(records: Lwm2mRecord[]): Lwm2mRecord[] {
  const first = new Map<string, number>();
  records.forEach((r) => {
    for (let n = 1; n <= r.path.length; n++) {
      const k = r.path.slice(0, n).join('/');
      if (!first.has(k)) first.set(k, first.size);
    }
  });
  const key = (p: Path) => Array.from({ length: p.length }, (_, n) => first.get(p.slice(0, n + 1).join('/'))!);
  return [...records].sort((a, b) => {
    const ka = key(a.path);
    const kb = key(b.path);
    for (let i = 0; i < Math.min(ka.length, kb.length); i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return ka.length - kb.length;
  });
}

describe('properties', () => {
  it('random records of every type round-trip (in tree order), with any request path', () => {
    fc.assert(
      fc.property(recordsArb, fc.nat(4), (records, cut) => {
        const p: RequestPath = records.length > 0 && cut < 4 ? records[0]!.path.slice(0, cut) : null;
        const inPath = p ? records.filter((r) => p.every((x, i) => r.path[i] === x)) : records;
        const bytes = encodeLwm2mCbor(inPath, p, PROP_TYPES);
        const back = decodeLwm2mCbor(bytes, p, PROP_TYPES);
        expect(back).toStrictEqual(treeOrder(inPath));
        expect(toHex(encodeLwm2mCbor(back, p, PROP_TYPES))).toBe(toHex(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes: records or Lwm2mCodecError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), fc.constantFrom<RequestPath>(null, [3, 0], [1]), (b, p) => {
        try {
          decodeLwm2mCbor(b, p, TYPES);
        } catch (e) {
          if (!(e instanceof Lwm2mCodecError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('random LwM2M-CBOR-shaped items: records or Lwm2mCodecError; what decodes re-encodes to the same records', () => {
    const leaf = fc.oneof(
      { weight: 4, arbitrary: fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.boolean(), fc.uint8Array({ maxLength: 4 }), fc.constantFrom<CborItem>('3:0', new CborTag(1, 5))) },
      { weight: 1, arbitrary: fc.oneof(fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }), fc.double().map((d) => new CborFloat(d)), fc.constantFrom<CborItem>(null, new CborTag(4, [-1, 15]), [1], new Map())) },
    );
    const badKey = fc.constantFrom<CborItem>(-1, 'a', 70000, [], new CborFloat(1));
    // entries at (mostly) resource or resource-instance level, nested with random key splits
    const entry = fc.tuple(
      fc.constantFrom(9, 9, 9, 9, 9, 3, 1),
      fc.integer({ min: 0, max: 1 }),
      fc.integer({ min: 0, max: 12 }),
      fc.option(fc.integer({ min: 0, max: 2 })),
      leaf,
      fc.integer({ min: 1, max: 4 }),
      fc.oneof({ weight: 15, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: badKey }),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom<RequestPath>([9], [3, 0], [1]) }), (entries, p) => {
        const root = new Map<CborItem, CborItem>();
        const maps = new Map<string, Map<CborItem, CborItem>>([['', root]]);
        const keys = new Map<string, CborItem>();
        for (const [o, i, r, ri, value, split, bad] of entries) {
          const path = ri === null ? [o, i, r] : [o, i, r, ri];
          const top = Math.min(split, path.length);
          const segments: number[][] = [path.slice(0, top), ...path.slice(top).map((x) => [x])];
          let m = root;
          let prefix = '';
          segments.forEach((seg, n) => {
            const keyName = `${prefix}|${seg.join(',')}`;
            let k: CborItem = keys.get(keyName) ?? (seg.length === 1 ? seg[0]! : seg);
            if (bad !== null && n === 0) k = bad;
            keys.set(keyName, k);
            prefix = keyName;
            if (n === segments.length - 1) m.set(k, value);
            else {
              let next = maps.get(prefix);
              if (!next) {
                next = new Map();
                maps.set(prefix, next);
                m.set(k, next);
              }
              m = next;
            }
          });
        }
        let got: Lwm2mRecord[] | undefined;
        try {
          got = decodeLwm2mCbor(encodeCbor(root), p, TYPES);
        } catch (e) {
          if (!(e instanceof Lwm2mCodecError)) throw e;
        }
        if (got) expect(decodeLwm2mCbor(encodeLwm2mCbor(got, p, TYPES), p, TYPES)).toStrictEqual(treeOrder(got));
      }),
      { numRuns: 1500 },
    );
  });

  it('mutated and truncated example payloads: records or Lwm2mCodecError', () => {
    const payloads = VECTORS.map((v) => fromHex(v.hex));
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (which, at, byte, cut) => {
        const b = payloads[which % payloads.length]!.slice();
        b[at % b.length] = byte;
        for (const x of [b, b.subarray(0, cut % (b.length + 1))]) {
          try {
            decodeLwm2mCbor(x, null, TYPES);
          } catch (e) {
            if (!(e instanceof Lwm2mCodecError)) throw e;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
