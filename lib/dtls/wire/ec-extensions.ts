import { DecodeError, Reader } from '../../bytes/reader.js';
import { Writer } from '../../bytes/writer.js';

/** RFC 8422 §5.1.1 NamedCurve: secp256r1(23). */
export const NamedCurve = { secp256r1: 23 } as const;
/** RFC 8422 §5.1.2 ECPointFormat: uncompressed(0). */
export const EC_POINT_FORMAT_UNCOMPRESSED = 0;
/** RFC 5246 §7.4.1.4.1 SignatureAndHashAlgorithm {sha256(4), ecdsa(3)} = ecdsa_secp256r1_sha256. */
export const ECDSA_SECP256R1_SHA256 = 0x0403;
/** RFC 7250 §3 / IANA TLS Certificate Types: X509(0), RawPublicKey(2). */
export const CertificateType = { X509: 0, RawPublicKey: 2 } as const;
export type CertificateType = (typeof CertificateType)[keyof typeof CertificateType];

/**
 * RFC 8422 §5.1.1: `struct { NamedCurve named_curve_list<2..2^16-1> } NamedCurveList;`
 * (supported_groups) and RFC 5246 §7.4.1.4.1:
 * `SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>;`. Both are lists of uint16.
 */
export function decodeU16List(data: Uint8Array, what: string): number[] {
  const r = new Reader(data);
  const v = r.vec16(what, 2);
  r.end(what);
  if (v.length % 2) throw new DecodeError(`${what}: odd length`);
  const out: number[] = [];
  for (let i = 0; i < v.length; i += 2) out.push((v[i]! << 8) | v[i + 1]!);
  return out;
}
export function encodeU16List(values: readonly number[]): Uint8Array {
  return new Writer(2 + 2 * values.length)
    .vec16((w) => {
      for (const v of values) w.u16(v);
    })
    .finish();
}

/** RFC 8422 §5.1.2: `struct { ECPointFormat ec_point_format_list<1..2^8-1> } ECPointFormatList;` */
export function decodeU8List(data: Uint8Array, what: string): number[] {
  const r = new Reader(data);
  const v = r.vec8(what, 1);
  r.end(what);
  return [...v];
}
export function encodeU8List(values: readonly number[]): Uint8Array {
  return new Writer(1 + values.length)
    .vec8((w) => {
      for (const v of values) w.u8(v);
    })
    .finish();
}

/**
 * RFC 7250 §3: in the ClientHello the extension lists types,
 * `CertificateType client_certificate_types<1..2^8-1>;`, in the ServerHello it names one,
 * `CertificateType client_certificate_type;` (the same for server_certificate_type).
 */
export function decodeCertificateTypeChoice(data: Uint8Array, what: string): number {
  const r = new Reader(data);
  const t = r.u8(what);
  r.end(what);
  return t;
}
