/** Value helpers shared by the LwM2M codecs (TLV, text, opaque, CBOR single value). */
import { base64Decode, type Base64DecodeOptions } from '../../bytes/base64.js';
import { DecodeError } from '../../bytes/reader.js';
import {
  Lwm2mCodecError,
  pathToString,
  startsWith,
  type Lwm2mRecord,
  type ObjectLink,
  type Path,
  type ResourceDefinition,
  type ResourceType,
  type TypeResolver,
  type Value,
} from '../types.js';

export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;

export const fail = (msg: string): never => {
  throw new Lwm2mCodecError(msg);
};

/**
 * Runs a text codec's work: anything but a Lwm2mCodecError escaping it is a bug, except a
 * RangeError (a string or number out of range), which is the input's fault: reported as a
 * codec error of `format`.
 */
export function guardCodec<T>(format: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof Lwm2mCodecError) throw e;
    if (e instanceof RangeError) throw new Lwm2mCodecError(`${format}: ${e.message}`);
    throw e;
  }
}

/** lib/bytes base64 for a codec: a DecodeError becomes a Lwm2mCodecError about `what`. */
export function decodeBase64(s: string, what: string, o?: Base64DecodeOptions): Uint8Array {
  try {
    return base64Decode(s, o);
  } catch (e) {
    if (e instanceof DecodeError) return fail(`${what}: ${e.message}`);
    throw e;
  }
}

/** A number when it is a safe integer, the bigint otherwise (the model's integer convention). */
export function intValue(b: bigint): number | bigint {
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** An integer/time value as a bigint in the int64 range; throws Lwm2mCodecError otherwise. */
export function toInt64(v: Value, where = ''): bigint {
  let b: bigint | undefined;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
  if (b === undefined || b < INT64_MIN || b > INT64_MAX) return fail(`${where}value ${describe(v)} is not a 64-bit signed integer`);
  return b;
}

/** An unsigned value as a bigint in 0..2^64-1; throws Lwm2mCodecError otherwise. */
export function toUint64(v: Value, where = ''): bigint {
  let b: bigint | undefined;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
  if (b === undefined || b < 0n || b > UINT64_MAX) return fail(`${where}value ${describe(v)} is not a 64-bit unsigned integer`);
  return b;
}

export function isObjectLink(v: Value): v is ObjectLink {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array);
}

/** An objlnk value with both ids in 0..65535; throws Lwm2mCodecError otherwise. */
export function toObjectLink(v: Value, where = ''): ObjectLink {
  if (isObjectLink(v) && isU16(v.objectId) && isU16(v.instanceId)) return { objectId: v.objectId, instanceId: v.instanceId };
  return fail(`${where}value ${describe(v)} is not an object link with 16-bit ids`);
}

/** "O:I" -> ObjectLink (both 0..65535, decimal); throws Lwm2mCodecError otherwise. */
export function parseObjectLink(s: string, where = ''): ObjectLink {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(s);
  const objectId = Number(m?.[1]);
  const instanceId = Number(m?.[2]);
  if (!m || !isU16(objectId) || !isU16(instanceId)) return fail(`${where}"${s.slice(0, 40)}" is not an object link "O:I"`);
  return { objectId, instanceId };
}

/** A string value that is well-formed UTF-16 (so that its UTF-8 form round-trips). */
export function toWellFormedString(v: Value, where = ''): string {
  if (typeof v !== 'string') return fail(`${where}value ${describe(v)} is not a string`);
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(v)) return fail(`${where}string holds a lone surrogate`);
  return v;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const UTF8_ENC = new TextEncoder();

/** Strict UTF-8 -> string; throws Lwm2mCodecError on malformed input. */
export function decodeUtf8(b: Uint8Array, where = ''): string {
  try {
    return UTF8.decode(b);
  } catch {
    return fail(`${where}value is not valid UTF-8`);
  }
}

export function encodeUtf8(s: string): Uint8Array {
  return UTF8_ENC.encode(s);
}

/** The type a value of an unknown resource is written as. */
export function inferType(v: Value): ResourceType {
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'bigint':
      return v > INT64_MAX ? 'unsigned' : 'integer';
    case 'number':
      return Number.isSafeInteger(v) && !Object.is(v, -0) ? 'integer' : 'float';
    default:
      return v instanceof Uint8Array ? 'opaque' : 'objlnk';
  }
}

export function isU16(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535;
}

export function describe(v: Value): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (typeof v === 'object' && v !== null) return `{objectId: ${String(v.objectId)}, instanceId: ${String(v.instanceId)}}`;
  return String(v);
}

/** Checks a request path: `min`..`max` levels of ids 0..65535. */
export function checkPath(path: Path, min: number, max: number, format: string): void {
  if (!Array.isArray(path) || path.length < min || path.length > max || !path.every(isU16)) {
    const p = Array.isArray(path) && path.every((x) => typeof x === 'number') ? pathToString(path) : String(path);
    fail(`${format}: path ${p} is not ${min === max ? `${min}` : `${min}..${max}`} levels of 16-bit ids`);
  }
}

/**
 * Where a single-value format (text, opaque, CBOR single value) reads or writes: the request
 * path must be a resource or a resource instance; a multiple resource is addressable only per
 * instance and a single resource has no instances.
 */
export function singleValueTarget(path: Path, types: TypeResolver, format: string): ResourceDefinition | undefined {
  checkPath(path, 3, 4, format);
  const def = types(path[0]!, path[2]!);
  if (def) {
    if (path.length === 3 && def.multiple) fail(`${format}: ${pathToString(path)} is a multiple resource; only one of its instances can be carried`);
    if (path.length === 4 && !def.multiple) fail(`${format}: ${pathToString(path)} addresses an instance of a single resource`);
    if (def.type === 'none') fail(`${format}: ${pathToString(path)} is executable and has no value`);
  }
  return def;
}

/** The one record a single-value format encodes: its path must equal the request path. */
export function singleValueRecord(records: readonly Lwm2mRecord[], path: Path, format: string): Value {
  if (records.length !== 1) fail(`${format}: carries exactly one value, got ${records.length} records for ${pathToString(path)}`);
  const r = records[0]!;
  if (!Array.isArray(r.path) || r.path.length !== path.length || !startsWith(r.path, path)) {
    fail(`${format}: record path ${Array.isArray(r.path) ? pathToString(r.path) : String(r.path)} is not the request path ${pathToString(path)}`);
  }
  return r.value;
}

