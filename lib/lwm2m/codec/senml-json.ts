/**
 * SenML JSON (application/senml+json, CoAP Content-Format 110; RFC 8428 as profiled by
 * OMA-TS-LightweightM2M Core 1.2 §7.4.4).
 *
 * Read: a strict RFC 8259 JSON parser (UTF-8, no duplicate keys, no lone surrogates, numbers
 * kept exact so 9223372036854775800 stays an integer), labels in any order, bn/bt/bv carried
 * over to the records that follow, name = bn + n, time = bt + t, v + bv, unknown labels
 * ignored unless they end in '_' (must-understand), bver up to 10. vd is base64 in either
 * alphabet (Leshan: base64url without padding; wakaama: standard with padding). An empty
 * payload or [] is an empty pack.
 *
 * Written as Leshan writes it: compact, labels in the order bn, bt, n, value; bn = the request
 * path + '/' on the first record (the path itself when the record is the request path);
 * composite packs with a bn per record; vd in base64url without padding; strings escaped with
 * \b \t \n \f \r and \u00XX (upper-case hex) for the other control characters.
 */
import { type Path, type TypeResolver } from '../types.js';
import { base64UrlEncode } from '../../bytes/base64.js';
import {
  decNum,
  planPack,
  planPaths,
  resolvePack,
  resolvePaths,
  SENML_VERSION,
  wellFormed,
  type Num,
  type PlannedRecord,
  type RawRecord,
  type RequestPath,
  type SenmlEncodeOptions,
  type SenmlValue,
  type TimedRecord,
} from './senml.js';
import { decodeBase64, fail, guardCodec } from './value.js';

export const SENML_JSON_CONTENT_FORMAT = 110;
const FORMAT = 'SenML JSON';
const MAX_DEPTH = 16;

// ---------------------------------------------------------------------------------------------
// Strict JSON

/** A JSON number, kept as its text. */
export class JsonNumber {
  constructor(readonly raw: string) {}
}
export type JsonValue = string | boolean | null | JsonNumber | JsonValue[] | Map<string, JsonValue>;

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const UTF8_ENC = new TextEncoder();

/** Parse RFC 8259 JSON strictly; throws Lwm2mCodecError (its message starts with `format`). */
export function parseJson(text: string, maxDepth = MAX_DEPTH, format = FORMAT): JsonValue {
  let i = 0;
  const err = (msg: string): never => fail(`${format}: ${msg} at offset ${i}`);
  const ws = (): void => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else return;
    }
  };
  const value = (depth: number): JsonValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      if (depth >= maxDepth) err('nesting too deep');
      i++;
      const m = new Map<string, JsonValue>();
      ws();
      if (text[i] === '}') {
        i++;
        return m;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') err('object key expected');
        const k = string();
        if (m.has(k)) err(`duplicate key "${k.slice(0, 20)}"`);
        ws();
        if (text[i] !== ':') err("':' expected");
        i++;
        m.set(k, value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return m;
        } else err("',' or '}' expected");
      }
    }
    if (c === '[') {
      if (depth >= maxDepth) err('nesting too deep');
      i++;
      const a: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return a;
        } else err("',' or ']' expected");
      }
    }
    if (c === '"') return string();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 1100));
    if (!m || m[0].length === 0) return err('value expected');
    if (m[0].length >= 1100) return err('number too long');
    i += m[0].length;
    return new JsonNumber(m[0]);
  };
  const string = (): string => {
    i++; // opening quote
    let out = '';
    for (;;) {
      const start = i;
      while (i < text.length) {
        const c = text.charCodeAt(i);
        if (c === 0x22 || c === 0x5c || c < 0x20) break;
        i++;
      }
      out += text.slice(start, i);
      if (i >= text.length) return err('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        break;
      }
      if (c < 0x20) return err('control character in string');
      // backslash
      const e = text[i + 1];
      i += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const h = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(h)) return err('bad \\u escape');
          out += String.fromCharCode(parseInt(h, 16));
          i += 4;
          break;
        }
        default:
          return err('bad escape');
      }
    }
    if (!wellFormed(out)) return err('string holds a lone surrogate');
    return out;
  };
  const v = value(0);
  ws();
  if (i !== text.length) err('trailing characters');
  return v;
}

/** The exact number of a JSON number's text. */
export function jsonNum(n: JsonNumber, what: string): Num {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(n.raw);
  if (!m) return fail(`${what}: bad number`);
  const sign = m[1] ? -1n : 1n;
  if (m[3] === undefined && m[4] === undefined) return { k: 'int', v: sign * BigInt(m[2]!) };
  const frac = m[3] ?? '';
  const exp = Number(m[4] ?? '0') - frac.length;
  const mant = BigInt(m[2]! + frac) * sign;
  if (mant === 0n) return { k: 'float', v: m[1] ? -0 : 0 };
  return decNum(mant, exp, what);
}


// ---------------------------------------------------------------------------------------------
// SenML records

function parsePack(payload: Uint8Array): RawRecord[] {
  if (!(payload instanceof Uint8Array)) return fail(`${FORMAT}: payload is not bytes`);
  if (payload.length === 0) return [];
  let text: string;
  try {
    text = UTF8.decode(payload);
  } catch {
    return fail(`${FORMAT}: payload is not valid UTF-8`);
  }
  const root = parseJson(text);
  if (!Array.isArray(root)) return fail(`${FORMAT}: a pack is a JSON array`);
  return root.map((o, i) => rawRecord(o, i));
}

function rawRecord(o: JsonValue, i: number): RawRecord {
  const what = `${FORMAT} record ${i}`;
  if (!(o instanceof Map)) return fail(`${what}: is not a JSON object`);
  const rec: RawRecord = { values: [], sum: false };
  const str = (k: string, v: JsonValue): string => (typeof v === 'string' ? v : fail(`${what}: "${k}" must be a string`));
  const num = (k: string, v: JsonValue): Num => (v instanceof JsonNumber ? jsonNum(v, `${what} "${k}"`) : fail(`${what}: "${k}" must be a number`));
  for (const [k, v] of o) {
    switch (k) {
      case 'bver': {
        const n = num(k, v);
        if (n.k !== 'int' || n.v < 1n || n.v > BigInt(SENML_VERSION)) fail(`${what}: unsupported SenML version ${v instanceof JsonNumber ? v.raw : ''}`);
        break;
      }
      case 'bn':
        rec.bn = str(k, v);
        break;
      case 'bt':
        rec.bt = num(k, v);
        break;
      case 'bv':
        rec.bv = num(k, v);
        break;
      case 'n':
        rec.n = str(k, v);
        break;
      case 't':
        rec.t = num(k, v);
        break;
      case 'bu':
      case 'u':
        str(k, v);
        break;
      case 'bs':
      case 'ut':
        num(k, v);
        break;
      case 's':
        num(k, v);
        rec.sum = true;
        break;
      case 'v':
        rec.values.push({ f: 'v', num: num(k, v) });
        break;
      case 'vs':
        rec.values.push({ f: 'vs', s: str(k, v) });
        break;
      case 'vb':
        if (typeof v !== 'boolean') fail(`${what}: "vb" must be a boolean`);
        rec.values.push({ f: 'vb', b: v as boolean });
        break;
      case 'vd':
        rec.values.push({ f: 'vd', d: decodeBase64(str(k, v), `${what} "vd"`, { alphabet: 'either', padding: 'optional' }) });
        break;
      case 'vlo':
        rec.values.push({ f: 'vlo', s: str(k, v) });
        break;
      default:
        if (k.endsWith('_')) fail(`${what}: unknown must-understand label "${k.slice(0, 40)}"`);
    }
  }
  return rec;
}

/**
 * Decodes a SenML JSON pack. `path` is the request path (null for a composite operation);
 * records come back with full paths, typed by `types`, with `time` when the pack gives one.
 */
export function decodeSenmlJson(payload: Uint8Array, path: RequestPath, types: TypeResolver): TimedRecord[] {
  return guard(() => resolvePack(parsePack(payload), path, types, FORMAT));
}

/** Decodes a path list (Read-Composite / Observe-Composite request): records without values. */
export function decodeSenmlJsonPaths(payload: Uint8Array): Path[] {
  return guard(() => resolvePaths(parsePack(payload), FORMAT));
}

// ---------------------------------------------------------------------------------------------
// Writing

const ESC: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

export function jsonString(s: string): string {
  if (!wellFormed(s)) fail(`${FORMAT}: string holds a lone surrogate`);
  // eslint-disable-next-line no-control-regex
  return '"' + s.replace(/["\\\u0000-\u001f]/g, (c) => ESC[c] ?? '\\u' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')) + '"';
}

function jsonNumber(n: number, what: string): string {
  if (!Number.isFinite(n)) fail(`${FORMAT}: ${what} ${n} has no JSON form`);
  return Object.is(n, -0) ? '-0.0' : String(n);
}

/** A float value: an integral one keeps a fraction (20.0, as Leshan writes a Double). */
export function jsonFloat(n: number): string {
  const s = jsonNumber(n, 'value');
  return /[.e]/.test(s) ? s : `${s}.0`;
}

function valueMember(v: SenmlValue): string {
  switch (v.f) {
    case 'v':
      return `"v":${v.num.k === 'int' ? String(v.num.v) : v.num.k === 'float' ? jsonFloat(v.num.v) : `${v.num.m}e${v.num.e}`}`;
    case 'vs':
      return `"vs":${jsonString(v.s)}`;
    case 'vb':
      return `"vb":${v.b}`;
    case 'vd':
      return `"vd":"${base64UrlEncode(v.d)}"`;
    case 'vlo':
      return `"vlo":${jsonString(v.s)}`;
  }
}

function writeRecord(r: PlannedRecord): string {
  const parts: string[] = [];
  if (r.bn !== undefined) parts.push(`"bn":${jsonString(r.bn)}`);
  if (r.bt !== undefined) parts.push(`"bt":${jsonNumber(r.bt, 'time')}`);
  if (r.n !== undefined) parts.push(`"n":${jsonString(r.n)}`);
  parts.push(valueMember(r.value));
  return `{${parts.join(',')}}`;
}

/**
 * Encodes records as a SenML JSON pack. `path` is the request path (null: composite, each
 * record named by its own bn unless `options.composite` is 'n').
 */
export function encodeSenmlJson(records: readonly TimedRecord[], path: RequestPath, types: TypeResolver, options: SenmlEncodeOptions = {}): Uint8Array {
  return guard(() => UTF8_ENC.encode(`[${planPack(records, path, types, FORMAT, options).map(writeRecord).join(',')}]`));
}

/** Encodes a path list: [{"n":"/3/0/0"},...]. */
export function encodeSenmlJsonPaths(paths: readonly Path[]): Uint8Array {
  return guard(() => UTF8_ENC.encode(`[${planPaths(paths, FORMAT).map((n) => `{"n":${jsonString(n)}}`).join(',')}]`));
}

const guard = <T>(f: () => T): T => guardCodec(FORMAT, f);

/** The SenML JSON codec (Content-Format 110). */
export const senmlJsonCodec = {
  contentFormat: SENML_JSON_CONTENT_FORMAT,
  decode: decodeSenmlJson,
  encode: encodeSenmlJson,
  decodePaths: decodeSenmlJsonPaths,
  encodePaths: encodeSenmlJsonPaths,
} as const;
