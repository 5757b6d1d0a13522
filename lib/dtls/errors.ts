import { AlertDescription, alertName } from './wire/constants.js';

/**
 * Every failure the engine reports. Each code maps to at most one alert, in one table
 * (ALERT_FOR below, in the spirit of rustls's error module): no other place chooses an alert.
 * Codes without an alert are local conditions (timeouts, API misuse) or reactions to the
 * peer's own alert.
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
  /** The peer answered with an extension we did not offer (RFC 5246 §7.4.1.4). */
  UNSUPPORTED_EXTENSION: 'UNSUPPORTED_EXTENSION',
  /** No cipher suite, version or compression method in common. */
  HANDSHAKE_FAILURE: 'HANDSHAKE_FAILURE',
  PROTOCOL_VERSION: 'PROTOCOL_VERSION',
  /** The peer does not support a required extension (extended master secret). */
  INSUFFICIENT_SECURITY: 'INSUFFICIENT_SECURITY',
  /** The handshake state held more than its memory cap. */
  RESOURCE_LIMIT: 'RESOURCE_LIMIT',
  /**
   * The key store failed: a lookup (PSK identity, raw public key, certificate authorization)
   * threw or rejected, so the handshake cannot go on. Distinct from an unknown identity,
   * which looks like a wrong key on the wire. The cause is in `cause`.
   */
  KEY_STORE_FAILURE: 'KEY_STORE_FAILURE',
  /** The peer's certificate or raw public key is malformed. */
  BAD_CERTIFICATE: 'BAD_CERTIFICATE',
  /** A key type, certificate type or usage we cannot accept. */
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
  /** A stalled handshake (its peer silent longest) made room for a new one when the slots were full. */
  EVICTED: 'EVICTED',
  /** The session was replaced by a new handshake from the same address (RFC 6347 §4.2.8). */
  REPLACED: 'REPLACED',
  /**
   * Another process on the session store took the session over (its write won the store's
   * compare-and-set): it ended here without an alert, and goes on there.
   */
  TAKEN_OVER: 'TAKEN_OVER',
  /** An operation on a closed or failed connection. */
  CLOSED: 'CLOSED',
  /** An application record larger than the session can send (its MTU or the peer's record size limit): that send fails, the session goes on. */
  RECORD_TOO_LARGE: 'RECORD_TOO_LARGE',
  /** Misuse of the API (a bad option or argument). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  INTERNAL: 'INTERNAL',
} as const;
export type DtlsErrorCode = (typeof DtlsErrorCode)[keyof typeof DtlsErrorCode];

/**
 * The one error -> alert table (RFC 5246 §7.2.2, RFC 6347 §4.1.2.7). A code absent here sends
 * no alert: timeouts (the peer is gone), REPLACED/CLOSED/INVALID_ARGUMENT (local), PEER_ALERT
 * (the peer already ended it).
 */
export const ALERT_FOR: Readonly<Partial<Record<DtlsErrorCode, number>>> = {
  BAD_RECORD_MAC: AlertDescription.bad_record_mac,
  DECRYPT_ERROR: AlertDescription.decrypt_error,
  DECODE_ERROR: AlertDescription.decode_error,
  UNEXPECTED_MESSAGE: AlertDescription.unexpected_message,
  ILLEGAL_PARAMETER: AlertDescription.illegal_parameter,
  UNSUPPORTED_EXTENSION: AlertDescription.unsupported_extension,
  HANDSHAKE_FAILURE: AlertDescription.handshake_failure,
  PROTOCOL_VERSION: AlertDescription.protocol_version,
  INSUFFICIENT_SECURITY: AlertDescription.insufficient_security,
  RESOURCE_LIMIT: AlertDescription.internal_error,
  KEY_STORE_FAILURE: AlertDescription.internal_error,
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
  /** For PEER_ALERT: the alert the peer sent; otherwise the alert we send for this error, if any. */
  readonly alert: number | undefined;
  constructor(
    readonly code: DtlsErrorCode,
    message: string,
    options?: { cause?: unknown; /** PEER_ALERT: the alert the peer sent. */ received?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.alert = code === 'PEER_ALERT' ? options?.received : ALERT_FOR[code];
  }

  /** The peer's fatal alert, as an error (the only alert not chosen by the table: it is the peer's). */
  static peerAlert(description: number): DtlsError {
    return new DtlsError('PEER_ALERT', `peer sent fatal alert ${alertName(description)} (${description})`, { received: description });
  }
}

/** The alert to send for a local error, if any (never for PEER_ALERT or timeouts). */
export function alertFor(e: DtlsError): number | undefined {
  return e.code === 'PEER_ALERT' ? undefined : ALERT_FOR[e.code];
}
