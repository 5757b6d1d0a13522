/**
 * LwM2M JSON (11543, the LwM2M 1.0 format): every vector of
 * test/fixtures/lwm2m-vectors/lwm2m_json.json (Leshan's exact strings and refusals, wakaama's
 * parse tests), then properties: random records of every type round-trip, and random input
 * gives records or a Lwm2mCodecError only. Also served by the client and used by the server.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContentFormat } from '../lib/coap/content-format.js';
import { decodeContent, encodeContent, preferredFormat } from '../lib/lwm2m/codec/index.js';
import { decodeLwm2mJson, encodeLwm2mJson } from '../lib/lwm2m/codec/lwm2m-json.js';
import type { RequestPath, TimedRecord } from '../lib/lwm2m/codec/senml.js';
import { DEVICE, resolverFor, SECURITY, SERVER } from '../lib/lwm2m/objects.js';
import { Lwm2mCodecError, parsePath, pathToString, type Path, type ResourceType, type Value } from '../lib/lwm2m/types.js';
import { readFixtureJson } from './helpers/fixtures.js';
import { allTypesObject, allTypesRecordsArb, intValue, objlnkArb, res } from './helpers/lwm2m.js';

/** The vectors' test object 1024: a string (0) and a float (1) resource. */
const SENSOR = { id: 1024, name: 'Sensor', multiple: true, mandatory: false, resources: [res(0, 'string'), res(1, 'float')] };
const TYPES = resolverFor([SECURITY, SERVER, DEVICE, SENSOR]);
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

interface Vector {
  id: string;
  path: string | null;
  direction: 'decode' | 'encode' | 'encode+decode';
  payload: string | string[];
  exact_bytes?: boolean;
  expect_error?: boolean;
  values?: Record<string, unknown>;
}
const VECTORS = readFixtureJson<{ vectors: Vector[] }>('lwm2m-vectors/lwm2m_json.json').vectors;
const reqPath = (v: Vector): RequestPath => (v.path === null ? null : parsePath(v.path));

/** "0 Manufacturer": v (a resource of the request's instance), {"0": v} (its instances), "/a/b/c": v. */
function expectedFromValues(v: Vector): TimedRecord[] {
  const base = v.path === null ? [] : parsePath(v.path);
  const out: TimedRecord[] = [];
  for (const [k, x] of Object.entries(v.values!)) {
    const p: Path = k.startsWith('/') ? parsePath(k) : base.length >= 3 ? [...base.slice(0, 3), Number(k)] : [...base.slice(0, 2), Number(k.split(' ')[0])];
    if (x !== null && typeof x === 'object') for (const [kk, xx] of Object.entries(x)) out.push({ path: [...p, Number(kk)], value: xx as Value });
    else out.push({ path: p, value: x as Value });
  }
  return out;
}

/** Records of the vectors that describe them in prose (or as records of the encoder's input). */
const PROSE: Record<string, TimedRecord[]> = {
  'json-timestamped-relative': [
    { path: [1024, 0, 1], value: 22.9, time: 25462604 },
    { path: [1024, 0, 1], value: 22.4, time: 25462629 },
    { path: [1024, 0, 1], value: 24.1, time: 25462584 },
  ],
  'json-timestamped-encode': [
    { path: [1024, 0, 1], value: 22.9, time: 500 },
    { path: [1024, 0, 1], value: 22.4, time: 510 },
    { path: [1024, 0, 1], value: 24.1, time: 520 },
  ],
  'json-timestamped-object-encode': [
    { path: [1024, 0, 1], value: 22.9, time: 210 },
    { path: [1024, 0, 0], value: 'a string', time: 220 },
    { path: [1024, 0, 1], value: 22.4, time: 220 },
    { path: [1024, 1, 1], value: 23, time: 220 },
    { path: [1024, 0, 1], value: 24.1, time: 230 },
  ],
  'wakaama-test_5-5': [
    { path: [65, 543, 0], value: 'LWM2M' },
    { path: [65, 543, 1], value: 2015 },
    { path: [65, 543, 2, 0], value: true },
    { path: [65, 543, 2, 1], value: false },
  ],
  'wakaama-test_6-6': [{ path: [2, 3, 0], value: 1234 }],
  'wakaama-test_7-7a': [
    { path: [12, 0, 1], value: 1234, time: 1234567 },
    { path: [12, 0, 3], value: 56.789, time: 1234567 },
    { path: [12, 0, 2, 0], value: 0.23, time: 1234567 },
    { path: [12, 0, 2, 1], value: -52.0006, time: 1234567 },
  ],
  'wakaama-test_11-11': [{ path: [5, 0, 1, 1], value: 'http' }],
  'wakaama-test_12-12': [{ path: [5, 0, 1], value: 'http' }],
  'wakaama-test_13-13': [{ path: [5, 0, 1], value: 'http' }],
  'wakaama-test_15-15b': [
    { path: [2, 0, 2, 0], value: 15 },
    { path: [2, 0, 2, 999], value: 1 },
  ],
};
PROSE['wakaama-test_7-7c'] = PROSE['wakaama-test_7-7a']!;

/** wakaama reads a pack with entries outside the request path and drops them; we refuse it (as the SenML decoders do). */
const STRICT_PATH = new Set(['wakaama-test_7-7d']);

describe('LwM2M JSON vectors (lwm2m_json.json)', () => {
  it('has the vectors', () => expect(VECTORS.length).toBe(22));
  const dec = (s: string, p: RequestPath) => decodeLwm2mJson(utf8(s), p, TYPES);

  for (const v of VECTORS) {
    it(`${v.id}: ${v.direction}${v.exact_bytes ? ' (exact)' : ''}${v.expect_error ? ' (refused)' : ''}`, () => {
      const p = reqPath(v);
      if (v.expect_error) {
        expect(() => dec(v.payload as string, p)).toThrow(Lwm2mCodecError);
        return;
      }
      if (Array.isArray(v.payload)) {
        for (const pl of v.payload) expect(dec(pl, p)).toEqual([]);
        return;
      }
      if (STRICT_PATH.has(v.id)) {
        expect(() => dec(v.payload as string, p)).toThrow(/outside the request path/);
        expect(dec(v.payload as string, null).filter((r) => pathToString(r.path).startsWith(v.path!))).toEqual([{ path: [12, 0, 3], value: 56.789, time: 1234567 }]);
        return;
      }
      const expected = v.values ? expectedFromValues(v) : PROSE[v.id];
      if (v.direction === 'encode') {
        expect(text(encodeLwm2mJson(expected!, p, TYPES))).toBe(v.payload);
        expect(dec(v.payload, p)).toStrictEqual(expected);
        return;
      }
      const got = dec(v.payload, p);
      if (expected) expect(got).toStrictEqual(expected);
      else expect(got.length).toBeGreaterThan(0);
      if (v.direction === 'encode+decode') expect(text(encodeLwm2mJson(got, p, TYPES))).toBe(v.payload);
      // anything decoded encodes and decodes to the same records
      expect(decodeLwm2mJson(encodeLwm2mJson(got, p, TYPES), p, TYPES)).toStrictEqual(got);
    });
  }
});

describe('LwM2M JSON details', () => {
  it('opaque values travel as base64 in "sv"; Objlnk in "ov"; a single resource has no "n"', () => {
    const t = resolverFor([SECURITY, allTypesObject(10)]);
    const recs = [
      { path: [9000, 0, 5], value: new Uint8Array([0, 1, 0xfe, 0xff]) },
      { path: [9000, 0, 7], value: { objectId: 3, instanceId: 0 } },
    ];
    expect(text(encodeLwm2mJson(recs, [9000, 0], t))).toBe('{"bn":"/9000/0/","e":[{"n":"5","sv":"AAH+/w=="},{"n":"7","ov":"3:0"}]}');
    expect(decodeLwm2mJson(encodeLwm2mJson(recs, [9000, 0], t), [9000, 0], t)).toStrictEqual(recs);
    expect(text(encodeLwm2mJson([{ path: [3, 0, 9], value: 87 }], [3, 0, 9], TYPES))).toBe('{"bn":"/3/0/9","e":[{"v":87}]}');
  });

  it('refuses what is not LwM2M JSON', () => {
    const bad = ['', '[]', '{"bn":"/3/0/"}', '{"e":{}}', '{"bn":3,"e":[]}', '{"e":[{"n":"/3/0/9","v":"1"}]}', '{"e":[{"n":"/3/0/9","v":1,"sv":"x"}]}', '{"e":[{"n":"/3/0/99999999","v":1}]}', '{"e":[{"n":"/3/0","v":1}]}', '{"e":[1]}', '\xff'];
    for (const b of bad) expect(() => decodeLwm2mJson(utf8(b), null, TYPES), b).toThrow(Lwm2mCodecError);
  });

  it('is a content format of the codec table, decoded and encoded for the client and the server', () => {
    const recs = [{ path: [3, 0, 9], value: 87 }, { path: [3, 0, 0], value: 'coaps' }];
    const bytes = encodeContent(ContentFormat.Lwm2mJson, recs, [3, 0], TYPES);
    expect(decodeContent(ContentFormat.Lwm2mJson, bytes, [3, 0], TYPES)).toEqual(recs);
    expect(preferredFormat(ContentFormat.Lwm2mJson, [3, 0], recs)).toBe(ContentFormat.Lwm2mJson);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const PROP_TYPES = resolverFor([allTypesObject(10)]);
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(intValue);
const valueOf = (t: ResourceType | undefined): fc.Arbitrary<Value> => {
  switch (t) {
    case 'string':
    case 'corelnk':
      return fc.string({ unit: 'binary', maxLength: 12 });
    case 'integer':
    case 'time':
      return fc.oneof(fc.integer({ min: -1000, max: 1000 }), int64);
    case 'unsigned':
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(intValue);
    case 'float':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'opaque':
      return fc.uint8Array({ maxLength: 12 });
    default:
      return objlnkArb;
  }
};
/** Records of the all-types object only: LwM2M JSON cannot tell a string from opaque bytes without the model. */
const recordsArb = allTypesRecordsArb(PROP_TYPES, valueOf, { minLength: 1, maxLength: 8 }).map((rs) => rs.filter((r) => r.path[0] === 9000)).filter((rs) => rs.length > 0);

describe('LwM2M JSON properties', () => {
  it('random records of every type round-trip under every request path above them', () => {
    fc.assert(
      fc.property(recordsArb, fc.nat(), (records, cut) => {
        let common: Path = records[0]!.path;
        for (const r of records) {
          let n = 0;
          while (n < common.length && common[n] === r.path[n]) n++;
          common = common.slice(0, n);
        }
        const p = common.slice(0, cut % (common.length + 1));
        const bytes = encodeLwm2mJson(records, p, PROP_TYPES);
        expect(decodeLwm2mJson(bytes, p, PROP_TYPES)).toStrictEqual(records);
        expect(text(encodeLwm2mJson(decodeLwm2mJson(bytes, p, PROP_TYPES), p, PROP_TYPES))).toBe(text(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('random input gives records or a Lwm2mCodecError, nothing else', () => {
    const entry = fc.dictionary(fc.constantFrom('n', 'v', 'sv', 'bv', 'ov', 't', 'x'), fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null)));
    const doc = fc.record({ bn: fc.option(fc.oneof(fc.constantFrom('/3/0/', '/', '3/0/1', '/9000/0'), fc.string({ maxLength: 6 }))), bt: fc.option(fc.integer()), e: fc.array(entry, { maxLength: 4 }) });
    fc.assert(
      fc.property(doc, fc.constantFrom<RequestPath>(null, [], [3, 0], [9000, 0, 1]), (d, p) => {
        try {
          decodeLwm2mJson(utf8(JSON.stringify(d)), p, TYPES);
        } catch (e) {
          if (!(e instanceof Lwm2mCodecError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });
});
