/**
 * LwM2M TLV (Content-Format 11542): every vector of test/fixtures/lwm2m-vectors/tlv.json
 * (decode to the described records, re-encode byte for byte where the vector says
 * encode/roundtrip), structural rules (nesting, ids against the request path, lengths, value
 * sizes), and properties: random bytes decode to records or throw Lwm2mCodecError only; records
 * of every type round-trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../lib/bytes/util.js';
import {
  decodeTlv,
  decodeTlvValue,
  encodeTlv,
  encodeTlvValue,
  parseTlvs,
  readTlvHeader,
  serializeTlvs,
  type TlvKind,
} from '../lib/lwm2m/codec/tlv.js';
import { DEVICE, resolverFor, STANDARD_OBJECTS } from '../lib/lwm2m/objects.js';
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
import { allTypesObject, canon, canonValue, expectCodecError, intValue, obj, res, RESOURCE_TYPES } from './helpers/lwm2m.js';

// ---------------------------------------------------------------------------------------------
// Test-only object definitions for the objects the vectors use

const ACL = obj(2, [res(0, 'integer'), res(1, 'integer'), res(2, 'integer', true), res(3, 'integer')]);
const OBJ65 = obj(65, [res(0, 'objlnk', true), res(1, 'string'), res(2, 'integer')], false);
const OBJ66 = obj(66, [res(0, 'string'), res(1, 'string'), res(2, 'objlnk')]);
const OBJ3442 = obj(3442, [res(180, 'corelnk')]);
const TYPES = resolverFor([...STANDARD_OBJECTS, ACL, OBJ65, OBJ66, OBJ3442]);
const UNKNOWN: TypeResolver = () => undefined;

// ---------------------------------------------------------------------------------------------
// The vectors and the mapper from their 'values' descriptions to records

interface Vector {
  id: string;
  path: string | null;
  hex: string;
  length: number;
  direction: string;
  values?: unknown;
  value_type?: string;
  expect_error?: boolean;
  description: string;
}

const FILE = readFixtureJson<{ vectors: Vector[] }>('lwm2m-vectors/tlv.json');
const VECTORS = FILE.vectors;
const byId = (id: string): Vector => {
  const v = VECTORS.find((x) => x.id === id);
  if (!v) throw new Error(`no vector ${id}`);
  return v;
};

/** A described value ("66:0", "1367491215 (0x5182428F, ...)", 42, ...) as a value of `type`. */
function describedValue(type: ResourceType, raw: unknown): Value {
  switch (type) {
    case 'string':
    case 'corelnk':
      return raw as string;
    case 'integer':
    case 'unsigned':
    case 'time':
      if (typeof raw === 'number') return raw;
      return Number(/^-?\d+/.exec(String(raw))![0]);
    case 'float':
      return raw as number;
    case 'boolean':
      return raw as boolean;
    case 'objlnk': {
      const m = /^(\d+):(\d+)/.exec(String(raw))!;
      return { objectId: Number(m[1]), instanceId: Number(m[2]) };
    }
    case 'opaque':
      return fromHex((raw as { opaque_hex: string }).opaque_hex);
    case 'none':
      throw new Error('no value for none');
  }
}

/** Resource-level description: {"<id> <name>": value | {"<ri>": value}}. */
function resourceRecords(o: number, i: number, desc: Record<string, unknown>, types: TypeResolver): Lwm2mRecord[] {
  const out: Lwm2mRecord[] = [];
  for (const [key, raw] of Object.entries(desc)) {
    const r = Number(/^\d+/.exec(key)![0]);
    const def = types(o, r)!;
    if (def.multiple) {
      for (const [ri, v] of Object.entries(raw as Record<string, unknown>)) out.push({ path: [o, i, r, Number(ri)], value: describedValue(def.type, v) });
    } else out.push({ path: [o, i, r], value: describedValue(def.type, raw) });
  }
  return out;
}

/** The records a vector's 'values' describe for its request path. */
function describedRecords(path: Path, values: unknown, types: TypeResolver): Lwm2mRecord[] {
  const [o, i, r] = path as [number, number?, number?];
  const desc = values as Record<string, unknown>;
  if (i === undefined) {
    return Object.entries(desc).flatMap(([key, inst]) => {
      const m = /^instance (\d+)$/.exec(key) ?? /^\d+\/(\d+)$/.exec(key);
      return resourceRecords(o, Number(m![1]), inst as Record<string, unknown>, types);
    });
  }
  if (r === undefined) return resourceRecords(o, i, desc, types);
  return resourceRecords(o, i, { [String(r)]: values }, types);
}

const KIND: Record<string, TlvKind> = {
  object_instance: 'objectInstance',
  resource_instance: 'resourceInstance',
  multiple_resource: 'multipleResource',
  resource_value: 'resource',
};

describe('tlv.json vectors', () => {
  it('has the vectors this file maps', () => {
    expect(VECTORS.length).toBe(21);
    for (const v of VECTORS) expect(fromHex(v.hex).length, v.id).toBe(v.length);
  });

  const described = VECTORS.filter((v) => v.path?.startsWith('/') && v.values !== undefined && /^\/[\d/]+$/.test(v.path));
  for (const v of described) {
    it(`${v.id}: decodes to the described records`, () => {
      const path = parsePath(v.path!);
      const expected = describedRecords(path, v.values, TYPES);
      expect(expected.length).toBeGreaterThan(0);
      const got = decodeTlv(fromHex(v.hex), path, TYPES);
      expect(canon(got)).toEqual(canon(expected));
      // Every resource below the path, with its full path.
      for (const r of got) expect(r.path.slice(0, path.length)).toEqual([...path]);
    });
    if (v.direction.includes('encode')) {
      it(`${v.id}: encodes the described records to the same bytes`, () => {
        const path = parsePath(v.path!);
        expect(toHex(encodeTlv(describedRecords(path, v.values, TYPES), path, TYPES))).toBe(v.hex);
      });
    }
  }

  it('tlv-spec-device-3-0-resources: /3/0 also accepts the Object Instance TLV form (Leshan)', () => {
    const withInstance = byId('tlv-spec-device-3-with-instance');
    const bare = byId('tlv-spec-device-3-0-resources');
    expect(canon(decodeTlv(fromHex(withInstance.hex), [3, 0], TYPES))).toEqual(canon(decodeTlv(fromHex(bare.hex), [3, 0], TYPES)));
    // ...but not one for another instance.
    expectCodecError(() => decodeTlv(fromHex(withInstance.hex), [3, 1], TYPES));
  });

  it('tlv-spec-device: the time resource decodes as integer seconds', () => {
    const got = decodeTlv(fromHex(byId('tlv-spec-device-3-0-resources').hex), [3, 0], TYPES);
    expect(got.find((r) => r.path.join('/') === '3/0/13')?.value).toBe(Date.UTC(2013, 4, 2, 10, 40, 15) / 1000);
  });

  it('tlv-spec-device: every resource re-encodes alone at /3/0/R and /3/0/R/RI', () => {
    const records = decodeTlv(fromHex(byId('tlv-spec-device-3-0-resources').hex), [3, 0], TYPES);
    for (const r of records) {
      const rPath = r.path.slice(0, 3);
      const group = records.filter((x) => x.path.slice(0, 3).join('/') === rPath.join('/'));
      const bytes = encodeTlv(group, rPath, TYPES);
      expect(canon(decodeTlv(bytes, rPath, TYPES))).toEqual(canon(group));
      if (r.path.length === 4) expect(canon(decodeTlv(encodeTlv([r], r.path, TYPES), r.path, TYPES))).toEqual(canon([r]));
    }
  });

  it('tlv-broken: fails for every request path and at the structure level', () => {
    const v = byId('tlv-broken');
    expect(v.expect_error).toBe(true);
    const b = fromHex(v.hex);
    expectCodecError(() => parseTlvs(b));
    for (const p of ['/3', '/3/0', '/3/0/0', '/3/0/6/0', '/9999', '/9999/0/1']) {
      expectCodecError(() => decodeTlv(b, parsePath(p), TYPES));
      expectCodecError(() => decodeTlv(b, parsePath(p), UNKNOWN));
    }
  });

  for (const v of VECTORS.filter((x) => x.direction === 'decode-value')) {
    it(`${v.id}: value bytes decode as described`, () => {
      const vals = v.values as Record<string, unknown>;
      if (v.value_type === 'Objlnk') {
        expect(decodeTlvValue(fromHex(v.hex), 'objlnk')).toEqual(vals);
        expect(toHex(encodeTlvValue(vals as unknown as Value, 'objlnk'))).toBe(v.hex);
        return;
      }
      if ('as_int' in vals || 'as_uint' in vals) {
        if ('as_int' in vals) expect(decodeTlvValue(fromHex(v.hex), 'integer')).toBe(BigInt(vals.as_int as string));
        expect(decodeTlvValue(fromHex(v.hex), 'unsigned')).toBe(BigInt(vals.as_uint as string));
        // 8-byte values re-encode to the same 8 bytes.
        expect(toHex(encodeTlvValue(BigInt(vals.as_uint as string), 'unsigned'))).toBe(v.hex);
        return;
      }
      // Booleans: {"00": false, "01": true}
      for (const [hex, b] of Object.entries(vals)) {
        expect(decodeTlvValue(fromHex(hex), 'boolean')).toBe(b);
        expect(toHex(encodeTlvValue(b as boolean, 'boolean'))).toBe(hex);
      }
    });
  }

  for (const v of VECTORS.filter((x) => x.direction === 'encode-value')) {
    it(`${v.id}: ${String(v.values)} encodes to ${v.hex}`, () => {
      expect(v.value_type).toBe('Integer');
      expect(toHex(encodeTlvValue(v.values as number, 'integer'))).toBe(v.hex);
      expect(decodeTlvValue(fromHex(v.hex), 'integer')).toBe(v.values);
    });
  }

  for (const v of VECTORS.filter((x) => x.direction === 'decode-header')) {
    it(`${v.id}: header as described`, () => {
      const d = v.values as { type: string; id: number; header_length: number; value_length: number };
      const b = fromHex(v.hex);
      expect(readTlvHeader(b)).toEqual({ kind: KIND[d.type], id: d.id, headerLength: d.header_length, valueLength: d.value_length });
      expect(d.header_length + d.value_length).toBe(b.length);
      // One byte short: the value overruns the payload.
      expectCodecError(() => readTlvHeader(b.subarray(0, b.length - 1)));
    });
  }

  it('tlv-wakaama-decode-resource-55: a single Resource TLV; truncation is an error', () => {
    const v = byId('tlv-wakaama-decode-resource-55');
    const d = v.values as { type: string; id: number; value_hex: string };
    const b = fromHex(v.hex);
    expect(readTlvHeader(b)).toEqual({ kind: KIND[d.type], id: d.id, headerLength: 2, valueLength: 3 });
    // Unknown resources decode as opaque.
    const expected = [{ path: [9999, 0, d.id], value: fromHex(d.value_hex) }];
    expect(canon(decodeTlv(b, [9999, 0], UNKNOWN))).toEqual(canon(expected));
    expect(canon(decodeTlv(b, [9999, 0, d.id], UNKNOWN))).toEqual(canon(expected));
    expect(toHex(encodeTlv(expected, [9999, 0, d.id], UNKNOWN))).toBe(v.hex);
    for (let n = 0; n < b.length; n++) expectCodecError(() => decodeTlv(b.subarray(0, n), [9999, 0, d.id], UNKNOWN));
    // The id must match the request path.
    expectCodecError(() => decodeTlv(b, [9999, 0, 56], UNKNOWN));
  });

  it('tlv-wakaama-parse-instance-11-multires-77: instance 11 { multiple resource 77 { 0: 010203, 1: 160 bytes } }', () => {
    const v = byId('tlv-wakaama-parse-instance-11-multires-77');
    const b = fromHex(v.hex);
    const ri1 = new Uint8Array(160);
    ri1.set([4, 5, 6, 7, 8, 9]);
    const expected = [
      { path: [9999, 11, 77, 0], value: Uint8Array.of(1, 2, 3) },
      { path: [9999, 11, 77, 1], value: ri1 },
    ];
    expect(canon(decodeTlv(b, [9999], UNKNOWN))).toEqual(canon(expected));
    expect(canon(decodeTlv(b, [9999, 11], UNKNOWN))).toEqual(canon(expected));
    expect(toHex(encodeTlv(expected, [9999], UNKNOWN))).toBe(v.hex);
    const tree = parseTlvs(b);
    expect(tree).toHaveLength(1);
    expect(tree[0]).toMatchObject({ kind: 'objectInstance', id: 11, children: [{ kind: 'multipleResource', id: 77 }] });
  });

  it('tlv-wakaama-serialize-instance-3: encodes byte for byte (unknown resources 66/77 as opaque)', () => {
    const v = byId('tlv-wakaama-serialize-instance-3');
    expect(v.direction).toBe('encode');
    const ri0 = new Uint8Array(170);
    ri0.set([5, 6, 7, 8]);
    const records = [
      { path: [3, 3, 66], value: Uint8Array.of(1, 2, 3, 4) },
      { path: [3, 3, 77, 0], value: ri0 },
    ];
    const path = parsePath(v.path!.split(' ')[0]!);
    expect(toHex(encodeTlv(records, path, TYPES))).toBe(v.hex);
    expect(serializeTlvs(parseTlvs(fromHex(v.hex)))).toEqual(fromHex(v.hex));
    expect(canon(decodeTlv(fromHex(v.hex), path, TYPES))).toEqual(canon(records));
  });

  it('tlv-wakaama-three-instances: parse + serialize is byte-identical', () => {
    const v = byId('tlv-wakaama-three-instances');
    const b = fromHex(v.hex);
    const records = decodeTlv(b, [9999], UNKNOWN);
    expect(canon(records)).toEqual(
      canon([
        { path: [9999, 10, 1], value: Uint8Array.of(0x14) },
        { path: [9999, 11, 1], value: Uint8Array.of(0x15) },
        { path: [9999, 12, 1], value: Uint8Array.of(0x16) },
      ]),
    );
    expect(toHex(encodeTlv(records, [9999], UNKNOWN))).toBe(v.hex);
    expect(toHex(serializeTlvs(parseTlvs(b)))).toBe(v.hex);
  });

  it('covers every vector', () => {
    const handled = new Set([
      ...described.map((v) => v.id),
      ...VECTORS.filter((x) => x.direction.startsWith('decode-') || x.direction === 'encode-value').map((v) => v.id),
      'tlv-broken',
      'tlv-wakaama-decode-resource-55',
      'tlv-wakaama-parse-instance-11-multires-77',
      'tlv-wakaama-serialize-instance-3',
      'tlv-wakaama-three-instances',
    ]);
    expect(VECTORS.filter((v) => !handled.has(v.id)).map((v) => v.id)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Structure and value rules

describe('TLV rules', () => {
  const DEV = resolverFor([DEVICE]);

  it('integers use the smallest of 1, 2, 4, 8 bytes', () => {
    const cases: Array<[Value, string]> = [
      [0, '00'],
      [127, '7f'],
      [128, '0080'],
      [-128, '80'],
      [-129, 'ff7f'],
      [32767, '7fff'],
      [32768, '00008000'],
      [2147483647, '7fffffff'],
      [2147483648, '0000000080000000'],
      [-(2 ** 31), '80000000'],
      [9223372036854775807n, '7fffffffffffffff'],
      [-9223372036854775808n, '8000000000000000'],
    ];
    for (const [v, hex] of cases) {
      expect(toHex(encodeTlvValue(v, 'integer')), String(v)).toBe(hex);
      expect(decodeTlvValue(fromHex(hex), 'integer')).toBe(v);
    }
  });

  it('unsigned: top bit kept clear below 2^63 (Leshan reads it signed), 8 bytes above', () => {
    expect(toHex(encodeTlvValue(200, 'unsigned'))).toBe('00c8');
    expect(toHex(encodeTlvValue(2n ** 64n - 1n, 'unsigned'))).toBe('ffffffffffffffff');
    expect(decodeTlvValue(fromHex('ff'), 'unsigned')).toBe(255);
    expect(decodeTlvValue(fromHex('ffffffffffffffff'), 'unsigned')).toBe(2n ** 64n - 1n);
    expectCodecError(() => encodeTlvValue(-1, 'unsigned'));
    expectCodecError(() => encodeTlvValue(2n ** 64n, 'unsigned'));
  });

  it('rejects values that do not fit the resource type', () => {
    expectCodecError(() => decodeTlvValue(fromHex('010203'), 'integer'));
    expectCodecError(() => decodeTlvValue(fromHex(''), 'integer'));
    expectCodecError(() => decodeTlvValue(fromHex('0102030405'), 'time'));
    expectCodecError(() => decodeTlvValue(fromHex('02'), 'boolean'));
    expectCodecError(() => decodeTlvValue(fromHex('0000'), 'boolean'));
    expectCodecError(() => decodeTlvValue(fromHex('000000'), 'objlnk'));
    expectCodecError(() => decodeTlvValue(fromHex('0000000000'), 'objlnk'));
    expectCodecError(() => decodeTlvValue(fromHex('000000'), 'float'));
    expectCodecError(() => decodeTlvValue(fromHex('c328'), 'string'));
    expectCodecError(() => decodeTlvValue(fromHex('ed a0 80'), 'string'));
    expectCodecError(() => decodeTlvValue(fromHex('00'), 'none'));
    expect(decodeTlvValue(fromHex('3fc00000'), 'float')).toBe(1.5);
    expect(decodeTlvValue(fromHex('3ff8000000000000'), 'float')).toBe(1.5);

    expectCodecError(() => encodeTlvValue('1', 'integer'));
    expectCodecError(() => encodeTlvValue(1.5, 'integer'));
    expectCodecError(() => encodeTlvValue(2n ** 63n, 'integer'));
    expectCodecError(() => encodeTlvValue(2 ** 63, 'integer'));
    expectCodecError(() => encodeTlvValue(1, 'boolean'));
    expectCodecError(() => encodeTlvValue(1n, 'float'));
    expectCodecError(() => encodeTlvValue('x', 'opaque'));
    expectCodecError(() => encodeTlvValue({ objectId: 65536, instanceId: 0 }, 'objlnk'));
    expectCodecError(() => encodeTlvValue({ objectId: 1.5, instanceId: 0 }, 'objlnk'));
    expectCodecError(() => encodeTlvValue('\ud800', 'string'));
    expectCodecError(() => encodeTlvValue(Uint8Array.of(1), 'string'));
    expectCodecError(() => encodeTlvValue(true, 'none'));
    expect(toHex(encodeTlvValue(1.5, 'float'))).toBe('3ff8000000000000');
  });

  it('enforces nesting', () => {
    // Object instance inside an object instance.
    expectCodecError(() => parseTlvs(fromHex('0200' + '0001')));
    // Resource instance directly in an object instance.
    expectCodecError(() => parseTlvs(fromHex('0300' + '410001')));
    // Resource inside a multiple resource.
    expectCodecError(() => parseTlvs(fromHex('8306' + 'c10001')));
    // At /O: an object instance inside an object instance, a bare resource instance; at /O/I: two object instances.
    expectCodecError(() => decodeTlv(fromHex('0200' + '0001'), [3], DEV));
    expectCodecError(() => decodeTlv(fromHex('410001'), [3], DEV));
    expectCodecError(() => decodeTlv(fromHex('0000' + '0001'), [3, 0], DEV));
    // Mixed object instances and resources at /O.
    expectCodecError(() => decodeTlv(fromHex('0000' + 'c10964'), [3], DEV));
  });

  it('children may not overrun their parent', () => {
    // Instance of length 3 holding a resource of length 4.
    expectCodecError(() => parseTlvs(fromHex('0300c40964000000')));
    // A nested length beyond the payload.
    expectCodecError(() => parseTlvs(fromHex('0800ff')));
    // 24-bit length beyond the payload.
    expectCodecError(() => parseTlvs(fromHex('d809ffffff')));
  });

  it('bare resources at /O are instance 0 (Leshan, single-instance objects)', () => {
    expect(decodeTlv(fromHex('c10964'), [3], DEV)).toEqual([{ path: [3, 0, 9], value: 100 }]);
  });

  it('checks multiplicity and duplicates', () => {
    // Single resource 9 as a multiple resource; multiple resource 6 as a single one.
    expectCodecError(() => decodeTlv(fromHex('8309410064'), [3, 0], DEV));
    expectCodecError(() => decodeTlv(fromHex('c10601'), [3, 0], DEV));
    // Resource 9 twice; resource instance 0 twice; instance 0 twice.
    expectCodecError(() => decodeTlv(fromHex('c10964c10963'), [3, 0], DEV));
    expectCodecError(() => decodeTlv(fromHex('8606410001410002'), [3, 0], DEV));
    expectCodecError(() => decodeTlv(fromHex('0300c10964' + '0300c10964'), [3], DEV));
    expectCodecError(() => encodeTlv([{ path: [3, 0, 9], value: 1 }, { path: [3, 0, 9], value: 2 }], [3, 0], DEV));
    expectCodecError(() => encodeTlv([{ path: [3, 0, 9, 0], value: 1 }], [3, 0], DEV));
    expectCodecError(() => encodeTlv([{ path: [3, 0, 6], value: 1 }], [3, 0], DEV));
    expectCodecError(() => encodeTlv([{ path: [3, 0, 4], value: 1 }], [3, 0], DEV));
  });

  it('resource paths: single, multiple, bare instances, resource instance', () => {
    expect(decodeTlv(fromHex('c10964'), [3, 0, 9], DEV)).toEqual([{ path: [3, 0, 9], value: 100 }]);
    expectCodecError(() => decodeTlv(fromHex('c10964'), [3, 0, 10], DEV));
    expectCodecError(() => decodeTlv(new Uint8Array(0), [3, 0, 9], DEV));
    // Multiple resource with no instances.
    expect(decodeTlv(fromHex('8006'), [3, 0, 6], DEV)).toEqual([]);
    expect(toHex(encodeTlv([], [3, 0, 6], DEV))).toBe('8006');
    // ... and of a resource of unknown type: it decodes to no records and writes back as it was
    // (found by the lwm2m-tlv fuzz target: the encoder refused no records there)
    expect(decodeTlv(fromHex('880500'), [9999, 0, 5], DEV)).toEqual([]);
    expect(toHex(encodeTlv([], [9999, 0, 5], DEV))).toBe('8005');
    expect(decodeTlv(fromHex('8005'), [9999, 0, 5], DEV)).toEqual([]);
    // a known single resource has a value: no records is an error, and so is the empty payload
    expectCodecError(() => encodeTlv([], [3, 0, 9], DEV));
    expectCodecError(() => decodeTlv(fromHex('8009'), [3, 0, 9], DEV));
    // Bare resource instances of /3/0/6.
    expect(decodeTlv(fromHex('410001410105'), [3, 0, 6], DEV)).toEqual([
      { path: [3, 0, 6, 0], value: 1 },
      { path: [3, 0, 6, 1], value: 5 },
    ]);
    // A resource instance, alone or in its multiple resource.
    expect(decodeTlv(fromHex('410105'), [3, 0, 6, 1], DEV)).toEqual([{ path: [3, 0, 6, 1], value: 5 }]);
    expect(decodeTlv(fromHex('8306410105'), [3, 0, 6, 1], DEV)).toEqual([{ path: [3, 0, 6, 1], value: 5 }]);
    expectCodecError(() => decodeTlv(fromHex('410105'), [3, 0, 6, 0], DEV));
    expectCodecError(() => decodeTlv(fromHex('410105410206'), [3, 0, 6, 1], DEV));
    expect(toHex(encodeTlv([{ path: [3, 0, 6, 1], value: 5 }], [3, 0, 6, 1], DEV))).toBe('410105');
    expectCodecError(() => encodeTlv([{ path: [3, 0, 9], value: 5 }], [3, 0, 6, 1], DEV));
  });

  it('rejects bad request paths and records outside the path', () => {
    expectCodecError(() => decodeTlv(new Uint8Array(0), [], DEV));
    expectCodecError(() => decodeTlv(new Uint8Array(0), [3, 0, 0, 0, 0], DEV));
    expectCodecError(() => decodeTlv(new Uint8Array(0), [70000], DEV));
    expectCodecError(() => encodeTlv([{ path: [3, 1, 9], value: 1 }], [3, 0], DEV));
    expectCodecError(() => encodeTlv([{ path: [3, 0], value: 1 }], [3], DEV));
    expect(decodeTlv(new Uint8Array(0), [3], DEV)).toEqual([]);
    expect(encodeTlv([], [3, 0], DEV)).toEqual(new Uint8Array(0));
  });

  it('16-bit ids and 8/16/24-bit lengths', () => {
    const big = new Uint8Array(70000).fill(7);
    const records = [
      { path: [9999, 300, 1000], value: big },
      { path: [9999, 300, 1, 256], value: new Uint8Array(300) },
      { path: [9999, 300, 2], value: new Uint8Array(8) },
    ];
    const b = encodeTlv(records, [9999], UNKNOWN);
    expect(b[0]).toBe(0x20 | 0x18); // object instance, 16-bit id, 24-bit length
    expect(canon(decodeTlv(b, [9999], UNKNOWN))).toEqual(canon(records));
    expectCodecError(() => encodeTlv([{ path: [9999, 0, 0], value: new Uint8Array(0x1000000) }], [9999, 0], UNKNOWN));
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

/** Object 9000: resource k (single) and 100+k (multiple) of RESOURCE_TYPES[k]. */
const PROP_OBJECT = allTypesObject(100);
const PROP_TYPES = resolverFor([PROP_OBJECT, DEVICE]);

const INT64 = fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);
function valueArb(t: ResourceType): fc.Arbitrary<Value> {
  switch (t) {
    case 'string':
    case 'corelnk':
      return fc.string({ unit: 'binary', maxLength: 40 });
    case 'integer':
    case 'time':
      return fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.integer(), INT64.map(intValue));
    case 'unsigned':
      return fc.oneof(fc.integer({ min: 0, max: 300 }), fc.bigInt(0n, 2n ** 64n - 1n).map(intValue));
    case 'float':
      return fc.double();
    case 'boolean':
      return fc.boolean();
    case 'opaque':
      return fc.oneof(fc.uint8Array({ maxLength: 16 }), fc.uint8Array({ minLength: 250, maxLength: 300 }));
    case 'objlnk':
      return fc.record({ objectId: fc.integer({ min: 0, max: 65535 }), instanceId: fc.integer({ min: 0, max: 65535 }) });
    default:
      throw new Error(t);
  }
}

const instanceRecordsArb = (i: number): fc.Arbitrary<Lwm2mRecord[]> =>
  fc
    .tuple(
      fc.subarray([...RESOURCE_TYPES.keys()]).chain((ks) => fc.tuple(...ks.map((k) => valueArb(RESOURCE_TYPES[k]!).map((value): Lwm2mRecord => ({ path: [9000, i, k], value }))))),
      fc.subarray([...RESOURCE_TYPES.keys()], { maxLength: 3 }).chain((ks) =>
        fc.tuple(
          ...ks.map((k) =>
            fc.uniqueArray(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 3 }).chain((ris) =>
              fc.tuple(...ris.map((ri) => valueArb(RESOURCE_TYPES[k]!).map((value): Lwm2mRecord => ({ path: [9000, i, 100 + k, ri], value })))),
            ),
          ),
        ),
      ),
    )
    .map(([singles, multiples]) => [...singles, ...multiples.flat()]);

describe('TLV properties', () => {
  it('random bytes decode to records or throw Lwm2mCodecError, never anything else', () => {
    const paths: Path[] = [[3], [3, 0], [3, 0, 6], [3, 0, 9], [3, 0, 6, 1], [9000], [9000, 1], [9000, 3], [9000, 1, 103], [9999, 0, 1, 2]];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...paths), fc.boolean(), (b, path, known) => {
        try {
          const recs = decodeTlv(b, path, known ? PROP_TYPES : UNKNOWN);
          for (const r of recs) expect(r.path.slice(0, path.length)).toEqual([...path]);
        } catch (e) {
          if (!(e instanceof Lwm2mCodecError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('structured random TLV trees decode to records or throw Lwm2mCodecError', () => {
    const leaf = fc.record({ kind: fc.constantFrom('resource' as const, 'resourceInstance' as const), id: fc.integer({ min: 0, max: 300 }), value: fc.uint8Array({ maxLength: 10 }) });
    const node = fc.oneof(
      leaf,
      fc.record({ kind: fc.constantFrom('objectInstance' as const, 'multipleResource' as const), id: fc.integer({ min: 0, max: 3 }), children: fc.array(leaf, { maxLength: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(node, { maxLength: 4 }), fc.constantFrom<Path>([3], [3, 0], [3, 0, 6], [9000, 0, 104], [9000, 0, 2]), (nodes, path) => {
        const b = serializeTlvs(nodes);
        try {
          decodeTlv(b, path, PROP_TYPES);
        } catch (e) {
          if (!(e instanceof Lwm2mCodecError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('object / instance round trip for every type, single and multiple', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 65535 }), { maxLength: 3 }).chain((ids) => fc.tuple(...ids.map(instanceRecordsArb))), (perInstance) => {
        const records = perInstance.flat();
        expect(canon(decodeTlv(encodeTlv(records, [9000], PROP_TYPES), [9000], PROP_TYPES))).toEqual(canon(records));
        for (const inst of perInstance) {
          const i = inst[0]?.path[1];
          if (i === undefined) continue;
          expect(canon(decodeTlv(encodeTlv(inst, [9000, i], PROP_TYPES), [9000, i], PROP_TYPES))).toEqual(canon(inst));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('resource and resource instance round trip', () => {
    fc.assert(
      fc.property(instanceRecordsArb(7), (records) => {
        for (const r of records) {
          const rPath = r.path.slice(0, 3);
          const group = records.filter((x) => x.path.slice(0, 3).join('/') === rPath.join('/'));
          expect(canon(decodeTlv(encodeTlv(group, rPath, PROP_TYPES), rPath, PROP_TYPES))).toEqual(canon(group));
          expect(canon(decodeTlv(encodeTlv([r], r.path, PROP_TYPES), r.path, PROP_TYPES))).toEqual(canon([r]));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('value round trip per type', () => {
    for (const t of RESOURCE_TYPES) {
      fc.assert(
        fc.property(valueArb(t), (v) => {
          expect(canonValue(decodeTlvValue(encodeTlvValue(v, t), t))).toBe(canonValue(v));
        }),
        { numRuns: 200 },
      );
    }
  });
});
