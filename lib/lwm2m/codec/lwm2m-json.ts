/**
 * OMA LwM2M JSON (application/vnd.oma.lwm2m+json, CoAP Content-Format 11543), the JSON format
 * of LwM2M 1.0 (OMA-TS-LightweightM2M-V1_0 §6.4.4), kept for 1.0 peers (1.1 clients use SenML):
 * ```
 * { "bn": "/3/0/",               base name (optional), prefixed as a string to every "n"
 *   "bt": 25462634,              base time (optional), added to every "t"
 *   "e": [ { "n": "0",           name (optional): bn + n is the resource (instance) path
 *            "v" | "sv" | "bv" | "ov": value (number, string or base64 opaque, boolean, "O:I")
 *            "t": -30 } ] }      time (optional, relative to bt)
 * ```
 * Read: the strict JSON parser of senml-json.ts, names resolved as strings (bn "3/0/1" + n
 * "1/0" is /3/0/11/0; a name without a leading '/' is absolute; without bn a relative "n" is
 * under the request path), values typed by the object model, a resource (instance) given twice
 * or an entry without value refused, and an empty "e" refused for a single-resource request.
 *
 * Written as Leshan writes it: {"bn":..,"e":[..]} compact, bn = the request path + '/' (the
 * path itself when every entry is that resource), entry labels n, value, t (absolute times,
 * no bt), floats with a fraction (23.0), opaque in standard base64.
 */
import { base64Encode } from '../../bytes/base64.js';
import { parsePath, pathToString, startsWith, type Path, type TypeResolver } from '../types.js';
import { resolvePack, valueToSenml, wellFormed, type Num, type RawRecord, type RequestPath, type SenmlValue, type TimedRecord } from './senml.js';
import { jsonFloat, JsonNumber, jsonNum, jsonString, parseJson, type JsonValue } from './senml-json.js';
import { decodeBase64, fail, guardCodec, isU16 } from './value.js';

export const LWM2M_JSON_CONTENT_FORMAT = 11543;
const FORMAT = 'LwM2M JSON';
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const absolute = (name: string): string => (name.startsWith('/') ? name : '/' + name);

function field(o: Map<string, JsonValue>, k: string): JsonValue | undefined {
  return o.get(k);
}

/** The path a name resolves to, or undefined when it is not one (resolvePack then says why). */
function pathOf(name: string): Path | undefined {
  try {
    return parsePath(name);
  } catch {
    return undefined;
  }
}

function entry(o: JsonValue, i: number, name: string, types: TypeResolver): RawRecord {
  const what = `${FORMAT} entry ${i}`;
  if (!(o instanceof Map)) return fail(`${what}: is not a JSON object`);
  const rec: RawRecord = { n: name, values: [], sum: false };
  const p = pathOf(name);
  const def = p && p.length >= 3 ? types(p[0]!, p[2]!) : undefined;
  for (const [k, v] of o) {
    switch (k) {
      case 'n':
        break;
      case 't':
        if (!(v instanceof JsonNumber)) fail(`${what}: "t" must be a number`);
        rec.t = jsonNum(v as JsonNumber, `${what} "t"`);
        break;
      case 'v':
        if (!(v instanceof JsonNumber)) fail(`${what}: "v" must be a number`);
        rec.values.push({ f: 'v', num: jsonNum(v as JsonNumber, `${what} "v"`) });
        break;
      case 'sv':
        if (typeof v !== 'string') return fail(`${what}: "sv" must be a string`);
        // LwM2M 1.0 JSON carries opaque values as base64 strings
        rec.values.push(def?.type === 'opaque' ? { f: 'vd', d: decodeBase64(v, `${what} "sv"`, { alphabet: 'either', padding: 'optional' }) } : { f: 'vs', s: v });
        break;
      case 'bv':
        if (typeof v !== 'boolean') fail(`${what}: "bv" must be a boolean`);
        rec.values.push({ f: 'vb', b: v as boolean });
        break;
      case 'ov':
        if (typeof v !== 'string') return fail(`${what}: "ov" must be a string`);
        rec.values.push({ f: 'vlo', s: v });
        break;
      default:
      // unknown labels are ignored (the 1.0 format has no must-understand rule)
    }
  }
  return rec;
}

/**
 * Decodes an LwM2M JSON payload. `path` is the request path (null: no request path, every
 * name must be absolute); records come back with full paths, with `time` when given.
 */
export function decodeLwm2mJson(payload: Uint8Array, path: RequestPath, types: TypeResolver): TimedRecord[] {
  return guard(() => {
    let text: string;
    try {
      text = UTF8.decode(payload);
    } catch {
      return fail(`${FORMAT}: payload is not valid UTF-8`);
    }
    const root = parseJson(text, 8, FORMAT);
    if (!(root instanceof Map)) return fail(`${FORMAT}: the payload is a JSON object`);
    const bn = field(root, 'bn');
    if (bn !== undefined && typeof bn !== 'string') return fail(`${FORMAT}: "bn" must be a string`);
    const bt = field(root, 'bt');
    if (bt !== undefined && !(bt instanceof JsonNumber)) return fail(`${FORMAT}: "bt" must be a number`);
    const e = field(root, 'e');
    if (!Array.isArray(e)) return fail(`${FORMAT}: "e" must be an array of entries`);
    const raws = e.map((o, i) => {
      const n = o instanceof Map ? o.get('n') : undefined;
      if (n !== undefined && typeof n !== 'string') return fail(`${FORMAT} entry ${i}: "n" must be a string`);
      let name: string;
      if (bn !== undefined) name = absolute(bn + (n ?? ''));
      else if (n !== undefined && n.startsWith('/')) name = n;
      else if (path !== null) name = (path.length === 0 ? '/' : pathToString(path) + '/') + (n ?? '');
      else name = absolute(n ?? '');
      return entry(o, i, name, types);
    });
    if (raws.length > 0 && bt !== undefined) raws[0]!.bt = jsonNum(bt as JsonNumber, `${FORMAT} "bt"`);
    if (path !== null && path.length >= 3 && raws.length === 0) fail(`${FORMAT}: no value for the resource ${pathToString(path)}`);
    return resolvePack(raws, path, types, FORMAT);
  });
}

// ---------------------------------------------------------------------------------------------
// Writing

function numText(n: Num): string {
  return n.k === 'int' ? String(n.v) : n.k === 'float' ? jsonFloat(n.v) : `${n.m}e${n.e}`;
}

function valueMember(v: SenmlValue): string {
  switch (v.f) {
    case 'v':
      return `"v":${numText(v.num)}`;
    case 'vs':
      return `"sv":${jsonString(v.s)}`;
    case 'vb':
      return `"bv":${v.b}`;
    case 'vd':
      return `"sv":"${base64Encode(v.d)}"`;
    case 'vlo':
      return `"ov":${jsonString(v.s)}`;
  }
}

function checkRecords(records: readonly TimedRecord[], path: Path): void {
  if (!Array.isArray(records)) fail(`${FORMAT}: records must be an array`);
  const seen = new Set<string>();
  for (const r of records) {
    const p = r?.path;
    if (!Array.isArray(p) || p.length < 3 || p.length > 4 || !p.every(isU16)) fail(`${FORMAT}: record path ${Array.isArray(p) ? pathToString(p) : String(p)} is not a resource or resource instance`);
    if (!startsWith(p, path)) fail(`${FORMAT}: record ${pathToString(p)} is outside the request path ${pathToString(path)}`);
    if (r.time !== undefined && (typeof r.time !== 'number' || !Number.isFinite(r.time))) fail(`${FORMAT}: record ${pathToString(p)} has a bad time`);
    const key = `${pathToString(p)}@${r.time ?? ''}`;
    if (seen.has(key)) fail(`${FORMAT}: record ${pathToString(p)} given twice`);
    seen.add(key);
  }
}

/** Encodes records under the request path `path` (null: the root) as an LwM2M JSON object. */
export function encodeLwm2mJson(records: readonly TimedRecord[], path: RequestPath, types: TypeResolver): Uint8Array {
  return guard(() => {
    const base = path ?? [];
    checkRecords(records, base);
    const exact = records.length > 0 && records.every((r) => r.path.length === base.length);
    const bn = exact ? pathToString(base) : base.length === 0 ? '/' : pathToString(base) + '/';
    const entries = records.map((r) => {
      const parts: string[] = [];
      if (!exact) parts.push(`"n":${jsonString(r.path.slice(base.length).join('/'))}`);
      parts.push(valueMember(valueToSenml(r.value, types(r.path[0]!, r.path[2]!), `${FORMAT} ${pathToString(r.path)}: `)));
      if (r.time !== undefined) parts.push(`"t":${Number.isInteger(r.time) ? String(r.time) : jsonFloat(r.time)}`);
      return `{${parts.join(',')}}`;
    });
    if (!wellFormed(bn)) fail(`${FORMAT}: bad base name`);
    return new TextEncoder().encode(`{"bn":${jsonString(bn)},"e":[${entries.join(',')}]}`);
  });
}

const guard = <T>(f: () => T): T => guardCodec(FORMAT, f);

/** The LwM2M JSON codec (Content-Format 11543). */
export const lwm2mJsonCodec = {
  contentFormat: LWM2M_JSON_CONTENT_FORMAT,
  decode: decodeLwm2mJson,
  encode: encodeLwm2mJson,
} as const;
