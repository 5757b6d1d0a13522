/**
 * OMA LwM2M TLV (application/vnd.oma.lwm2m+tlv, CoAP Content-Format 11542; OMA-TS-LightweightM2M
 * Core 1.2 §7.4.3).
 *
 * Wire shape: a type byte (bits 7-6: 00 Object Instance, 01 Resource Instance, 10 Multiple
 * Resource, 11 Resource with Value; bit 5: 16-bit identifier; bits 4-3: length field of 0-3
 * bytes; bits 2-0: the length itself when bits 4-3 are 00), the identifier, the length, the value.
 * An Object Instance holds Resource / Multiple Resource TLVs, a Multiple Resource holds Resource
 * Instance TLVs; the other two carry a value.
 *
 * The payload's top level depends on the request path, as Leshan and Wakaama write it:
 *  - /O        Object Instance TLVs (bare Resource TLVs are accepted as instance 0, like Leshan);
 *  - /O/I      Resource TLVs (one Object Instance TLV with id I around them is accepted);
 *  - /O/I/R    one Resource or Multiple Resource TLV with id R (or the bare Resource Instance TLVs
 *              of R; an Object Instance TLV with id I around them is tolerated);
 *  - /O/I/R/RI one Resource Instance TLV with id RI (or a Multiple Resource R holding only it).
 * The encoder writes Object Instance TLVs for /O, Resource TLVs for /O/I, one (Multiple) Resource
 * TLV for /O/I/R and one Resource Instance TLV for /O/I/R/RI (Leshan's choices).
 *
 * Values: integer/time are two's complement big-endian of 1, 2, 4 or 8 bytes (the encoder takes
 * the smallest that holds the value, as Leshan and Wakaama do); unsigned is read as an unsigned
 * 1/2/4/8-byte number and written in the smallest length whose top bit stays clear (8 bytes above
 * 2^63-1), so a reader that takes it as signed (Leshan) gets the same number; float is read from 4
 * or 8 bytes and written as 8 (Leshan); boolean is one byte 0/1; objlnk is 2+2 bytes; string and
 * corelnk are strict UTF-8; opaque is raw. Resources the type resolver does not know decode as
 * opaque and encode by the JavaScript type of the value.
 *
 * It re-exports the value helpers of value.ts (int64/uint64 range checks, objlnk checks, type
 * inference, the single-record target of a path) for the callers that took them from here.
 */
import {
  pathToString,
  startsWith,
  type Lwm2mRecord,
  type Path,
  type ResourceDefinition,
  type ResourceType,
  type TypeResolver,
  type Value,
} from '../types.js';

import {
  checkPath,
  decodeUtf8,
  encodeUtf8,
  fail,
  inferType,
  intValue,
  toInt64,
  toObjectLink,
  toUint64,
  toWellFormedString,
  isU16,
  describe,
} from './value.js';

export const TLV_CONTENT_FORMAT = 11542;
export {
  intValue,
  toInt64,
  toUint64,
  isObjectLink,
  toObjectLink,
  parseObjectLink,
  toWellFormedString,
  decodeUtf8,
  encodeUtf8,
  inferType,
  checkPath,
  singleValueTarget,
  singleValueRecord,
} from './value.js';
// ---------------------------------------------------------------------------------------------
// TLV structure

export type TlvKind = 'objectInstance' | 'resourceInstance' | 'multipleResource' | 'resource';
const KINDS: readonly TlvKind[] = ['objectInstance', 'resourceInstance', 'multipleResource', 'resource'];
const KIND_BITS: Record<TlvKind, number> = { objectInstance: 0x00, resourceInstance: 0x40, multipleResource: 0x80, resource: 0xc0 };

export interface TlvHeader {
  kind: TlvKind;
  id: number;
  /** Type byte + identifier + length field. */
  headerLength: number;
  valueLength: number;
}

export type TlvNode =
  | { kind: 'resource' | 'resourceInstance'; id: number; value: Uint8Array }
  | { kind: 'objectInstance' | 'multipleResource'; id: number; children: TlvNode[] };

const MAX_LENGTH = 0xffffff;

/** Reads the header of the TLV at `offset`; throws Lwm2mCodecError when it or its value overruns `end`. */
export function readTlvHeader(buf: Uint8Array, offset = 0, end = buf.length): TlvHeader {
  if (offset + 2 > end) return fail(`TLV: truncated header at offset ${offset}`);
  const t = buf[offset]!;
  let p = offset + 1;
  let id: number;
  if (t & 0x20) {
    if (p + 2 > end) return fail(`TLV: truncated 16-bit identifier at offset ${offset}`);
    id = (buf[p]! << 8) | buf[p + 1]!;
    p += 2;
  } else {
    id = buf[p]!;
    p += 1;
  }
  const lengthBytes = (t >> 3) & 3;
  let valueLength = t & 7;
  if (lengthBytes > 0) {
    if (p + lengthBytes > end) return fail(`TLV: truncated length field at offset ${offset}`);
    valueLength = 0;
    for (let i = 0; i < lengthBytes; i++) valueLength = valueLength * 256 + buf[p++]!;
  }
  if (p + valueLength > end) return fail(`TLV: value of ${valueLength} bytes at offset ${p} overruns the payload (${end - p} left)`);
  return { kind: KINDS[t >> 6]!, id, headerLength: p - offset, valueLength };
}

/**
 * Parses a TLV sequence into a tree, enforcing the nesting rules (an Object Instance holds only
 * Resource / Multiple Resource TLVs, a Multiple Resource only Resource Instance TLVs). Values are
 * views into `buf`.
 */
export function parseTlvs(buf: Uint8Array): TlvNode[] {
  return parseRange(buf, 0, buf.length, undefined);
}

function parseRange(buf: Uint8Array, start: number, end: number, parent: TlvKind | undefined): TlvNode[] {
  const out: TlvNode[] = [];
  let p = start;
  while (p < end) {
    const h = readTlvHeader(buf, p, end);
    const vs = p + h.headerLength;
    const ve = vs + h.valueLength;
    if (parent === 'objectInstance' && h.kind !== 'resource' && h.kind !== 'multipleResource') {
      fail(`TLV: ${h.kind} ${h.id} inside an object instance`);
    }
    if (parent === 'multipleResource' && h.kind !== 'resourceInstance') fail(`TLV: ${h.kind} ${h.id} inside a multiple resource`);
    if (h.kind === 'objectInstance' || h.kind === 'multipleResource') {
      out.push({ kind: h.kind, id: h.id, children: parseRange(buf, vs, ve, h.kind) });
    } else {
      out.push({ kind: h.kind, id: h.id, value: buf.subarray(vs, ve) });
    }
    p = ve;
  }
  return out;
}

/** Serializes TLV trees with the shortest identifier and length fields. */
export function serializeTlvs(nodes: readonly TlvNode[]): Uint8Array {
  const size = (n: TlvNode): number => {
    const len = contentLength(n);
    return headerSize(n.id, len) + len;
  };
  const lengths = new Map<TlvNode, number>();
  const contentLength = (n: TlvNode): number => {
    let len = 0;
    if ('value' in n) len = n.value.length;
    else for (const c of n.children) len += size(c);
    if (len > MAX_LENGTH) fail(`TLV: ${n.kind} ${n.id} is ${len} bytes, more than the 24-bit length allows`);
    lengths.set(n, len);
    return len;
  };
  let total = 0;
  for (const n of nodes) total += size(n);
  const out = new Uint8Array(total);
  let p = 0;
  const write = (n: TlvNode): void => {
    if (!isU16(n.id)) fail(`TLV: identifier ${n.id} is not 16-bit`);
    const len = lengths.get(n)!;
    let t = KIND_BITS[n.kind];
    if (n.id > 0xff) t |= 0x20;
    if (len <= 7) t |= len;
    else if (len <= 0xff) t |= 0x08;
    else if (len <= 0xffff) t |= 0x10;
    else t |= 0x18;
    out[p++] = t;
    if (n.id > 0xff) out[p++] = n.id >> 8;
    out[p++] = n.id & 0xff;
    if (len > 0xffff) out[p++] = len >> 16;
    if (len > 0xff) out[p++] = (len >> 8) & 0xff;
    if (len > 7) out[p++] = len & 0xff;
    if ('value' in n) {
      out.set(n.value, p);
      p += n.value.length;
    } else for (const c of n.children) write(c);
  };
  for (const n of nodes) write(n);
  return out;
}

function headerSize(id: number, len: number): number {
  return 2 + (id > 0xff ? 1 : 0) + (len <= 7 ? 0 : len <= 0xff ? 1 : len <= 0xffff ? 2 : 3);
}

// ---------------------------------------------------------------------------------------------
// TLV values

/** Decodes the value bytes of a Resource / Resource Instance TLV as `type`. */
export function decodeTlvValue(b: Uint8Array, type: ResourceType, where = ''): Value {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (type) {
    case 'string':
    case 'corelnk':
      return decodeUtf8(b, where);
    case 'opaque':
      return b.slice();
    case 'integer':
    case 'time':
    case 'unsigned': {
      if (b.length !== 1 && b.length !== 2 && b.length !== 4 && b.length !== 8) return fail(`${where}${type} of ${b.length} bytes (must be 1, 2, 4 or 8)`);
      let v = 0n;
      for (const x of b) v = (v << 8n) | BigInt(x);
      if (type !== 'unsigned') v = BigInt.asIntN(b.length * 8, v);
      return intValue(v);
    }
    case 'float':
      if (b.length === 4) return dv.getFloat32(0);
      if (b.length === 8) return dv.getFloat64(0);
      return fail(`${where}float of ${b.length} bytes (must be 4 or 8)`);
    case 'boolean':
      if (b.length !== 1 || b[0]! > 1) return fail(`${where}boolean must be one byte 0 or 1`);
      return b[0] === 1;
    case 'objlnk':
      if (b.length !== 4) return fail(`${where}objlnk of ${b.length} bytes (must be 4)`);
      return { objectId: dv.getUint16(0), instanceId: dv.getUint16(2) };
    case 'none':
      return fail(`${where}executable resource has no value`);
  }
}

/** Encodes a value of `type` as the value bytes of a Resource / Resource Instance TLV. */
export function encodeTlvValue(v: Value, type: ResourceType, where = ''): Uint8Array {
  switch (type) {
    case 'string':
    case 'corelnk':
      return encodeUtf8(toWellFormedString(v, where));
    case 'opaque':
      if (!(v instanceof Uint8Array)) return fail(`${where}value ${describe(v)} is not opaque bytes`);
      return v.slice();
    case 'integer':
    case 'time':
      return intBytes(toInt64(v, where), false);
    case 'unsigned':
      return intBytes(toUint64(v, where), true);
    case 'float': {
      if (typeof v !== 'number') return fail(`${where}value ${describe(v)} is not a float`);
      const out = new Uint8Array(8);
      new DataView(out.buffer).setFloat64(0, v);
      return out;
    }
    case 'boolean':
      if (typeof v !== 'boolean') return fail(`${where}value ${describe(v)} is not a boolean`);
      return Uint8Array.of(v ? 1 : 0);
    case 'objlnk': {
      const l = toObjectLink(v, where);
      return Uint8Array.of(l.objectId >> 8, l.objectId & 0xff, l.instanceId >> 8, l.instanceId & 0xff);
    }
    case 'none':
      return fail(`${where}executable resource has no value`);
  }
}

/** Smallest of 1, 2, 4, 8 bytes holding `v` as two's complement (unsigned: 8 bytes above 2^63-1). */
function intBytes(v: bigint, unsigned: boolean): Uint8Array {
  let n = 8;
  for (const k of [1, 2, 4]) {
    const lim = 1n << BigInt(k * 8 - 1);
    if (v >= -lim && v < lim) {
      n = k;
      break;
    }
  }
  const u = unsigned ? v : BigInt.asUintN(n * 8, v);
  const out = new Uint8Array(n);
  for (let i = n - 1, x = u; i >= 0; i--, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Records <-> TLV

/** Decodes a TLV payload for request path `path` into records with full paths. */
export function decodeTlv(payload: Uint8Array, path: Path, types: TypeResolver): Lwm2mRecord[] {
  checkPath(path, 1, 4, 'TLV');
  if (!(payload instanceof Uint8Array)) return fail('TLV: payload is not bytes');
  const nodes = parseTlvs(payload);
  const [o, i, r, ri] = path as [number, number?, number?, number?];
  const out: Lwm2mRecord[] = [];

  if (i === undefined) {
    if (nodes.length > 0 && nodes.every((n) => n.kind === 'resource' || n.kind === 'multipleResource')) {
      decodeInstance(o, 0, nodes, types, out);
      return out;
    }
    const seen = new Set<number>();
    for (const n of nodes) {
      if (n.kind !== 'objectInstance') return fail(`TLV: expected object instances for ${pathToString(path)}, got ${n.kind} ${n.id}`);
      if (seen.has(n.id)) return fail(`TLV: object instance ${n.id} appears twice`);
      seen.add(n.id);
      decodeInstance(o, n.id, n.children, types, out);
    }
    return out;
  }

  let inner = nodes;
  const only = nodes.length === 1 ? nodes[0]! : undefined;
  if (only?.kind === 'objectInstance') {
    if (only.id !== i) return fail(`TLV: object instance ${only.id} in a payload for ${pathToString(path)}`);
    if (ri !== undefined) return fail(`TLV: object instance in a payload for resource instance ${pathToString(path)}`);
    inner = only.children;
  }

  if (r === undefined) {
    decodeInstance(o, i, inner, types, out);
    return out;
  }

  const def = types(o, r);
  if (ri === undefined) {
    if (inner.length === 0) {
      if (def?.multiple) return out;
      return fail(`TLV: empty payload for resource ${pathToString(path)}`);
    }
    const one = inner.length === 1 ? inner[0]! : undefined;
    if (one && (one.kind === 'resource' || one.kind === 'multipleResource')) {
      if (one.id !== r) return fail(`TLV: resource ${one.id} in a payload for ${pathToString(path)}`);
      decodeResource(o, i, one, def, out);
      return out;
    }
    // Bare resource instances of R.
    decodeResource(o, i, { kind: 'multipleResource', id: r, children: inner }, def, out);
    return out;
  }

  // /O/I/R/RI
  let node = only;
  if (node?.kind === 'multipleResource') {
    if (node.id !== r) return fail(`TLV: multiple resource ${node.id} in a payload for ${pathToString(path)}`);
    node = node.children.length === 1 ? node.children[0] : undefined;
  }
  if (node?.kind !== 'resourceInstance') return fail(`TLV: expected one resource instance TLV for ${pathToString(path)}`);
  if (node.id !== ri) return fail(`TLV: resource instance ${node.id} in a payload for ${pathToString(path)}`);
  decodeResource(o, i, { kind: 'multipleResource', id: r, children: [node] }, def, out);
  return out;
}

function decodeInstance(o: number, i: number, nodes: readonly TlvNode[], types: TypeResolver, out: Lwm2mRecord[]): void {
  const seen = new Set<number>();
  for (const n of nodes) {
    if (n.kind !== 'resource' && n.kind !== 'multipleResource') fail(`TLV: expected resources in /${o}/${i}, got ${n.kind} ${n.id}`);
    if (seen.has(n.id)) fail(`TLV: resource /${o}/${i}/${n.id} appears twice`);
    seen.add(n.id);
    decodeResource(o, i, n, types(o, n.id), out);
  }
}

function decodeResource(o: number, i: number, n: TlvNode, def: ResourceDefinition | undefined, out: Lwm2mRecord[]): void {
  const type = def?.type ?? 'opaque';
  const where = `TLV /${o}/${i}/${n.id}: `;
  if ('value' in n) {
    if (n.kind !== 'resource') fail(`${where}resource instance outside a multiple resource`);
    if (def?.multiple) fail(`${where}multiple resource sent as a single resource`);
    out.push({ path: [o, i, n.id], value: decodeTlvValue(n.value, type, where) });
    return;
  }
  if (n.kind !== 'multipleResource') fail(`${where}object instance where a resource belongs`);
  if (def && !def.multiple) fail(`${where}single resource sent as a multiple resource`);
  const seen = new Set<number>();
  for (const c of n.children) {
    if (c.kind !== 'resourceInstance' || !('value' in c)) return fail(`${where}${c.kind} ${c.id} inside a multiple resource`);
    if (seen.has(c.id)) fail(`${where}resource instance ${c.id} appears twice`);
    seen.add(c.id);
    out.push({ path: [o, i, n.id, c.id], value: decodeTlvValue(c.value, type, `TLV /${o}/${i}/${n.id}/${c.id}: `) });
  }
}

interface ResourceGroup {
  id: number;
  single?: Value;
  instances?: Map<number, Value>;
}

/** Encodes records (all at or below `path`) as a TLV payload for request path `path`. */
export function encodeTlv(records: readonly Lwm2mRecord[], path: Path, types: TypeResolver): Uint8Array {
  checkPath(path, 1, 4, 'TLV');
  const o = path[0]!;
  // instance id -> resource id -> group, in first-appearance order.
  const instances = new Map<number, Map<number, ResourceGroup>>();
  for (const rec of records) {
    const p = rec.path;
    if (!Array.isArray(p) || (p.length !== 3 && p.length !== 4) || !p.every(isU16)) {
      fail(`TLV: record path ${Array.isArray(p) ? p.join('/') : String(p)} is not /O/I/R or /O/I/R/RI`);
    }
    if (!startsWith(p, path)) fail(`TLV: record ${pathToString(p)} is not below ${pathToString(path)}`);
    const [, i, r, ri] = p as unknown as [number, number, number, number?];
    let res = instances.get(i);
    if (!res) instances.set(i, (res = new Map()));
    let g = res.get(r);
    if (!g) res.set(r, (g = { id: r }));
    if (ri === undefined) {
      if (g.single !== undefined || g.instances) fail(`TLV: resource ${pathToString(p)} given twice or as both single and multiple`);
      g.single = rec.value;
    } else {
      if (g.single !== undefined) fail(`TLV: resource /${o}/${i}/${r} given as both single and multiple`);
      g.instances ??= new Map();
      if (g.instances.has(ri)) fail(`TLV: resource instance ${pathToString(p)} given twice`);
      g.instances.set(ri, rec.value);
    }
  }

  const resourceNode = (i: number, g: ResourceGroup): TlvNode => {
    const def = types(o, g.id);
    const where = `TLV /${o}/${i}/${g.id}: `;
    if (g.instances) {
      if (def && !def.multiple) fail(`${where}single resource given resource instances`);
      const children: TlvNode[] = [];
      for (const [ri, v] of g.instances) {
        children.push({ kind: 'resourceInstance', id: ri, value: encodeTlvValue(v, def?.type ?? inferType(v), `TLV /${o}/${i}/${g.id}/${ri}: `) });
      }
      return { kind: 'multipleResource', id: g.id, children };
    }
    if (def?.multiple) fail(`${where}multiple resource given a single value`);
    const v = g.single!;
    return { kind: 'resource', id: g.id, value: encodeTlvValue(v, def?.type ?? inferType(v), where) };
  };
  const instanceResources = (i: number): TlvNode[] => [...(instances.get(i)?.values() ?? [])].map((g) => resourceNode(i, g));

  switch (path.length) {
    case 1:
      return serializeTlvs([...instances.keys()].map((i): TlvNode => ({ kind: 'objectInstance', id: i, children: instanceResources(i) })));
    case 2:
      return serializeTlvs(instanceResources(path[1]!));
    case 3: {
      const [, i, r] = path as [number, number, number];
      const g = instances.get(i)?.get(r);
      if (!g) {
        // no value: a Multiple Resource with no instances, the one TLV at a resource path that
        // holds none; also for a resource of unknown type, whose empty Multiple Resource TLV
        // decodes to no records (a single resource always has a value)
        const def = types(o, r);
        if (def === undefined || def.multiple) return serializeTlvs([{ kind: 'multipleResource', id: r, children: [] }]);
        return fail(`TLV: no value for ${pathToString(path)}`);
      }
      return serializeTlvs([resourceNode(i, g)]);
    }
    default: {
      const [, i, r, ri] = path as [number, number, number, number];
      const g = instances.get(i)?.get(r);
      const v = g?.instances?.get(ri);
      if (!g || v === undefined) return fail(`TLV: no value for ${pathToString(path)}`);
      const def = types(o, r);
      if (def && !def.multiple) fail(`TLV ${pathToString(path)}: single resource given resource instances`);
      return serializeTlvs([{ kind: 'resourceInstance', id: ri, value: encodeTlvValue(v, def?.type ?? inferType(v), `TLV ${pathToString(path)}: `) }]);
    }
  }
}

/** The TLV codec (Content-Format 11542). */
export const tlvCodec = {
  contentFormat: TLV_CONTENT_FORMAT,
  decode: decodeTlv,
  encode: encodeTlv,
} as const;
