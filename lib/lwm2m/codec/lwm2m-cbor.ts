/**
 * LwM2M CBOR (application/vnd.oma.lwm2m+cbor, CoAP Content-Format 11544; OMA-TS-LightweightM2M
 * Core 1.2 §7.4.7): nested CBOR maps whose keys are path segments, either one id (an unsigned
 * integer) or several (an array of unsigned integers), whose leaves are resource or
 * resource-instance values:
 *
 *   {[3, 0]: {0: "Open Mobile Alliance", 6: {0: 1, 1: 5}, 13: 1367491215}, [1, 0, 1]: 86400}
 *
 * Values: integer/unsigned/time as integers (time also under tag 1), float as a float (an
 * integer is accepted), boolean, string and corelnk as text, opaque as a byte string, objlnk
 * as "O:I" text. Read: any well-formed CBOR (definite or indefinite maps, as Anjay writes
 * them), any key split, keys in any order; refused: other key types, paths deeper than
 * /O/I/R/RI, values above resource level, maps at resource-instance level, null and other
 * non-values, the same path twice, a resource given both as a value and as instances.
 *
 * Written as the specification's examples: one top-level entry per maximal chain of
 * single-child path segments from the root (an array key, or an integer for one segment),
 * then one nested map per level, definite lengths, records' order kept.
 */
import { Lwm2mCodecError, pathToString, startsWith, type Lwm2mRecord, type Path, type TypeResolver } from '../types.js';
import { CborError, CborFloat, CborTag, decodeCbor, encodeCbor, type CborItem, type CborMap } from './cbor.js';
import { cborNum } from './senml-cbor.js';
import { senmlToValue, valueToSenml, type RequestPath, type SenmlValue, type TimedRecord } from './senml.js';
import { fail } from './value.js';

export const LWM2M_CBOR_CONTENT_FORMAT = 11544;
const FORMAT = 'LwM2M CBOR';

function isId(x: CborItem): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 65535;
}

function keyIds(k: CborItem, at: Path): number[] {
  if (isId(k)) return [k];
  if (Array.isArray(k) && k.length > 0 && k.every(isId)) return k as number[];
  return fail(`${FORMAT} ${pathToString(at)}: a key must be a path id (0..65535) or a non-empty array of them`);
}

function itemToSenml(x: CborItem, objlnk: boolean, where: string): SenmlValue {
  if (typeof x === 'string') return objlnk ? { f: 'vlo', s: x } : { f: 'vs', s: x };
  if (typeof x === 'boolean') return { f: 'vb', b: x };
  if (x instanceof Uint8Array) return { f: 'vd', d: x };
  if (typeof x === 'number' || typeof x === 'bigint' || x instanceof CborFloat || x instanceof CborTag) return { f: 'v', num: cborNum(x, where) };
  return fail(`${where}: ${x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x} is not a resource value`);
}

/** Decodes an LwM2M CBOR payload; `path` is the request path (null for a composite operation). */
export function decodeLwm2mCbor(payload: Uint8Array, path: RequestPath, types: TypeResolver): Lwm2mRecord[] {
  if (!(payload instanceof Uint8Array)) return fail(`${FORMAT}: payload is not bytes`);
  if (payload.length === 0) return [];
  let root: CborItem;
  try {
    root = decodeCbor(payload, { floats: 'wrap', maxDepth: 16 });
  } catch (e) {
    if (e instanceof CborError) return fail(`${FORMAT}: ${e.message}`);
    throw e;
  }
  if (!(root instanceof Map)) return fail(`${FORMAT}: the payload is a CBOR map`);
  const out: Lwm2mRecord[] = [];
  const seen = new Set<string>();
  const resources = new Map<string, number>();
  const walk = (m: CborMap, prefix: Path): void => {
    for (const [k, v] of m) {
      const p = [...prefix, ...keyIds(k, prefix)];
      const where = `${FORMAT} ${pathToString(p)}`;
      if (p.length > 4) fail(`${where}: deeper than /O/I/R/RI`);
      if (v instanceof Map) {
        if (p.length === 4) fail(`${where}: a resource instance has no children`);
        walk(v, p);
        continue;
      }
      if (p.length < 3) fail(`${where}: a value above resource level`);
      if (path && !startsWith(p, path)) fail(`${where}: is outside the request path ${pathToString(path)}`);
      const def = types(p[0]!, p[2]!);
      if (def) {
        if (def.multiple && p.length === 3) fail(`${where}: is a multiple resource: values go to its instances`);
        if (!def.multiple && p.length === 4) fail(`${where}: is an instance of a single resource`);
      }
      const key = pathToString(p);
      if (seen.has(key)) fail(`${where}: given twice`);
      seen.add(key);
      const resKey = pathToString(p.slice(0, 3));
      const prev = resources.get(resKey);
      if (prev !== undefined && prev !== p.length) fail(`${where}: resource given both as a value and as instances`);
      resources.set(resKey, p.length);
      out.push({ path: p, value: senmlToValue(itemToSenml(v, def?.type === 'objlnk', where), def, `${where}: `) });
    }
  };
  walk(root, []);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing

interface Node {
  children: Map<number, Node>;
  value?: CborItem;
}

function valueItem(v: SenmlValue): CborItem {
  switch (v.f) {
    case 'v':
      return v.num.k === 'int' ? v.num.v : v.num.k === 'float' ? new CborFloat(v.num.v) : new CborFloat(Number(`${v.num.m}e${v.num.e}`));
    case 'vs':
    case 'vlo':
      return v.s;
    case 'vb':
      return v.b;
    case 'vd':
      return v.d;
  }
}

function nodeItem(n: Node): CborItem {
  if (n.value !== undefined) return n.value;
  const m: CborMap = new Map();
  for (const [id, c] of n.children) m.set(id, nodeItem(c));
  return m;
}

/** Encodes records (full resource / resource-instance paths under `path`) as LwM2M CBOR. */
export function encodeLwm2mCbor(records: readonly TimedRecord[], path: RequestPath, types: TypeResolver): Uint8Array {
  if (!Array.isArray(records)) return fail(`${FORMAT}: records must be an array`);
  const root: Node = { children: new Map() };
  for (const r of records) {
    const p: Path = r?.path;
    if (!Array.isArray(p) || p.length < 3 || p.length > 4 || !p.every((x: unknown) => isId(x as CborItem))) {
      fail(`${FORMAT}: record path ${Array.isArray(p) ? pathToString(p as Path) : String(p)} is not a resource or resource instance`);
    }
    const where = `${FORMAT} ${pathToString(p)}`;
    if (path && !startsWith(p, path)) fail(`${where}: is outside the request path ${pathToString(path)}`);
    if (r.time !== undefined) fail(`${where}: LwM2M CBOR has no timestamps`);
    const def = types(p[0]!, p[2]!);
    if (def) {
      if (def.multiple && p.length === 3) fail(`${where}: is a multiple resource: values go to its instances`);
      if (!def.multiple && p.length === 4) fail(`${where}: is an instance of a single resource`);
    }
    let node = root;
    p.forEach((id, i) => {
      let c = node.children.get(id);
      if (!c) {
        if (node.value !== undefined) fail(`${where}: resource given both as a value and as instances`);
        c = { children: new Map() };
        node.children.set(id, c);
      } else if (i === p.length - 1) {
        fail(`${where}: ${c.value !== undefined ? 'given twice' : 'resource given both as a value and as instances'}`);
      }
      node = c;
    });
    node.value = valueItem(valueToSenml(r.value, def, `${where}: `));
  }
  const top: CborMap = new Map();
  for (const [id, child] of root.children) {
    const ids = [id];
    let n = child;
    while (n.value === undefined && n.children.size === 1) {
      const [[cid, c]] = [...n.children] as [[number, Node]];
      ids.push(cid);
      n = c;
    }
    top.set(ids.length === 1 ? id : ids, nodeItem(n));
  }
  try {
    return encodeCbor(top);
  } catch (e) {
    if (e instanceof CborError) throw new Lwm2mCodecError(`${FORMAT}: ${e.message}`);
    throw e;
  }
}

/** The LwM2M CBOR codec (Content-Format 11544). */
export const lwm2mCborCodec = {
  contentFormat: LWM2M_CBOR_CONTENT_FORMAT,
  decode: decodeLwm2mCbor,
  encode: encodeLwm2mCbor,
} as const;
