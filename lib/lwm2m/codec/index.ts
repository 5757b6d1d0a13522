import { Code } from '../../coap/message.js';
import { ContentFormat } from '../../coap/content-format.js';
import { Lwm2mError } from '../errors.js';
import type { Lwm2mRecord, Path, TypeResolver } from '../types.js';
import { cborSingleCodec } from './cbor-single.js';
import { lwm2mCborCodec } from './lwm2m-cbor.js';
import { lwm2mJsonCodec } from './lwm2m-json.js';
import { opaqueCodec } from './opaque.js';
import { senmlCborCodec } from './senml-cbor.js';
import { senmlJsonCodec } from './senml-json.js';
import { textCodec } from './text.js';
import { tlvCodec } from './tlv.js';

/** Every LwM2M content format codec has this shape (Lwm2mCodecError on bad input). */
export interface Lwm2mCodec {
  decode(payload: Uint8Array, path: Path, types: TypeResolver): Lwm2mRecord[];
  encode(records: readonly Lwm2mRecord[], path: Path, types: TypeResolver): Uint8Array;
}

const CODECS = new Map<number, Lwm2mCodec>([
  [ContentFormat.TextPlain, textCodec],
  [ContentFormat.OctetStream, opaqueCodec],
  [ContentFormat.Cbor, cborSingleCodec],
  [ContentFormat.SenmlJson, senmlJsonCodec],
  [ContentFormat.SenmlCbor, senmlCborCodec],
  [ContentFormat.Lwm2mTlv, tlvCodec],
  [ContentFormat.Lwm2mCbor, lwm2mCborCodec],
  [ContentFormat.Lwm2mJson, lwm2mJsonCodec],
]);

export const SUPPORTED_FORMATS = [...CODECS.keys()];

export function codecFor(contentFormat: number): Lwm2mCodec | undefined {
  return CODECS.get(contentFormat);
}

/** Decodes a request or response body; an absent Content-Format means TLV (LwM2M 1.0 default). */
export function decodeContent(contentFormat: number | undefined, payload: Uint8Array, path: Path, types: TypeResolver): Lwm2mRecord[] {
  const cf = contentFormat ?? ContentFormat.Lwm2mTlv;
  const c = CODECS.get(cf);
  if (!c) throw new Lwm2mError(Code.UnsupportedContentFormat, `content format ${cf} is not supported`);
  return c.decode(payload, path, types);
}

export function encodeContent(contentFormat: number, records: readonly Lwm2mRecord[], path: Path, types: TypeResolver): Uint8Array {
  const c = CODECS.get(contentFormat);
  if (!c) throw new Lwm2mError(Code.NotAcceptable, `content format ${contentFormat} is not supported`);
  return c.encode(records, path, types);
}

/**
 * The format of a Read response: the requested one (4.06 if unsupported or unfit), else plain
 * text for a single resource value, else SenML CBOR (LwM2M 1.1 default for multiple values).
 */
export function preferredFormat(accept: number | undefined, path: Path, records: readonly Lwm2mRecord[]): number {
  if (accept !== undefined) {
    if (!CODECS.has(accept)) throw new Lwm2mError(Code.NotAcceptable, `content format ${accept} is not supported`);
    const single = accept === ContentFormat.TextPlain || accept === ContentFormat.OctetStream || accept === ContentFormat.Cbor;
    if (single && (path.length < 3 || records.length !== 1)) throw new Lwm2mError(Code.NotAcceptable, `content format ${accept} carries one value only`);
    return accept;
  }
  return path.length >= 3 && records.length === 1 && records[0]!.path.length === path.length ? ContentFormat.TextPlain : ContentFormat.SenmlCbor;
}
