/**
 * The LwM2M content codecs (lib/lwm2m/codec/*): TLV, SenML JSON, SenML CBOR, LwM2M CBOR, the
 * single-value formats (text/plain, opaque, CBOR) and the generic CBOR codec under them.
 *
 * Input: `n u8 ‖ n × u16 path ‖ payload` (n >= 5: the null path of composite operations); the
 * single-value target takes a format selector byte before the payload. Oracle: only
 * Lwm2mCodecError escapes (CborError from the generic CBOR codec); records that decode
 * encode again for the same path, decode to the same records (values exact: bigint vs number,
 * -0, bytes; SenML times included) and encode to the same bytes once more.
 */
import { decodeCbor, encodeCbor, CborError, type CborItem } from '../../../lib/lwm2m/codec/cbor.js';
import { cborSingleCodec } from '../../../lib/lwm2m/codec/cbor-single.js';
import { lwm2mCborCodec } from '../../../lib/lwm2m/codec/lwm2m-cbor.js';
import { opaqueCodec } from '../../../lib/lwm2m/codec/opaque.js';
import { senmlCborCodec, decodeSenmlCborPaths, encodeSenmlCborPaths } from '../../../lib/lwm2m/codec/senml-cbor.js';
import { decodeSenmlJsonPaths, encodeSenmlJsonPaths, parseJson, senmlJsonCodec } from '../../../lib/lwm2m/codec/senml-json.js';
import { textCodec } from '../../../lib/lwm2m/codec/text.js';
import { parseTlvs, serializeTlvs, tlvCodec } from '../../../lib/lwm2m/codec/tlv.js';
import { resolverFor, STANDARD_OBJECTS } from '../../../lib/lwm2m/objects.js';
import { Lwm2mCodecError, type Lwm2mRecord, type ObjectDefinition, type Path, type ResourceDefinition, type ResourceType, type TypeResolver, type Value } from '../../../lib/lwm2m/types.js';
import { canon, hexHead, sameBytes } from '../canon.js';
import { fixtureJson, hexBytes } from '../fixtures.js';
import { allowed } from '../oracles.js';
import type { Rng } from '../rng.js';
import { Violation, type FuzzTarget } from '../target.js';

const TYPES: ResourceType[] = ['string', 'integer', 'unsigned', 'float', 'boolean', 'opaque', 'time', 'objlnk', 'corelnk', 'none'];
const res = (id: number, type: ResourceType, multiple = false): ResourceDefinition => ({ id, name: `r${id}`, type, multiple, operations: type === 'none' ? 'E' : 'RW', mandatory: false });
const obj = (id: number, multiple: boolean, resources: ResourceDefinition[]): ObjectDefinition => ({ id, name: `o${id}`, multiple, mandatory: false, resources });

/** Every resource type, single (0..9) and multiple (10..19), in object 60000; and the objects the vectors use. */
const ALL_TYPES = obj(60000, true, [...TYPES.map((t, i) => res(i, t)), ...TYPES.map((t, i) => res(10 + i, t, true))]);
const OBJECTS = [
  ...STANDARD_OBJECTS,
  ALL_TYPES,
  obj(2, true, [res(0, 'integer'), res(1, 'integer'), res(2, 'integer', true), res(3, 'integer')]),
  obj(65, false, [res(0, 'objlnk', true), res(1, 'string'), res(2, 'integer')]),
  obj(66, true, [res(0, 'string'), res(1, 'string'), res(2, 'objlnk')]),
  obj(3442, true, [res(180, 'corelnk')]),
];
const RESOLVER: TypeResolver = resolverFor(OBJECTS);

type ReqPath = Path | null;

interface Codec {
  decode(payload: Uint8Array, path: ReqPath, types: TypeResolver): Lwm2mRecord[];
  encode(records: readonly Lwm2mRecord[], path: ReqPath, types: TypeResolver): Uint8Array;
}

// ---------------------------------------------------------------------------------- the input

function encodePath(path: ReqPath): Uint8Array {
  if (path === null) return new Uint8Array([0xff]);
  const out = new Uint8Array(1 + 2 * path.length);
  out[0] = path.length;
  path.forEach((p, i) => {
    out[1 + 2 * i] = p >> 8;
    out[2 + 2 * i] = p & 0xff;
  });
  return out;
}

function decodeInput(b: Uint8Array): { path: ReqPath; payload: Uint8Array } {
  const n = b[0] ?? 0;
  if (n >= 5) return { path: null, payload: b.subarray(1) };
  const path: number[] = [];
  let at = 1;
  for (let i = 0; i < n; i++, at += 2) path.push(((b[at] ?? 0) << 8) | (b[at + 1] ?? 0));
  return { path, payload: b.subarray(Math.min(at, b.length)) };
}

function parseVectorPath(p: unknown): ReqPath {
  if (typeof p !== 'string') return null;
  const m = /^((?:\/\d+)*)/.exec(p);
  return m && m[1] ? m[1].split('/').slice(1).map(Number) : [];
}

const join = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
};

interface Vector {
  path?: unknown;
  hex?: string;
  payload?: string;
  content_format?: number;
}

function vectorSeeds(file: string, prefix: (v: Vector) => Uint8Array = () => new Uint8Array(0)): Uint8Array[] {
  const vs = fixtureJson<{ vectors?: Vector[] }>('lwm2m', file)?.vectors ?? [];
  const out: Uint8Array[] = [];
  for (const v of vs) {
    const payload = typeof v.hex === 'string' ? hexBytes(v.hex) : typeof v.payload === 'string' ? new TextEncoder().encode(v.payload) : undefined;
    if (payload) out.push(join(join(encodePath(parseVectorPath(v.path)), prefix(v)), payload));
  }
  return out;
}

// -------------------------------------------------------------------------------- generation

function randomString(rng: Rng): string {
  const n = rng.smallLength(24);
  let s = '';
  for (let i = 0; i < n; i++) s += rng.chance(0.9) ? String.fromCharCode(0x20 + rng.below(0x5f)) : rng.pick(['é', '€', '😀', '"', '\\', '\n', '\u0000']);
  return s;
}

export function randomValue(rng: Rng, type: ResourceType): Value | undefined {
  switch (type) {
    case 'string':
      return randomString(rng);
    case 'integer':
      return rng.chance(0.8) ? rng.range(-100000, 100000) : rng.pick([2 ** 53, -(2 ** 53) - 1, 9223372036854775807n, -9223372036854775808n, 0, -1]);
    case 'unsigned':
      return rng.chance(0.8) ? rng.below(100000) : rng.pick([2 ** 53, 18446744073709551615n, 0, 2 ** 32]);
    case 'float':
      return rng.pick([0, -0, 1.5, -2.25, 3.4028234663852886e38, 1e-300, rng.u32() / 7, Number.MAX_VALUE, Number.MIN_VALUE, 0.1]);
    case 'boolean':
      return rng.chance(0.5);
    case 'opaque':
      return rng.bytes(rng.smallLength(40));
    case 'time':
      return rng.pick([0, 1_700_000_000, 2 ** 31, -1, rng.u32()]);
    case 'objlnk':
      return { objectId: rng.below(65536), instanceId: rng.below(65536) };
    case 'corelnk':
      return rng.pick(['</3/0>', '</1/0>;ssid=101', '</3442/0/180>,</5>;ver=1.1', '']);
    default:
      return undefined;
  }
}

/** Records under a random request path, and that path. */
function randomRecords(rng: Rng, single: boolean): { path: ReqPath; records: Lwm2mRecord[] } {
  const inst = rng.below(3);
  if (single) {
    const r = rng.below(10);
    const def = ALL_TYPES.resources[r]!;
    const v = randomValue(rng, def.type);
    return { path: [60000, inst, r], records: v === undefined ? [] : [{ path: [60000, inst, r], value: v }] };
  }
  const records: Lwm2mRecord[] = [];
  const seen = new Set<string>();
  for (let k = rng.range(1, 6); k > 0; k--) {
    const def = rng.pick(ALL_TYPES.resources);
    const v = randomValue(rng, def.type);
    if (v === undefined) continue;
    const p = def.multiple ? [60000, inst, def.id, rng.below(4)] : [60000, inst, def.id];
    const key = p.join('/');
    if (seen.has(key)) continue;
    seen.add(key);
    records.push({ path: p, value: v });
  }
  const path = rng.pick<ReqPath>([[60000], [60000, inst], null]);
  return { path, records };
}

// --------------------------------------------------------------------------------- the oracle

/** Records as comparable strings, order-insensitive, values exact, SenML time included. */
function canonRecords(rs: readonly Lwm2mRecord[]): string {
  return rs
    .map((r) => `${r.path.join('/')}=${canon(r.value)}${(r as { time?: number }).time !== undefined ? `@${canon((r as { time?: number }).time)}` : ''}`)
    .sort()
    .join('|');
}

function recordsRoundTrip(what: string, codec: Codec, path: ReqPath, payload: Uint8Array, first: Lwm2mRecord[]): void {
  let b2: Uint8Array;
  try {
    b2 = codec.encode(first, path, RESOLVER);
  } catch (e) {
    throw new Violation('roundtrip', `${what}: decoded records do not encode for the same path (${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}); input ${hexHead(payload)}`);
  }
  if (sameBytes(b2, payload)) return;
  let second: Lwm2mRecord[];
  try {
    second = codec.decode(b2, path, RESOLVER);
  } catch (e) {
    throw new Violation('roundtrip', `${what}: the re-encoding does not decode (${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}): ${hexHead(payload)} -> ${hexHead(b2)}`);
  }
  const c1 = canonRecords(first), c2 = canonRecords(second);
  if (c1 !== c2) throw new Violation('roundtrip', `${what}: decode(encode(records)) differs: ${c1.slice(0, 300)} vs ${c2.slice(0, 300)}; input ${hexHead(payload)}`);
  const b3 = codec.encode(second, path, RESOLVER);
  if (!sameBytes(b2, b3)) throw new Violation('roundtrip', `${what}: encoding is not stable: ${hexHead(b2)} then ${hexHead(b3)}`);
}

function recordFeatures(rs: readonly Lwm2mRecord[]): string[] {
  const f = [`n:${Math.min(rs.length, 4)}`];
  for (const r of rs) f.push(`v:${r.path.length}:${typeof r.value === 'object' ? (r.value instanceof Uint8Array ? 'bytes' : 'objlnk') : typeof r.value}`);
  return f;
}

function codecTarget(name: string, about: string, codec: Codec, files: string[], o: { single?: boolean; extra?: (path: ReqPath, payload: Uint8Array, f: string[]) => void } = {}): FuzzTarget {
  return {
    name,
    about,
    maxLength: 2048,
    seeds: () => files.flatMap((f) => vectorSeeds(f)),
    generate(rng) {
      const { path, records } = randomRecords(rng, o.single ?? false);
      try {
        return join(encodePath(path), codec.encode(records, path, RESOLVER));
      } catch {
        return encodePath(path);
      }
    },
    run(b) {
      const { path, payload } = decodeInput(b);
      const f: string[] = [];
      o.extra?.(path, payload, f);
      let records: Lwm2mRecord[];
      try {
        records = codec.decode(payload, path, RESOLVER);
      } catch (e) {
        f.push(allowed(e, Lwm2mCodecError));
        return f;
      }
      recordsRoundTrip(name, codec, path, payload, records);
      f.push(...recordFeatures(records));
      return f;
    },
  };
}

// ------------------------------------------------------------------------------------ targets

const tlv = codecTarget('lwm2m-tlv', 'TLV (11542) decode/encode for a request path, and parseTlvs/serializeTlvs', tlvCodec as unknown as Codec, ['tlv.json'], {
  extra(_path, payload, f) {
    try {
      const nodes = parseTlvs(payload);
      const again = serializeTlvs(nodes);
      const nodes2 = parseTlvs(again);
      if (canon(nodes) !== canon(nodes2)) throw new Violation('roundtrip', `TLV nodes change through serializeTlvs: ${hexHead(payload)}`);
      f.push('tlv:ok');
    } catch (e) {
      f.push(allowed(e, Lwm2mCodecError));
    }
  },
});

const senmlJson = codecTarget('lwm2m-senml-json', 'SenML JSON (110) decode/encode (composite null path included), the Read-Composite path lists, the strict JSON parser', senmlJsonCodec as unknown as Codec, ['senml_json.json'], {
  extra(_path, payload, f) {
    try {
      const paths = decodeSenmlJsonPaths(payload);
      const again = decodeSenmlJsonPaths(encodeSenmlJsonPaths(paths));
      if (canon(paths) !== canon(again)) throw new Violation('roundtrip', `SenML JSON path list changes: ${hexHead(payload)}`);
      f.push('paths:ok');
    } catch (e) {
      f.push(allowed(e, Lwm2mCodecError));
    }
    try {
      parseJson(new TextDecoder('utf-8', { fatal: true }).decode(payload));
      f.push('json:ok');
    } catch (e) {
      if (e instanceof TypeError && /encoded data was not valid/.test(e.message)) f.push('json:utf8');
      else f.push(allowed(e, Lwm2mCodecError));
    }
  },
});

const senmlCbor = codecTarget('lwm2m-senml-cbor', 'SenML CBOR (112) decode/encode (composite null path included) and the path lists', senmlCborCodec as unknown as Codec, ['senml_cbor.json'], {
  extra(_path, payload, f) {
    try {
      const paths = decodeSenmlCborPaths(payload);
      const again = decodeSenmlCborPaths(encodeSenmlCborPaths(paths));
      if (canon(paths) !== canon(again)) throw new Violation('roundtrip', `SenML CBOR path list changes: ${hexHead(payload)}`);
      f.push('paths:ok');
    } catch (e) {
      f.push(allowed(e, Lwm2mCodecError));
    }
  },
});

const lwm2mCbor = codecTarget('lwm2m-cbor', 'LwM2M CBOR (11544) decode/encode', lwm2mCborCodec as unknown as Codec, ['lwm2m_cbor.json']);

const SINGLE: Codec[] = [textCodec as unknown as Codec, opaqueCodec as unknown as Codec, cborSingleCodec as unknown as Codec];
const SINGLE_CF: Record<number, number> = { 0: 0, 42: 1, 60: 2 };

const single: FuzzTarget = {
  name: 'lwm2m-text',
  about: 'the single-value formats: text/plain (0), opaque (42), CBOR (60); byte after the path selects the format',
  maxLength: 1024,
  seeds: () => [...vectorSeeds('text_opaque.json', (v) => new Uint8Array([SINGLE_CF[v.content_format ?? 0] ?? 0])), ...vectorSeeds('cbor_single_value.json', () => new Uint8Array([2]))],
  generate(rng) {
    const fmt = rng.below(3);
    const { path, records } = randomRecords(rng, true);
    try {
      return join(join(encodePath(path), new Uint8Array([fmt])), SINGLE[fmt]!.encode(records, path, RESOLVER));
    } catch {
      return join(encodePath(path), new Uint8Array([fmt]));
    }
  },
  run(b) {
    const { path, payload: rest } = decodeInput(b);
    const fmt = (rest[0] ?? 0) % 3;
    const payload = rest.subarray(1);
    const codec = SINGLE[fmt]!;
    if (path === null) return 'null-path';
    let records: Lwm2mRecord[];
    try {
      records = codec.decode(payload, path, RESOLVER);
    } catch (e) {
      return allowed(e, Lwm2mCodecError);
    }
    recordsRoundTrip(['text', 'opaque', 'cbor'][fmt]!, codec, path, payload, records);
    return [`fmt:${fmt}`, ...recordFeatures(records)];
  },
};

function randomCbor(rng: Rng, depth = 0): CborItem {
  const r = rng.below(depth > 3 ? 7 : 10);
  switch (r) {
    case 0:
      return rng.range(-1000, 1000);
    case 1:
      return rng.pick([2 ** 53, -(2 ** 64), 2n ** 64n - 1n, -(2n ** 64n), 1.5, -0, NaN, Infinity, 65504, 1e300]);
    case 2:
      return randomString(rng);
    case 3:
      return rng.bytes(rng.smallLength(20));
    case 4:
      return rng.pick([true, false, null, undefined]);
    case 5:
    case 6:
      return rng.range(0, 1 << 20);
    case 7:
      return Array.from({ length: rng.below(4) }, () => randomCbor(rng, depth + 1));
    default: {
      const m = new Map<CborItem, CborItem>();
      for (let i = rng.below(4); i > 0; i--) m.set(rng.chance(0.5) ? rng.range(-10, 10) : randomString(rng), randomCbor(rng, depth + 1));
      return m;
    }
  }
}

const cbor: FuzzTarget = {
  name: 'cbor',
  about: 'the generic CBOR codec (lib/lwm2m/codec/cbor.ts): CborError only; decode -> encode -> decode stable (numbers and wrapped floats)',
  maxLength: 1024,
  seeds: () => [...vectorSeeds('senml_cbor.json'), ...vectorSeeds('lwm2m_cbor.json'), ...vectorSeeds('cbor_single_value.json')].map((b) => decodeInput(b).payload),
  generate(rng) {
    try {
      return encodeCbor(randomCbor(rng));
    } catch {
      return rng.bytes(8);
    }
  },
  run(b) {
    const f: string[] = [];
    for (const floats of ['number', 'wrap'] as const) {
      let item: CborItem;
      try {
        item = decodeCbor(b, { floats });
      } catch (e) {
        f.push(allowed(e, CborError));
        continue;
      }
      let b2: Uint8Array;
      try {
        b2 = encodeCbor(item);
      } catch (e) {
        throw new Violation('roundtrip', `a decoded CBOR item (${floats}) does not encode (${e instanceof Error ? e.message : String(e)}): ${hexHead(b)}`);
      }
      const again = decodeCbor(b2, { floats });
      if (canon(again) !== canon(item)) throw new Violation('roundtrip', `CBOR (${floats}) decode(encode(x)) differs: ${hexHead(b)} -> ${hexHead(b2)}`);
      if (!sameBytes(encodeCbor(again), b2)) throw new Violation('roundtrip', `CBOR (${floats}) encoding is not stable: ${hexHead(b2)}`);
      f.push(`ok:${floats}:${typeof item === 'object' ? (item === null ? 'null' : (item.constructor?.name ?? 'object')) : typeof item}`);
    }
    return f;
  },
};

export const LWM2M_TARGETS: FuzzTarget[] = [tlv, senmlJson, senmlCbor, lwm2mCbor, single, cbor];
