/**
 * CoAP Content-Formats (RFC 7252 §12.3 registry) used by CoAP and LwM2M: the numbers carried
 * in Content-Format (12) and Accept (17), and their media types.
 */
import { decodeUint, encodeUint } from './message.js';

export const ContentFormat = {
  TextPlain: 0, // RFC 7252
  LinkFormat: 40, // RFC 6690
  Xml: 41, // RFC 3023
  OctetStream: 42, // RFC 2045 (LwM2M "opaque")
  Exi: 47,
  Json: 50, // RFC 8259
  Cbor: 60, // RFC 8949
  SenmlJson: 110, // RFC 8428
  SenmlCbor: 112, // RFC 8428
  Lwm2mTlv: 11542, // OMA LwM2M 1.0+
  Lwm2mJson: 11543, // OMA LwM2M 1.0 (legacy JSON)
  Lwm2mCbor: 11544, // OMA LwM2M 1.2
} as const;
export type ContentFormat = (typeof ContentFormat)[keyof typeof ContentFormat];

/** Media type (with parameters, as registered) of each known Content-Format. */
export const CONTENT_FORMAT_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [ContentFormat.TextPlain, 'text/plain;charset=utf-8'],
  [ContentFormat.LinkFormat, 'application/link-format'],
  [ContentFormat.Xml, 'application/xml'],
  [ContentFormat.OctetStream, 'application/octet-stream'],
  [ContentFormat.Exi, 'application/exi'],
  [ContentFormat.Json, 'application/json'],
  [ContentFormat.Cbor, 'application/cbor'],
  [ContentFormat.SenmlJson, 'application/senml+json'],
  [ContentFormat.SenmlCbor, 'application/senml+cbor'],
  [ContentFormat.Lwm2mTlv, 'application/vnd.oma.lwm2m+tlv'],
  [ContentFormat.Lwm2mJson, 'application/vnd.oma.lwm2m+json'],
  [ContentFormat.Lwm2mCbor, 'application/vnd.oma.lwm2m+cbor'],
]);

const BY_NAME = new Map<string, number>([...CONTENT_FORMAT_NAMES].map(([n, s]) => [s, n]));
BY_NAME.set('text/plain', ContentFormat.TextPlain);

/** The media type of a Content-Format number, or undefined when not in the table. */
export function contentFormatName(format: number): string | undefined {
  return CONTENT_FORMAT_NAMES.get(format);
}

/** The Content-Format of a media type (case and spaces around ';' ignored; "text/plain" alone is 0). */
export function contentFormatFromName(mediaType: string): number | undefined {
  return BY_NAME.get(mediaType.toLowerCase().replace(/\s*;\s*/g, ';').trim());
}

/** The Content-Format / Accept option value (minimal uint; 0 is the empty value). */
export function encodeContentFormat(format: number): Uint8Array {
  if (!Number.isInteger(format) || format < 0 || format > 0xffff) throw new RangeError(`Content-Format ${format} is not 0..65535`);
  return encodeUint(format);
}

/** The number in a Content-Format / Accept value, or undefined when longer than 2 bytes (RFC 7252 §5.10: 0-2). */
export function decodeContentFormat(value: Uint8Array): number | undefined {
  return value.length > 2 ? undefined : decodeUint(value);
}
