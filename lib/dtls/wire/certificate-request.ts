import { DecodeError, Reader } from '../../bytes/reader.js';
import { Writer } from '../../bytes/writer.js';

/** RFC 8422 §5.5 ClientCertificateType ecdsa_sign(64). */
export const CLIENT_CERTIFICATE_TYPE_ECDSA_SIGN = 64;

/**
 * RFC 5246 §7.4.4:
 * ```
 * struct {
 *   ClientCertificateType certificate_types<1..2^8-1>;
 *   SignatureAndHashAlgorithm supported_signature_algorithms<2^16-1>;
 *   DistinguishedName certificate_authorities<0..2^16-1>;
 * } CertificateRequest;
 * opaque DistinguishedName<1..2^16-1>;
 * ```
 */
export interface CertificateRequest {
  certificateTypes: number[];
  signatureAlgorithms: number[];
  /** DER Names, opaque to us. */
  certificateAuthorities: Uint8Array[];
}

export function decodeCertificateRequest(body: Uint8Array): CertificateRequest {
  const r = new Reader(body);
  const certificateTypes = [...r.vec8('certificate_types', 1)];
  const algs = r.vec16('supported_signature_algorithms', 2);
  if (algs.length % 2) throw new DecodeError('supported_signature_algorithms: odd length');
  const signatureAlgorithms: number[] = [];
  for (let i = 0; i < algs.length; i += 2) signatureAlgorithms.push((algs[i]! << 8) | algs[i + 1]!);
  const cas = new Reader(r.vec16('certificate_authorities'));
  const certificateAuthorities: Uint8Array[] = [];
  while (cas.remaining > 0) certificateAuthorities.push(cas.vec16('DistinguishedName', 1));
  r.end('CertificateRequest');
  return { certificateTypes, signatureAlgorithms, certificateAuthorities };
}

export function encodeCertificateRequest(m: CertificateRequest): Uint8Array {
  const w = new Writer(64);
  w.vec8((w) => {
    for (const t of m.certificateTypes) w.u8(t);
  });
  w.vec16((w) => {
    for (const a of m.signatureAlgorithms) w.u16(a);
  });
  w.vec16((w) => {
    for (const n of m.certificateAuthorities) w.vec16((w) => w.bytes(n));
  });
  return w.finish();
}
