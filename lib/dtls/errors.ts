import { AlertDescription, alertName } from './wire/constants.js';

/**
 * Every failure the engine reports. Each code maps to at most one alert (the single
 * error -> alert mapping, in the spirit of rustls's error module); codes without an alert
 * are local conditions (timeouts) or reactions to the peer's own alert.
 */
export const DtlsErrorCode = {
  /** The peer sent a fatal alert; `alert` says which. */
  PEER_ALERT: 'PEER_ALERT',
  /** No answer after the last retransmission (RFC 6347 §4.2.4). */
  HANDSHAKE_TIMEOUT: 'HANDSHAKE_TIMEOUT',
  /** No record from the peer within the idle timeout. */
  IDLE_TIMEOUT: 'IDLE_TIMEOUT',
  /** A handshake record of the new epoch failed authentication: in practice, a wrong key. */
  BAD_RECORD_MAC: 'BAD_RECORD_MAC',
  /** The peer's Finished verify_data did not match. */
  DECRYPT_ERROR: 'DECRYPT_ERROR',
  DECODE_ERROR: 'DECODE_ERROR',
  UNEXPECTED_MESSAGE: 'UNEXPECTED_MESSAGE',
  ILLEGAL_PARAMETER: 'ILLEGAL_PARAMETER',
  /** No cipher suite, version or compression method in common. */
  HANDSHAKE_FAILURE: 'HANDSHAKE_FAILURE',
  PROTOCOL_VERSION: 'PROTOCOL_VERSION',
  /** The peer does not support a required extension (extended master secret). */
  INSUFFICIENT_SECURITY: 'INSUFFICIENT_SECURITY',
  /** The handshake state held more than its memory cap. */
  RESOURCE_LIMIT: 'RESOURCE_LIMIT',
  /** The peer's certificate or raw public key is malformed. */
  BAD_CERTIFICATE: 'BAD_CERTIFICATE',
  /** A key type or usage we cannot accept. */
  UNSUPPORTED_CERTIFICATE: 'UNSUPPORTED_CERTIFICATE',
  /** Outside its validity period (by the configured clock). */
  CERTIFICATE_EXPIRED: 'CERTIFICATE_EXPIRED',
  /** Not trusted: an untrusted raw public key, or a certificate for another name. */
  CERTIFICATE_UNKNOWN: 'CERTIFICATE_UNKNOWN',
  /** The chain does not lead to a configured trust anchor. */
  UNKNOWN_CA: 'UNKNOWN_CA',
  /** A signature (ServerKeyExchange, CertificateVerify) did not verify. */
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** The server requires a client certificate and got none. */
  CLIENT_AUTH_REQUIRED: 'CLIENT_AUTH_REQUIRED',
  /** The session was replaced by a new handshake from the same address (RFC 6347 §4.2.8). */
  REPLACED: 'REPLACED',
  /** An operation on a closed or failed connection. */
  CLOSED: 'CLOSED',
  /** Misuse of the API (bad option, oversized record). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  INTERNAL: 'INTERNAL',
} as const;
export type DtlsErrorCode = (typeof DtlsErrorCode)[keyof typeof DtlsErrorCode];

const ALERT_FOR: Partial<Record<DtlsErrorCode, number>> = {
  BAD_RECORD_MAC: AlertDescription.bad_record_mac,
  DECRYPT_ERROR: AlertDescription.decrypt_error,
  DECODE_ERROR: AlertDescription.decode_error,
  UNEXPECTED_MESSAGE: AlertDescription.unexpected_message,
  ILLEGAL_PARAMETER: AlertDescription.illegal_parameter,
  HANDSHAKE_FAILURE: AlertDescription.handshake_failure,
  PROTOCOL_VERSION: AlertDescription.protocol_version,
  INSUFFICIENT_SECURITY: AlertDescription.insufficient_security,
  RESOURCE_LIMIT: AlertDescription.internal_error,
  BAD_CERTIFICATE: AlertDescription.bad_certificate,
  UNSUPPORTED_CERTIFICATE: AlertDescription.unsupported_certificate,
  CERTIFICATE_EXPIRED: AlertDescription.certificate_expired,
  CERTIFICATE_UNKNOWN: AlertDescription.certificate_unknown,
  UNKNOWN_CA: AlertDescription.unknown_ca,
  BAD_SIGNATURE: AlertDescription.decrypt_error,
  CLIENT_AUTH_REQUIRED: AlertDescription.handshake_failure,
  INTERNAL: AlertDescription.internal_error,
};

export class DtlsError extends Error {
  override readonly name = 'DtlsError';
  /** For PEER_ALERT: the alert the peer sent; otherwise the alert we sent, if any. */
  readonly alert: number | undefined;
  constructor(
    readonly code: DtlsErrorCode,
    message: string,
    alert?: number,
  ) {
    super(message);
    this.alert = alert ?? ALERT_FOR[code];
  }

  static peerAlert(description: number): DtlsError {
    return new DtlsError('PEER_ALERT', `peer sent fatal alert ${alertName(description)} (${description})`, description);
  }
}

/** The alert to send for a local error, if any (never for PEER_ALERT or timeouts). */
export function alertFor(e: DtlsError): number | undefined {
  return e.code === 'PEER_ALERT' ? undefined : ALERT_FOR[e.code];
}
