/**
 * What SenML JSON (110), SenML CBOR (112) and LwM2M CBOR (11544) share: exact numbers and their
 * conversion to a resource's type, the LwM2M value of a SenML record (RFC 8428 as profiled by
 * OMA-TS-LightweightM2M Core 1.2 §7.4.4/7.4.5), name/base-name/base-time resolution, and the
 * plan of an encoded pack (which record carries bn, bt and n).
 *
 * Every failure is a Lwm2mCodecError.
 */
import {
  Lwm2mPathError,
  parsePath,
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
import { fail, intValue, INT64_MAX, INT64_MIN, UINT64_MAX } from './value.js';


/**
 * A record with an optional SenML time (seconds; RFC 8428 §4.5.3: values below 2^28 are
 * relative to "now"). The decoders put `time` on records whose bt+t is not 0; the encoders
 * write it as bt. Lwm2mRecord has no time of its own (reported as a model gap).
 */
export interface TimedRecord extends Lwm2mRecord {
  time?: number;
}

/** A request path, or null for a composite operation (Read-Composite, Send, Write-Composite). */
export type RequestPath = Path | null;

// ---------------------------------------------------------------------------------------------
// Exact numbers

/**
 * An exact number as read: an integer (JSON without fraction or exponent, a CBOR integer), an
 * IEEE double (a CBOR float), or a decimal m * 10^e (JSON with a fraction or an exponent, CBOR
 * tag 4). An unknown resource takes integers as integers and the others as floats.
 */
export type Num = { k: 'int'; v: bigint } | { k: 'float'; v: number } | { k: 'dec'; m: bigint; e: number };

/** Bound on decimal exponents we compute with (JSON "1e999999" would otherwise cost 10^999999). */
const MAX_DEC_EXP = 400;

/** m * 10^e, trailing zeros of m moved into e; zero is a float (the text had a fraction or exponent). */
export function decNum(m: bigint, e: number, what: string): Num {
  if (m === 0n) return { k: 'float', v: 0 };
  while (m % 10n === 0n) {
    m /= 10n;
    e++;
  }
  if (Math.abs(e) > MAX_DEC_EXP) fail(`${what}: decimal exponent ${e} is out of range`);
  return { k: 'dec', m, e };
}

/** The exact integer of `n`, or undefined when it is not an integer. */
function exactInt(n: Num): bigint | undefined {
  switch (n.k) {
    case 'int':
      return n.v;
    case 'float':
      return Number.isInteger(n.v) ? BigInt(n.v) : undefined;
    case 'dec':
      // normalised: with e < 0 the mantissa has no trailing zero, so the value is not integral
      return n.e >= 0 ? n.m * 10n ** BigInt(n.e) : undefined;
  }
}

export function numToFloat(n: Num): number {
  switch (n.k) {
    case 'int':
      return Number(n.v);
    case 'float':
      return n.v;
    case 'dec':
      return Number(`${n.m}e${n.e}`);
  }
}

export function addNum(a: Num, b: Num): Num {
  if (a.k === 'int' && b.k === 'int') return { k: 'int', v: a.v + b.v };
  if (a.k === 'float' || b.k === 'float') return { k: 'float', v: numToFloat(a) + numToFloat(b) };
  const [am, ae] = a.k === 'dec' ? [a.m, a.e] : [a.v, 0];
  const [bm, be] = b.k === 'dec' ? [b.m, b.e] : [b.v, 0];
  const e = Math.min(ae, be);
  return decNum(am * 10n ** BigInt(ae - e) + bm * 10n ** BigInt(be - e), e, 'sum');
}

function numText(n: Num): string {
  return n.k === 'int' ? String(n.v) : n.k === 'float' ? String(n.v) : `${n.m}e${n.e}`;
}

/** The value of a SenML number for a resource of type `type` (undefined: unknown resource). */
export function numToValue(n: Num, type: ResourceType | undefined, where: string): number | bigint {
  switch (type) {
    case 'integer':
    case 'time': {
      const i = exactInt(n);
      if (i === undefined || i < INT64_MIN || i > INT64_MAX) return fail(`${where}${numText(n)} is not a 64-bit signed integer`);
      return intValue(i);
    }
    case 'unsigned': {
      const i = exactInt(n);
      if (i === undefined || i < 0n || i > UINT64_MAX) return fail(`${where}${numText(n)} is not a 64-bit unsigned integer`);
      return intValue(i);
    }
    case 'float': {
      const f = numToFloat(n);
      if (!Number.isFinite(f) && n.k !== 'float') return fail(`${where}${numText(n)} is out of the range of a double`);
      return f;
    }
    case undefined: {
      if (n.k === 'int') return intValue(n.v);
      const f = numToFloat(n);
      if (!Number.isFinite(f) && n.k !== 'float') return fail(`${where}${numText(n)} is out of the range of a double`);
      return f;
    }
    default:
      return fail(`${where}a number is not a value of a ${type} resource`);
  }
}

// ---------------------------------------------------------------------------------------------
// Values

export function isObjectLink(v: unknown): v is ObjectLink {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && 'objectId' in v && 'instanceId' in v;
}

function isU16(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535;
}

/** "O:I" -> ObjectLink (decimal, each 0..65535). */
export function parseObjlnk(s: string, where: string): ObjectLink {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(s);
  const objectId = Number(m?.[1]);
  const instanceId = Number(m?.[2]);
  if (!m || !isU16(objectId) || !isU16(instanceId)) return fail(`${where}"${s.slice(0, 40)}" is not an object link "O:I"`);
  return { objectId, instanceId };
}

export function formatObjlnk(v: Value, where: string): string {
  if (!isObjectLink(v) || !isU16(v.objectId) || !isU16(v.instanceId)) return fail(`${where}value is not an object link with 16-bit ids`);
  return `${v.objectId}:${v.instanceId}`;
}

/** True when `s` has no unpaired surrogate. */
export function wellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** A SenML value field as it appears on the wire (format independent). */
export type SenmlValue =
  | { f: 'v'; num: Num }
  | { f: 'vs'; s: string }
  | { f: 'vb'; b: boolean }
  | { f: 'vd'; d: Uint8Array }
  | { f: 'vlo'; s: string };

/** The value to write for `value` of a resource of definition `def` (undefined: by the JS type). */
export function valueToSenml(value: Value, def: ResourceDefinition | undefined, where: string): SenmlValue {
  const type = def?.type;
  const str = (): SenmlValue => {
    if (typeof value !== 'string') return fail(`${where}a ${type} resource needs a string value`);
    if (!wellFormed(value)) return fail(`${where}string holds a lone surrogate`);
    return { f: 'vs', s: value };
  };
  const int = (min: bigint, max: bigint): SenmlValue => {
    let b: bigint | undefined;
    if (typeof value === 'bigint') b = value;
    else if (typeof value === 'number' && Number.isSafeInteger(value)) b = BigInt(value);
    if (b === undefined || b < min || b > max) return fail(`${where}a ${type} resource needs an integer in ${min}..${max}`);
    return { f: 'v', num: { k: 'int', v: b } };
  };
  switch (type) {
    case 'string':
    case 'corelnk':
      return str();
    case 'integer':
    case 'time':
      return int(INT64_MIN, INT64_MAX);
    case 'unsigned':
      return int(0n, UINT64_MAX);
    case 'float':
      if (typeof value !== 'number') return fail(`${where}a float resource needs a number`);
      return { f: 'v', num: { k: 'float', v: value } };
    case 'boolean':
      if (typeof value !== 'boolean') return fail(`${where}a boolean resource needs a boolean`);
      return { f: 'vb', b: value };
    case 'opaque':
      if (!(value instanceof Uint8Array)) return fail(`${where}an opaque resource needs bytes`);
      return { f: 'vd', d: value };
    case 'objlnk':
      return { f: 'vlo', s: formatObjlnk(value, where) };
    case 'none':
      return fail(`${where}an executable resource has no value`);
    case undefined:
      switch (typeof value) {
        case 'string':
          return str();
        case 'boolean':
          return { f: 'vb', b: value };
        case 'bigint':
          return { f: 'v', num: { k: 'int', v: value } };
        case 'number':
          return { f: 'v', num: Number.isSafeInteger(value) && !Object.is(value, -0) ? { k: 'int', v: BigInt(value) } : { k: 'float', v: value } };
        default:
          if (value instanceof Uint8Array) return { f: 'vd', d: value };
          return { f: 'vlo', s: formatObjlnk(value, where) };
      }
  }
}

/** The LwM2M value of a SenML value field for a resource of definition `def`. */
export function senmlToValue(sv: SenmlValue, def: ResourceDefinition | undefined, where: string): Value {
  const type = def?.type;
  const want = (f: SenmlValue['f']): void => {
    if (sv.f !== f) fail(`${where}a ${type} resource takes "${f}", not "${sv.f}"`);
  };
  switch (type) {
    case 'string':
    case 'corelnk':
      want('vs');
      break;
    case 'integer':
    case 'unsigned':
    case 'time':
    case 'float':
      want('v');
      break;
    case 'boolean':
      want('vb');
      break;
    case 'opaque':
      want('vd');
      break;
    case 'objlnk':
      want('vlo');
      break;
    case 'none':
      return fail(`${where}an executable resource has no value`);
  }
  switch (sv.f) {
    case 'v':
      return numToValue(sv.num, type, where);
    case 'vs':
      return sv.s;
    case 'vb':
      return sv.b;
    case 'vd':
      return sv.d;
    case 'vlo':
      return parseObjlnk(sv.s, where);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding a pack

/** One SenML record as parsed from either representation (labels already type-checked). */
export interface RawRecord {
  bn?: string;
  bt?: Num;
  bv?: Num;
  n?: string;
  t?: Num;
  /** The value fields present (v, vs, vb, vd, vlo), in any order. */
  values: SenmlValue[];
  /** A sum (s) is present: a SenML value, but not one LwM2M has. */
  sum: boolean;
}

/** The base version this implementation understands (RFC 8428 §4.4). */
export const SENML_VERSION = 10;

/** The names of a pack resolved against base names: "/O/I/R[/RI]" etc. */
function resolvedNames(raws: readonly RawRecord[], format: string): { path: Path; raw: RawRecord; time: number | undefined; bv: Num | undefined }[] {
  let bn = '';
  let bt: Num | undefined;
  let bv: Num | undefined;
  return raws.map((raw, i) => {
    if (raw.bn !== undefined) bn = raw.bn;
    if (raw.bt !== undefined) bt = raw.bt;
    if (raw.bv !== undefined) bv = raw.bv;
    const name = bn + (raw.n ?? '');
    const where = `${format} record ${i}: `;
    if (!name.startsWith('/')) fail(`${where}name "${name.slice(0, 60)}" is not an absolute LwM2M path`);
    let path: Path;
    try {
      path = parsePath(name);
    } catch (e) {
      if (e instanceof Lwm2mPathError) return fail(`${where}${e.message}`);
      throw e;
    }
    let time: number | undefined;
    if (bt !== undefined || raw.t !== undefined) {
      const total = (bt ? numToFloat(bt) : 0) + (raw.t ? numToFloat(raw.t) : 0);
      if (!Number.isFinite(total)) fail(`${where}time is not finite`);
      if (total !== 0) time = total;
    }
    return { path, raw, time, bv };
  });
}

/**
 * Records of a pack: full resource / resource-instance paths, values typed by `types`, time
 * from bt+t. `path` (when not null) must be a prefix of every record.
 */
export function resolvePack(raws: readonly RawRecord[], path: RequestPath, types: TypeResolver, format: string): TimedRecord[] {
  const out: TimedRecord[] = [];
  const seen = new Set<string>();
  const resources = new Map<string, 3 | 4>(); // "/O/I/R" -> addressed as a resource (3) or per instance (4)
  resolvedNames(raws, format).forEach(({ path: p, raw, time, bv }, i) => {
    const where = `${format} ${pathToString(p)}: `;
    if (p.length < 3) fail(`${where}a record must name a resource or a resource instance`);
    if (path && !startsWith(p, path)) fail(`${where}is outside the request path ${pathToString(path)}`);
    if (raw.values.length === 0) fail(`${format} record ${i}: has no value (v, vs, vb, vd or vlo)${raw.sum ? '; a sum is not an LwM2M value' : ''}`);
    if (raw.values.length > 1) fail(`${format} record ${i}: has more than one value field`);
    const def = types(p[0]!, p[2]!);
    if (def) {
      if (def.multiple && p.length === 3) fail(`${where}is a multiple resource: values go to its instances`);
      if (!def.multiple && p.length === 4) fail(`${where}is an instance of a single resource`);
    }
    const resKey = pathToString(p.slice(0, 3));
    const prev = resources.get(resKey);
    if (prev !== undefined && prev !== p.length) fail(`${where}resource given both as a value and as instances`);
    resources.set(resKey, p.length as 3 | 4);
    const key = `${pathToString(p)}@${time ?? ''}`;
    if (seen.has(key)) fail(`${where}given twice${time === undefined ? '' : ` at time ${time}`}`);
    seen.add(key);
    let sv = raw.values[0]!;
    if (sv.f === 'v' && bv !== undefined) sv = { f: 'v', num: addNum(bv, sv.num) };
    const rec: TimedRecord = { path: p, value: senmlToValue(sv, def, where) };
    if (time !== undefined) rec.time = time;
    out.push(rec);
  });
  return out;
}

/** The paths of a pack without values (Read-Composite, Observe-Composite request payloads). */
export function resolvePaths(raws: readonly RawRecord[], format: string): Path[] {
  return resolvedNames(raws, format).map(({ path, raw }, i) => {
    if (raw.values.length > 0 || raw.sum) fail(`${format} record ${i}: a path list carries no values`);
    if (raw.bt !== undefined || raw.t !== undefined || raw.bv !== undefined) fail(`${format} record ${i}: a path list carries no times or base values`);
    return path;
  });
}

// ---------------------------------------------------------------------------------------------
// Encoding a pack

/** One record to write, in the label order bn, bt, n, value (Leshan's order). */
export interface PlannedRecord {
  bn?: string;
  bt?: number;
  n?: string;
  value: SenmlValue;
}

export interface SenmlEncodeOptions {
  /**
   * How a composite pack (path null) names its records:
   *  - 'bn': each record (or each run of records sharing a time) carries a base name, as Leshan
   *    writes Read-Composite responses and Send: [{"bn":"/3/0/0","vs":...},{"bn":"/3/0/9","v":95}]
   *  - 'n': no base name, each record's n is its full path, as wakaama writes.
   */
  composite?: 'bn' | 'n';
}

function prefixName(p: Path): string {
  return p.length === 0 ? '/' : pathToString(p) + '/';
}

function commonPrefix(paths: readonly Path[]): Path {
  const first = paths[0]!;
  let n = first.length;
  for (const p of paths) {
    let i = 0;
    while (i < n && i < p.length && p[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n);
}

function checkRecords(records: readonly TimedRecord[], path: RequestPath, format: string): void {
  if (!Array.isArray(records)) fail(`${format}: records must be an array`);
  if (path !== null && (!Array.isArray(path) || path.length > 4 || !path.every(isU16))) fail(`${format}: bad request path`);
  const seen = new Set<string>();
  const resources = new Map<string, number>();
  for (const r of records) {
    const p = r?.path;
    if (!Array.isArray(p) || p.length < 3 || p.length > 4 || !p.every(isU16)) {
      fail(`${format}: record path ${Array.isArray(p) ? pathToString(p) : String(p)} is not a resource or resource instance`);
    }
    if (path && !startsWith(p, path)) fail(`${format}: record ${pathToString(p)} is outside the request path ${pathToString(path)}`);
    if (r.time !== undefined && (typeof r.time !== 'number' || !Number.isFinite(r.time))) fail(`${format}: record ${pathToString(p)} has a bad time`);
    const key = `${pathToString(p)}@${r.time ?? ''}`;
    if (seen.has(key)) fail(`${format}: record ${pathToString(p)} given twice`);
    seen.add(key);
    const resKey = pathToString(p.slice(0, 3));
    const prev = resources.get(resKey);
    if (prev !== undefined && prev !== p.length) fail(`${format}: ${resKey} given both as a value and as instances`);
    resources.set(resKey, p.length);
  }
}

/**
 * Which record carries bn, bt and n.
 *
 * With a request path: records are cut into runs of equal time; the first record of each run
 * carries bn (the request path itself when the record is exactly there, else the request path
 * + '/') and, when the time changes, bt; the others carry n relative to bn. With path null
 * ('bn' style): a record without time is its own run (bn = its path); consecutive records with
 * the same time share a run whose bn is their common prefix + '/' (bn = the path for a run of
 * one). 'n' style: no bn, n is the full path, bt when the time changes.
 */
export function planPack(records: readonly TimedRecord[], path: RequestPath, types: TypeResolver, format: string, options: SenmlEncodeOptions = {}): PlannedRecord[] {
  checkRecords(records, path, format);
  const out: PlannedRecord[] = [];
  let bt: number | undefined; // current base time as the receiver sees it (undefined = 0)
  const value = (r: TimedRecord): SenmlValue => valueToSenml(r.value, types(r.path[0]!, r.path[2]!), `${format} ${pathToString(r.path)}: `);
  const timeOf = (r: TimedRecord): number | undefined => (r.time === 0 ? undefined : r.time);
  // runs of consecutive records
  const runs: TimedRecord[][] = [];
  for (const r of records) {
    const last = runs[runs.length - 1];
    const sameTime = last !== undefined && timeOf(last[0]!) === timeOf(r);
    const joinable = path !== null || options.composite === 'n' || timeOf(r) !== undefined;
    if (last && sameTime && joinable) last.push(r);
    else runs.push([r]);
  }
  for (const run of runs) {
    const t = timeOf(run[0]!);
    const btField = t !== bt ? (t ?? 0) : undefined;
    bt = t;
    if (path === null && options.composite === 'n') {
      run.forEach((r, i) => out.push({ ...(i === 0 && btField !== undefined ? { bt: btField } : {}), n: pathToString(r.path), value: value(r) }));
      continue;
    }
    let base: Path;
    let exact: boolean;
    if (path !== null) {
      base = path;
      exact = run[0]!.path.length === path.length;
    } else if (run.length === 1) {
      base = run[0]!.path;
      exact = true;
    } else {
      base = commonPrefix(run.map((r) => r.path));
      exact = false;
    }
    run.forEach((r, i) => {
      const rec: PlannedRecord = { value: value(r) };
      if (i === 0) {
        rec.bn = exact ? pathToString(base) : prefixName(base);
        if (btField !== undefined) rec.bt = btField;
      }
      if (!exact) rec.n = r.path.slice(base.length).join('/');
      out.push(rec);
    });
  }
  return out;
}

/** A path list (Read-Composite request): one record per path with n only. */
export function planPaths(paths: readonly Path[], format: string): string[] {
  if (!Array.isArray(paths)) fail(`${format}: paths must be an array`);
  return paths.map((p) => {
    if (!Array.isArray(p) || p.length > 4 || !p.every(isU16)) fail(`${format}: bad path ${String(p)}`);
    return p.length === 0 ? '/' : pathToString(p);
  });
}
