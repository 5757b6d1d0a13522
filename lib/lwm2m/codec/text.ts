/**
 * text/plain (CoAP Content-Format 0) single values (OMA-TS-LightweightM2M Core 1.2 §7.4.1): one
 * resource or resource instance, its value as UTF-8 text by resource type, as Leshan reads and
 * writes it:
 *  - integer, unsigned, time: decimal ("-12", "+12" is read too); time is seconds since the epoch;
 *  - float: JavaScript's shortest round-trip form ("56.4", "1e+21", "-0"; "NaN", "Infinity" and
 *    "-Infinity" as Java writes them); read: decimal with optional fraction and exponent;
 *  - boolean: "0" / "1" only;
 *  - objlnk: "O:I";
 *  - opaque: base64 with padding (LwM2M 1.1+), strict on read;
 *  - string, corelnk: as is.
 * Unknown resources decode as strings (Leshan) and encode by the JavaScript type of the value.
 */
import { type Lwm2mRecord, type Path, type ResourceType, type TypeResolver, type Value } from '../types.js';
import {
  decodeUtf8,
  encodeUtf8,
  fail,
  INT64_MAX,
  INT64_MIN,
  UINT64_MAX,
  inferType,
  intValue,
  parseObjectLink,
  singleValueRecord,
  singleValueTarget,
  toInt64,
  toObjectLink,
  toUint64,
  toWellFormedString,
} from './value.js';
import { base64Decode, base64Encode } from '../../bytes/base64.js';

export const TEXT_CONTENT_FORMAT = 0;

/** Parses the text form of a value of `type`. */
export function parseTextValue(s: string, type: ResourceType, where = ''): Value {
  const bad = (): never => fail(`${where}"${s.length > 40 ? s.slice(0, 40) + '…' : s}" is not a valid ${type}`);
  switch (type) {
    case 'string':
    case 'corelnk':
      return s;
    case 'integer':
    case 'time': {
      if (!/^[+-]?\d{1,40}$/.test(s)) return bad();
      const b = BigInt(s);
      if (b < INT64_MIN || b > INT64_MAX) return bad();
      return intValue(b);
    }
    case 'unsigned': {
      if (!/^\+?\d{1,40}$/.test(s)) return bad();
      const b = BigInt(s);
      if (b > UINT64_MAX) return bad();
      return intValue(b);
    }
    case 'float':
      if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) || /^[+-]?Infinity$|^NaN$/.test(s)) return Number(s);
      return bad();
    case 'boolean':
      if (s === '0') return false;
      if (s === '1') return true;
      return bad();
    case 'objlnk':
      return parseObjectLink(s, where);
    case 'opaque':
      // standard alphabet, padded, canonical (non-zero spare bits are refused)
      try {
        return base64Decode(s);
      } catch {
        return bad();
      }
    case 'none':
      return fail(`${where}executable resource has no value`);
  }
}

/** The text form of a value of `type`. */
export function formatTextValue(v: Value, type: ResourceType, where = ''): string {
  switch (type) {
    case 'string':
    case 'corelnk':
      return toWellFormedString(v, where);
    case 'integer':
    case 'time':
      return toInt64(v, where).toString();
    case 'unsigned':
      return toUint64(v, where).toString();
    case 'float':
      if (typeof v !== 'number') return fail(`${where}value is not a float`);
      return Object.is(v, -0) ? '-0' : String(v);
    case 'boolean':
      if (typeof v !== 'boolean') return fail(`${where}value is not a boolean`);
      return v ? '1' : '0';
    case 'objlnk': {
      const l = toObjectLink(v, where);
      return `${l.objectId}:${l.instanceId}`;
    }
    case 'opaque':
      if (!(v instanceof Uint8Array)) return fail(`${where}value is not opaque bytes`);
      return base64Encode(v);
    case 'none':
      return fail(`${where}executable resource has no value`);
  }
}

/** Decodes a text/plain payload for a resource or resource instance path. */
export function decodeText(payload: Uint8Array, path: Path, types: TypeResolver): Lwm2mRecord[] {
  const def = singleValueTarget(path, types, 'text/plain');
  if (!(payload instanceof Uint8Array)) return fail('text/plain: payload is not bytes');
  const where = `text/plain /${path.join('/')}: `;
  const s = decodeUtf8(payload, where);
  return [{ path: [...path], value: parseTextValue(s, def?.type ?? 'string', where) }];
}

/** Encodes the one record at `path` (a resource or resource instance) as text/plain. */
export function encodeText(records: readonly Lwm2mRecord[], path: Path, types: TypeResolver): Uint8Array {
  const def = singleValueTarget(path, types, 'text/plain');
  const v = singleValueRecord(records, path, 'text/plain');
  return encodeUtf8(formatTextValue(v, def?.type ?? inferType(v), `text/plain /${path.join('/')}: `));
}

/** The text/plain codec (Content-Format 0). */
export const textCodec = {
  contentFormat: TEXT_CONTENT_FORMAT,
  decode: decodeText,
  encode: encodeText,
} as const;
