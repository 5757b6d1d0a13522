import { DecodeError, Reader } from '../../bytes/reader.js';
import { Writer } from '../../bytes/writer.js';
import { CertificateType } from './ec-extensions.js';

/**
 * RFC 5246 §7.4.2 and RFC 7250 §3:
 * ```
 * opaque ASN.1Cert<1..2^24-1>;
 * struct {
 *   select (certificate_type) {
 *     // certificate type defined in this document.
 *     case RawPublicKey:
 *       opaque ASN.1_subjectPublicKeyInfo<1..2^24-1>;
 *     // X.509 certificate defined in RFC 5246
 *     case X.509:
 *       ASN.1Cert certificate_list<0..2^24-1>;
 *   };
 * } Certificate;
 * ```
 */
export type CertificateMessage =
  | { type: typeof CertificateType.RawPublicKey; spki: Uint8Array }
  | { type: typeof CertificateType.X509; chain: Uint8Array[] };

const MAX_CHAIN = 10;

export function decodeCertificate(body: Uint8Array, type: number): CertificateMessage {
  const r = new Reader(body);
  const len = r.u24('certificate length');
  const block = r.bytes(len, 'certificate');
  r.end('Certificate');
  if (type === CertificateType.RawPublicKey) {
    if (len === 0) throw new DecodeError('empty raw public key');
    return { type: CertificateType.RawPublicKey, spki: block };
  }
  if (type !== CertificateType.X509) throw new DecodeError(`unsupported certificate type ${type}`);
  const cr = new Reader(block);
  const chain: Uint8Array[] = [];
  while (cr.remaining > 0) {
    const n = cr.u24('ASN.1Cert length');
    if (n === 0) throw new DecodeError('empty ASN.1Cert');
    chain.push(cr.bytes(n, 'ASN.1Cert'));
    if (chain.length > MAX_CHAIN) throw new DecodeError(`certificate chain longer than ${MAX_CHAIN}`);
  }
  return { type: CertificateType.X509, chain };
}

export function encodeCertificate(m: CertificateMessage): Uint8Array {
  const w = new Writer(512);
  if (m.type === CertificateType.RawPublicKey) return w.vec24((w) => w.bytes(m.spki)).finish();
  return w
    .vec24((w) => {
      for (const c of m.chain) w.vec24((w) => w.bytes(c));
    })
    .finish();
}
