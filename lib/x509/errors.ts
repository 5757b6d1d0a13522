/**
 * Why a certificate or a chain was refused. The codes name the TLS alerts (RFC 5246 §7.2.2) a
 * protocol would send, but X.509 knows no protocol: lib/dtls/trust.ts maps them to DtlsError.
 */
export const X509ErrorCode = {
  /** Malformed (DER, fields, extensions), or a signature in the chain does not verify. */
  BAD_CERTIFICATE: 'BAD_CERTIFICATE',
  /** Not usable here: a key type, a signature algorithm, a usage or an unknown critical extension we cannot accept. */
  UNSUPPORTED_CERTIFICATE: 'UNSUPPORTED_CERTIFICATE',
  /** Outside its validity period by the configured clock. */
  CERTIFICATE_EXPIRED: 'CERTIFICATE_EXPIRED',
  /** A valid chain, but not for the expected name. */
  CERTIFICATE_UNKNOWN: 'CERTIFICATE_UNKNOWN',
  /** No path to a trust anchor. */
  UNKNOWN_CA: 'UNKNOWN_CA',
  /** Misuse: no clock, text without a certificate. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
} as const;
export type X509ErrorCode = (typeof X509ErrorCode)[keyof typeof X509ErrorCode];

export class X509Error extends Error {
  override readonly name = 'X509Error';
  constructor(
    readonly code: X509ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
