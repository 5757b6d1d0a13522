/**
 * SenML CBOR (application/senml+cbor, CoAP Content-Format 112; RFC 8428 §6 as profiled by
 * OMA-TS-LightweightM2M Core 1.2 §7.4.5).
 *
 * Labels: bver -1, bn -2, bt -3, bu -4, bv -5, bs -6, n 0, u 1, v 2, vs 3, vb 4, s 5, t 6,
 * ut 7, vd 8, and LwM2M's text label "vlo" (Objlnk "O:I").
 *
 * Read: any well-formed CBOR (lib/lwm2m/codec/cbor.ts) whose top level is an array of maps;
 * labels in any order; numbers as integers of any width (beyond 2^53 as bigint, bignums too),
 * half/single/double floats, decimal fractions (tag 4, as Leshan writes a BigDecimal bt) and
 * epoch times (tag 1); definite or indefinite lengths (wakaama refuses indefinite arrays; RFC
 * 8949 allows them and Anjay writes them). Unknown text labels ending in '_' are refused,
 * other unknown labels ignored. An empty payload or [] is an empty pack.
 *
 * Written byte for byte as wakaama and Leshan write it: definite lengths, preferred integer
 * heads, maps in the order bn, bt, n, value; integers as integers, float resources as the
 * shortest exact float; a composite pack (path null) names each record by n alone.
 */
import { Lwm2mCodecError, type Path, type TypeResolver } from '../types.js';
import { CborError, CborFloat, CborTag, decodeCbor, encodeCbor, type CborItem, type CborMap } from './cbor.js';
import {
  decNum,
  planPack,
  planPaths,
  resolvePack,
  resolvePaths,
  SENML_VERSION,
  type Num,
  type PlannedRecord,
  type RawRecord,
  type RequestPath,
  type SenmlEncodeOptions,
  type SenmlValue,
  type TimedRecord,
} from './senml.js';
import { fail } from './value.js';

export const SENML_CBOR_CONTENT_FORMAT = 112;
const FORMAT = 'SenML CBOR';

export const SenmlLabel = { bver: -1, bn: -2, bt: -3, bu: -4, bv: -5, bs: -6, n: 0, u: 1, v: 2, vs: 3, vb: 4, s: 5, t: 6, ut: 7, vd: 8, vlo: 'vlo' } as const;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A CBOR number (integer, float, tag 4 decimal fraction, tag 1 epoch time) as an exact Num. */
export function cborNum(x: CborItem, what: string): Num {
  if (typeof x === 'number') {
    // integers decode as number (floats come wrapped, see decode options)
    if (Number.isSafeInteger(x)) return { k: 'int', v: BigInt(x) };
    return { k: 'float', v: x };
  }
  if (typeof x === 'bigint') return { k: 'int', v: x };
  if (x instanceof CborFloat) return { k: 'float', v: x.value };
  if (x instanceof CborTag) {
    if (x.tag === 1) return cborNum(x.value, what);
    if (x.tag === 4 && Array.isArray(x.value) && x.value.length === 2) {
      const [e, m] = x.value;
      if ((typeof e === 'number' || typeof e === 'bigint') && (typeof m === 'number' || typeof m === 'bigint')) {
        const eb = BigInt(e);
        if (eb < -MAX_SAFE || eb > MAX_SAFE) return fail(`${what}: decimal fraction exponent out of range`);
        return decNum(BigInt(m), Number(eb), what);
      }
    }
    return fail(`${what}: tag ${String(x.tag)} is not a number`);
  }
  return fail(`${what}: must be a number`);
}

function parsePack(payload: Uint8Array): RawRecord[] {
  if (!(payload instanceof Uint8Array)) return fail(`${FORMAT}: payload is not bytes`);
  if (payload.length === 0) return [];
  let root: CborItem;
  try {
    root = decodeCbor(payload, { floats: 'wrap', maxDepth: 8 });
  } catch (e) {
    if (e instanceof CborError) return fail(`${FORMAT}: ${e.message}`);
    throw e;
  }
  if (!Array.isArray(root)) return fail(`${FORMAT}: a pack is a CBOR array`);
  return root.map((o, i) => rawRecord(o, i));
}

function rawRecord(o: CborItem, i: number): RawRecord {
  const what = `${FORMAT} record ${i}`;
  if (!(o instanceof Map)) return fail(`${what}: is not a CBOR map`);
  const rec: RawRecord = { values: [], sum: false };
  const str = (k: string, v: CborItem): string => (typeof v === 'string' ? v : fail(`${what}: ${k} must be a text string`));
  const num = (k: string, v: CborItem): Num => cborNum(v, `${what} ${k}`);
  for (const [k, v] of o as CborMap) {
    switch (k) {
      case -1: {
        const n = num('bver', v);
        if (n.k !== 'int' || n.v < 1n || n.v > BigInt(SENML_VERSION)) fail(`${what}: unsupported SenML version`);
        break;
      }
      case -2:
        rec.bn = str('bn', v);
        break;
      case -3:
        rec.bt = num('bt', v);
        break;
      case -4:
        str('bu', v);
        break;
      case -5:
        rec.bv = num('bv', v);
        break;
      case -6:
        num('bs', v);
        break;
      case 0:
        rec.n = str('n', v);
        break;
      case 1:
        str('u', v);
        break;
      case 2:
        rec.values.push({ f: 'v', num: num('v', v) });
        break;
      case 3:
        rec.values.push({ f: 'vs', s: str('vs', v) });
        break;
      case 4:
        if (typeof v !== 'boolean') fail(`${what}: vb must be a boolean`);
        rec.values.push({ f: 'vb', b: v as boolean });
        break;
      case 5:
        num('s', v);
        rec.sum = true;
        break;
      case 6:
        rec.t = num('t', v);
        break;
      case 7:
        num('ut', v);
        break;
      case 8:
        if (!(v instanceof Uint8Array)) fail(`${what}: vd must be a byte string`);
        rec.values.push({ f: 'vd', d: v as Uint8Array });
        break;
      case 'vlo':
        rec.values.push({ f: 'vlo', s: str('vlo', v) });
        break;
      default:
        if (typeof k === 'string' && k.endsWith('_')) fail(`${what}: unknown must-understand label "${k.slice(0, 40)}"`);
    }
  }
  return rec;
}

/**
 * Decodes a SenML CBOR pack. `path` is the request path (null for a composite operation);
 * records come back with full paths, typed by `types`, with `time` when the pack gives one.
 */
export function decodeSenmlCbor(payload: Uint8Array, path: RequestPath, types: TypeResolver): TimedRecord[] {
  return resolvePack(parsePack(payload), path, types, FORMAT);
}

/** Decodes a path list (Read-Composite / Observe-Composite request). */
export function decodeSenmlCborPaths(payload: Uint8Array): Path[] {
  return resolvePaths(parsePack(payload), FORMAT);
}

// ---------------------------------------------------------------------------------------------
// Writing

function numItem(n: Num, floatType: boolean): CborItem {
  switch (n.k) {
    case 'int':
      return n.v;
    case 'float':
      return floatType || !Number.isSafeInteger(n.v) || Object.is(n.v, -0) ? new CborFloat(n.v) : n.v;
    case 'dec':
      return new CborFloat(Number(`${n.m}e${n.e}`));
  }
}

function valueEntry(v: SenmlValue): [CborItem, CborItem] {
  switch (v.f) {
    case 'v':
      // a float value stays a float on the wire (f9 4d00 for 20.0), an integer an integer
      return [SenmlLabel.v, numItem(v.num, true)];
    case 'vs':
      return [SenmlLabel.vs, v.s];
    case 'vb':
      return [SenmlLabel.vb, v.b];
    case 'vd':
      return [SenmlLabel.vd, v.d];
    case 'vlo':
      return [SenmlLabel.vlo, v.s];
  }
}

function recordMap(r: PlannedRecord): CborMap {
  const m: CborMap = new Map();
  if (r.bn !== undefined) m.set(SenmlLabel.bn, r.bn);
  if (r.bt !== undefined) m.set(SenmlLabel.bt, numItem({ k: 'float', v: r.bt }, false));
  if (r.n !== undefined) m.set(SenmlLabel.n, r.n);
  const [k, v] = valueEntry(r.value);
  m.set(k, v);
  return m;
}

function encode(item: CborItem): Uint8Array {
  try {
    return encodeCbor(item);
  } catch (e) {
    if (e instanceof CborError) throw new Lwm2mCodecError(`${FORMAT}: ${e.message}`);
    throw e;
  }
}

/**
 * Encodes records as a SenML CBOR pack. `path` is the request path (null: composite, each
 * record named by its full path in n unless `options.composite` is 'bn').
 */
export function encodeSenmlCbor(records: readonly TimedRecord[], path: RequestPath, types: TypeResolver, options: SenmlEncodeOptions = {}): Uint8Array {
  const plan = planPack(records, path, types, FORMAT, { composite: options.composite ?? 'n' });
  return encode(plan.map(recordMap));
}

/** Encodes a path list: [{0: "/3/0/0"}, ...]. */
export function encodeSenmlCborPaths(paths: readonly Path[]): Uint8Array {
  return encode(planPaths(paths, FORMAT).map((n) => new Map<CborItem, CborItem>([[SenmlLabel.n, n]])));
}

/** The SenML CBOR codec (Content-Format 112). */
export const senmlCborCodec = {
  contentFormat: SENML_CBOR_CONTENT_FORMAT,
  decode: decodeSenmlCbor,
  encode: encodeSenmlCbor,
  decodePaths: decodeSenmlCborPaths,
  encodePaths: encodeSenmlCborPaths,
} as const;
