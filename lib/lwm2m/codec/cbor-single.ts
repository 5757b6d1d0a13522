/**
 * application/cbor (CoAP Content-Format 60; OMA-TS-LightweightM2M Core 1.2 §7.4.6): one resource
 * or resource instance value as a single CBOR data item (RFC 8949).
 *
 * Read: unsigned/negative integers of any width (int64 for integer/time, uint64 for unsigned;
 * beyond 2^53 as bigint), half/single/double floats, definite byte and text strings (strict
 * UTF-8), false/true, each optionally under ONE tag (ignored, except that a time resource takes
 * tag 0 RFC 3339 text as well as tag 1 / untagged seconds). Refused, as wakaama refuses them:
 * null, undefined, other simple values, arrays, maps, indefinite-length items, nested tags,
 * integers outside the type's range, trailing bytes. A float resource also takes an integer; an
 * unknown resource takes the item's own type (integer, unsigned above 2^63-1, float, boolean,
 * string, opaque).
 *
 * Written canonically: the shortest head, floats in the shortest of half/single/double that is
 * exact (NaN as f97e00), time as tag 1 + integer seconds (Leshan), objlnk as "O:I" text, corelnk
 * as text.
 */
import { type Lwm2mRecord, type Path, type ResourceType, type TypeResolver, type Value } from '../types.js';
import {
  decodeUtf8,
  encodeUtf8,
  fail,
  inferType,
  INT64_MAX,
  INT64_MIN,
  intValue,
  parseObjectLink,
  singleValueRecord,
  singleValueTarget,
  toInt64,
  toObjectLink,
  toUint64,
  toWellFormedString,
} from './value.js';

export const CBOR_CONTENT_FORMAT = 60;


// ---------------------------------------------------------------------------------------------
// Minimal CBOR: one scalar item, optionally tagged once

type Item =
  | { kind: 'int'; value: bigint }
  | { kind: 'float'; value: number }
  | { kind: 'bytes'; value: Uint8Array }
  | { kind: 'text'; value: string }
  | { kind: 'bool'; value: boolean };

interface TaggedItem {
  item: Item;
  tag: bigint | undefined;
}

function decodeItem(b: Uint8Array, where: string): TaggedItem {
  let p = 0;
  let tag: bigint | undefined;
  const need = (n: number): void => {
    if (p + n > b.length) fail(`${where}truncated CBOR item`);
  };
  for (;;) {
    need(1);
    const ib = b[p++]!;
    const major = ib >> 5;
    const ai = ib & 31;
    if (ai === 31) return fail(`${where}indefinite-length CBOR item or break (0x${ib.toString(16)})`);
    if (ai >= 28) return fail(`${where}reserved CBOR additional information ${ai}`);
    if (major === 7) {
      let value: number;
      if (ai === 20 || ai === 21) {
        if (p !== b.length) break;
        return { item: { kind: 'bool', value: ai === 21 }, tag };
      }
      if (ai < 25) return fail(`${where}CBOR ${ai === 22 ? 'null' : ai === 23 ? 'undefined' : 'simple value'} is not a resource value`);
      const n = 1 << (ai - 24);
      need(n);
      const dv = new DataView(b.buffer, b.byteOffset + p, n);
      value = n === 2 ? halfToNumber(dv.getUint16(0)) : n === 4 ? dv.getFloat32(0) : dv.getFloat64(0);
      p += n;
      if (p !== b.length) break;
      return { item: { kind: 'float', value }, tag };
    }
    let arg: bigint;
    if (ai < 24) arg = BigInt(ai);
    else {
      const n = 1 << (ai - 24);
      need(n);
      arg = 0n;
      for (let k = 0; k < n; k++) arg = (arg << 8n) | BigInt(b[p++]!);
    }
    switch (major) {
      case 0:
      case 1:
        if (p !== b.length) break;
        return { item: { kind: 'int', value: major === 0 ? arg : -1n - arg }, tag };
      case 2:
      case 3: {
        if (arg > BigInt(b.length - p)) return fail(`${where}CBOR string of ${arg} bytes overruns the payload`);
        const s = b.subarray(p, p + Number(arg));
        p += s.length;
        if (p !== b.length) break;
        return { item: major === 2 ? { kind: 'bytes', value: s.slice() } : { kind: 'text', value: decodeUtf8(s, where) }, tag };
      }
      case 4:
      case 5:
        return fail(`${where}CBOR ${major === 4 ? 'array' : 'map'} is not a single value`);
      default:
        if (tag !== undefined) return fail(`${where}nested CBOR tags`);
        tag = arg;
        continue;
    }
    break;
  }
  return fail(`${where}trailing bytes after the CBOR item`);
}

function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** The IEEE half-precision bits of `x` when exact, else undefined. */
function numberToHalf(x: number): number | undefined {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7c00;
  if (a === 0) return sign;
  if (a > 65504) return undefined;
  if (a < 2 ** -14) {
    const m = a / 2 ** -24;
    return Number.isInteger(m) ? sign | m : undefined;
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const m = (a / 2 ** e - 1) * 1024;
  return Number.isInteger(m) ? sign | ((e + 15) << 10) | m : undefined;
}

function head(major: number, arg: bigint): Uint8Array {
  const mt = major << 5;
  if (arg < 24n) return Uint8Array.of(mt | Number(arg));
  const n = arg < 0x100n ? 1 : arg < 0x10000n ? 2 : arg < 0x100000000n ? 4 : 8;
  const out = new Uint8Array(1 + n);
  out[0] = mt | (24 + Math.log2(n));
  for (let i = n, x = arg; i >= 1; i--, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
}

function cat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function encodeInt(v: bigint): Uint8Array {
  return v >= 0n ? head(0, v) : head(1, -1n - v);
}

function encodeFloat(x: number): Uint8Array {
  const h = numberToHalf(x);
  if (h !== undefined) return Uint8Array.of(0xf9, h >> 8, h & 0xff);
  const out = new Uint8Array(Math.fround(x) === x ? 5 : 9);
  const dv = new DataView(out.buffer);
  if (out.length === 5) {
    out[0] = 0xfa;
    dv.setFloat32(1, x);
  } else {
    out[0] = 0xfb;
    dv.setFloat64(1, x);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function itemToValue(t: TaggedItem, type: ResourceType | undefined, where: string): Value {
  const { item } = t;
  const mismatch = (): never => fail(`${where}CBOR ${item.kind} is not a valid ${type ?? 'value'}`);
  switch (type) {
    case undefined:
      if (item.kind === 'int') {
        if (item.value < INT64_MIN) return mismatch();
        return intValue(item.value);
      }
      return item.value;
    case 'integer':
      if (item.kind !== 'int' || item.value < INT64_MIN || item.value > INT64_MAX) return mismatch();
      return intValue(item.value);
    case 'unsigned':
      if (item.kind !== 'int' || item.value < 0n) return mismatch();
      return intValue(item.value);
    case 'time':
      if (item.kind === 'int' && item.value >= INT64_MIN && item.value <= INT64_MAX) return intValue(item.value);
      // whole seconds, as an integer: a float -0 is 0 s (the integer the encoder writes back)
      if (item.kind === 'float' && Number.isSafeInteger(item.value)) return intValue(BigInt(item.value));
      if (item.kind === 'text' && t.tag === 0n && RFC3339.test(item.value)) {
        const ms = Date.parse(item.value);
        if (Number.isFinite(ms) && ms % 1000 === 0) return ms / 1000;
      }
      return mismatch();
    case 'float':
      if (item.kind === 'float') return item.value;
      if (item.kind === 'int' && item.value >= INT64_MIN) return Number(item.value);
      return mismatch();
    case 'boolean':
      if (item.kind !== 'bool') return mismatch();
      return item.value;
    case 'string':
    case 'corelnk':
      if (item.kind !== 'text') return mismatch();
      return item.value;
    case 'objlnk':
      if (item.kind !== 'text') return mismatch();
      return parseObjectLink(item.value, where);
    case 'opaque':
      if (item.kind !== 'bytes') return mismatch();
      return item.value;
    case 'none':
      return fail(`${where}executable resource has no value`);
  }
}

function valueToCbor(v: Value, type: ResourceType, where: string): Uint8Array {
  switch (type) {
    case 'integer':
      return encodeInt(toInt64(v, where));
    case 'unsigned':
      return encodeInt(toUint64(v, where));
    case 'time':
      return cat(head(6, 1n), encodeInt(toInt64(v, where)));
    case 'float':
      if (typeof v !== 'number') return fail(`${where}value is not a float`);
      return encodeFloat(v);
    case 'boolean':
      if (typeof v !== 'boolean') return fail(`${where}value is not a boolean`);
      return Uint8Array.of(v ? 0xf5 : 0xf4);
    case 'string':
    case 'corelnk': {
      const s = encodeUtf8(toWellFormedString(v, where));
      return cat(head(3, BigInt(s.length)), s);
    }
    case 'objlnk': {
      const l = toObjectLink(v, where);
      const s = encodeUtf8(`${l.objectId}:${l.instanceId}`);
      return cat(head(3, BigInt(s.length)), s);
    }
    case 'opaque':
      if (!(v instanceof Uint8Array)) return fail(`${where}value is not opaque bytes`);
      return cat(head(2, BigInt(v.length)), v);
    case 'none':
      return fail(`${where}executable resource has no value`);
  }
}

/** Decodes a CBOR single-value payload for a resource or resource instance path. */
export function decodeCborSingle(payload: Uint8Array, path: Path, types: TypeResolver): Lwm2mRecord[] {
  const def = singleValueTarget(path, types, 'CBOR');
  if (!(payload instanceof Uint8Array)) return fail('CBOR: payload is not bytes');
  const where = `CBOR /${path.join('/')}: `;
  return [{ path: [...path], value: itemToValue(decodeItem(payload, where), def?.type, where) }];
}

/** Encodes the one record at `path` (a resource or resource instance) as a CBOR single value. */
export function encodeCborSingle(records: readonly Lwm2mRecord[], path: Path, types: TypeResolver): Uint8Array {
  const def = singleValueTarget(path, types, 'CBOR');
  const v = singleValueRecord(records, path, 'CBOR');
  return valueToCbor(v, def?.type ?? inferType(v), `CBOR /${path.join('/')}: `);
}

/** The CBOR single-value codec (Content-Format 60). */
export const cborSingleCodec = {
  contentFormat: CBOR_CONTENT_FORMAT,
  decode: decodeCborSingle,
  encode: encodeCborSingle,
} as const;
