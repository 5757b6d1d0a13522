import { Code } from '../../coap/message.js';
import { ContentFormat } from '../../coap/content-format.js';
import { Lwm2mError } from '../errors.js';
import type { Lwm2mRecord, Path, TypeResolver } from '../types.js';
import type { TimedRecord } from './senml.js';
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

// ---------------------------------------------------------------------------------------------
// Composite operations (OMA-TS-LightweightM2M-Core 1.1 §5.4.6/§5.4.7, Send §5.4.3): packs of
// records under no request path, and the path lists of Read-Composite and Observe-Composite.

interface CompositeCodec {
  decode(payload: Uint8Array, path: null, types: TypeResolver): TimedRecord[];
  encode(records: readonly TimedRecord[], path: null, types: TypeResolver): Uint8Array;
  decodePaths?(payload: Uint8Array): Path[];
  encodePaths?(paths: readonly Path[]): Uint8Array;
}

const COMPOSITE = new Map<number, CompositeCodec>([
  [ContentFormat.SenmlCbor, senmlCborCodec],
  [ContentFormat.SenmlJson, senmlJsonCodec],
  [ContentFormat.Lwm2mCbor, lwm2mCborCodec],
]);

/** Formats a composite pack of values may take (SenML CBOR and JSON, LwM2M CBOR). */
export const COMPOSITE_FORMATS = [...COMPOSITE.keys()];
/** Formats a path list may take (SenML CBOR and JSON). */
export const PATH_LIST_FORMATS = [ContentFormat.SenmlCbor, ContentFormat.SenmlJson];

function compositeCodec(cf: number | undefined, code: number): CompositeCodec {
  const c = cf === undefined ? undefined : COMPOSITE.get(cf);
  if (!c) throw new Lwm2mError(code, `content format ${cf ?? '(none)'} does not carry composite content (SenML CBOR 112, SenML JSON 110, LwM2M CBOR 11544)`);
  return c;
}

/** Decodes a composite pack (Write-Composite, Send, Read-Composite answers): 4.15 for another format. */
export function decodeComposite(contentFormat: number | undefined, payload: Uint8Array, types: TypeResolver): TimedRecord[] {
  return compositeCodec(contentFormat, Code.UnsupportedContentFormat).decode(payload, null, types);
}

/** Encodes a composite pack: 4.06 for a format that has none. */
export function encodeComposite(contentFormat: number, records: readonly TimedRecord[], types: TypeResolver): Uint8Array {
  return compositeCodec(contentFormat, Code.NotAcceptable).encode(records, null, types);
}

/** Decodes the path list of a Read-Composite or Observe-Composite (4.15 for another format). */
export function decodePathList(contentFormat: number | undefined, payload: Uint8Array): Path[] {
  const c = compositeCodec(contentFormat, Code.UnsupportedContentFormat);
  if (!c.decodePaths) throw new Lwm2mError(Code.UnsupportedContentFormat, `content format ${contentFormat} carries no path list`);
  return c.decodePaths(payload);
}

export function encodePathList(contentFormat: number, paths: readonly Path[]): Uint8Array {
  const c = compositeCodec(contentFormat, Code.NotAcceptable);
  if (!c.encodePaths) throw new Lwm2mError(Code.NotAcceptable, `content format ${contentFormat} carries no path list`);
  return c.encodePaths(paths);
}
