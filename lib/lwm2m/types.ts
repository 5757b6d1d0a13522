/**
 * The LwM2M data model shared by every codec and the object model (OMA-TS-LightweightM2M-Core
 * 1.2 §7.1 data types). Content is handled as a flat list of records, one per resource or
 * resource instance (the SenML view); TLV and LwM2M CBOR nest on the wire but decode to the
 * same records.
 */

export type ResourceType = 'string' | 'integer' | 'unsigned' | 'float' | 'boolean' | 'opaque' | 'time' | 'objlnk' | 'corelnk' | 'none';

/** Objlnk: "ObjectID:InstanceID", both uint16. */
export interface ObjectLink {
  objectId: number;
  instanceId: number;
}

/**
 * A resource value. integer/unsigned are numbers when exact, bigint beyond 2^53; time is
 * seconds since the epoch (number); opaque is bytes; corelnk is the link-format string.
 */
export type Value = string | number | bigint | boolean | Uint8Array | ObjectLink;

/** /O, /O/I, /O/I/R or /O/I/R/RI. */
export type Path = readonly number[];

export interface Lwm2mRecord {
  /** Full path of a resource (3 elements) or resource instance (4). */
  path: Path;
  value: Value;
}

export interface ResourceDefinition {
  id: number;
  name: string;
  type: ResourceType;
  /** Multiple-instance resource. */
  multiple: boolean;
  /** R, W, RW, E or '' (none). */
  operations: 'R' | 'W' | 'RW' | 'E' | '';
  mandatory: boolean;
}

export interface ObjectDefinition {
  id: number;
  name: string;
  /** Multiple object instances allowed. */
  multiple: boolean;
  mandatory: boolean;
  resources: ResourceDefinition[];
}

/** What codecs need from the object model: the type of a resource (undefined: unknown). */
export type TypeResolver = (objectId: number, resourceId: number) => ResourceDefinition | undefined;

export function pathToString(p: Path): string {
  return '/' + p.join('/');
}

/** "/3/0/1" -> [3, 0, 1]; throws Lwm2mPathError on anything else (ids 0..65535, 1..4 levels). */
export function parsePath(s: string): Path {
  if (s === '/' || s === '') return [];
  const all = s.split('/');
  const parts = all.filter((x, i) => !(i === 0 && x === '') && !(x === '' && i === all.length - 1));
  if (parts.length > 4) throw new Lwm2mPathError(`path ${s} is deeper than /O/I/R/RI`);
  return parts.map((x) => {
    if (!/^\d{1,5}$/.test(x) || Number(x) > 65535) throw new Lwm2mPathError(`bad path segment "${x}" in ${s}`);
    return Number(x);
  });
}

export class Lwm2mPathError extends Error {
  override readonly name = 'Lwm2mPathError';
}

/** A codec's complaint about a payload: the server answers 4.00 and writes nothing. */
export class Lwm2mCodecError extends Error {
  override readonly name = 'Lwm2mCodecError';
}

/** True when `p` is `prefix` or below it. */
export function startsWith(p: Path, prefix: Path): boolean {
  if (prefix.length > p.length) return false;
  for (let i = 0; i < prefix.length; i++) if (p[i] !== prefix[i]) return false;
  return true;
}
