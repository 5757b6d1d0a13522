/**
 * application/octet-stream (CoAP Content-Format 42; OMA-TS-LightweightM2M Core 1.2 §7.4.2): the
 * raw bytes of one opaque resource or resource instance. Resources of any other known type are
 * refused; unknown resources are taken as opaque.
 */
import { Lwm2mCodecError, type Lwm2mRecord, type Path, type TypeResolver } from '../types.js';
import { singleValueRecord, singleValueTarget } from './value.js';

export const OPAQUE_CONTENT_FORMAT = 42;

function target(path: Path, types: TypeResolver): void {
  const def = singleValueTarget(path, types, 'opaque');
  if (def && def.type !== 'opaque') throw new Lwm2mCodecError(`opaque: /${path.join('/')} is a ${def.type} resource, not opaque`);
}

/** Decodes an opaque payload for a resource or resource instance path. */
export function decodeOpaque(payload: Uint8Array, path: Path, types: TypeResolver): Lwm2mRecord[] {
  target(path, types);
  if (!(payload instanceof Uint8Array)) throw new Lwm2mCodecError('opaque: payload is not bytes');
  return [{ path: [...path], value: payload.slice() }];
}

/** Encodes the one opaque record at `path`. */
export function encodeOpaque(records: readonly Lwm2mRecord[], path: Path, types: TypeResolver): Uint8Array {
  target(path, types);
  const v = singleValueRecord(records, path, 'opaque');
  if (!(v instanceof Uint8Array)) throw new Lwm2mCodecError(`opaque: value for /${path.join('/')} is not bytes`);
  return v.slice();
}

/** The opaque codec (Content-Format 42). */
export const opaqueCodec = {
  contentFormat: OPAQUE_CONTENT_FORMAT,
  decode: decodeOpaque,
  encode: encodeOpaque,
} as const;
