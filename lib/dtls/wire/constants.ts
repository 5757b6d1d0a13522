/** Registry values used on the wire (RFC 5246, RFC 6347, IANA TLS registries). */

/** enum { change_cipher_spec(20), alert(21), handshake(22), application_data(23), (255) } ContentType; */
export const ContentType = {
  change_cipher_spec: 20,
  alert: 21,
  handshake: 22,
  application_data: 23,
  /** RFC 9146 §4: a protected record carrying a connection ID; the real type is inside. */
  tls12_cid: 25,
} as const;
export type ContentType = (typeof ContentType)[keyof typeof ContentType];

/**
 * enum { hello_request(0), client_hello(1), server_hello(2), hello_verify_request(3),
 *        new_session_ticket(4) (RFC 5077 §3.3), ... } HandshakeType;
 */
export const HandshakeType = {
  hello_request: 0,
  client_hello: 1,
  server_hello: 2,
  hello_verify_request: 3,
  new_session_ticket: 4,
  certificate: 11,
  server_key_exchange: 12,
  certificate_request: 13,
  server_hello_done: 14,
  certificate_verify: 15,
  client_key_exchange: 16,
  finished: 20,
} as const;
export type HandshakeType = (typeof HandshakeType)[keyof typeof HandshakeType];

/** ProtocolVersion: DTLS 1.0 is {254, 255}, DTLS 1.2 is {254, 253}. */
export const DTLS_1_0 = 0xfeff;
export const DTLS_1_2 = 0xfefd;

export const CipherSuite = {
  TLS_PSK_WITH_AES_128_CCM_8: 0xc0a8,
  TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8: 0xc0ae,
  /** RFC 5746 signalling value. */
  TLS_EMPTY_RENEGOTIATION_INFO_SCSV: 0x00ff,
} as const;

export const ExtensionType = {
  server_name: 0,
  max_fragment_length: 1,
  supported_groups: 10,
  ec_point_formats: 11,
  signature_algorithms: 13,
  client_certificate_type: 19,
  server_certificate_type: 20,
  encrypt_then_mac: 22,
  extended_master_secret: 23,
  record_size_limit: 28,
  session_ticket: 35,
  /** RFC 9146 §3 (the draft's 53 is not used). */
  connection_id: 54,
  renegotiation_info: 0xff01,
} as const;

/** enum { warning(1), fatal(2), (255) } AlertLevel; */
export const AlertLevel = { warning: 1, fatal: 2 } as const;

/** AlertDescription (RFC 5246 §7.2, RFC 4279, RFC 6347). */
export const AlertDescription = {
  close_notify: 0,
  unexpected_message: 10,
  bad_record_mac: 20,
  record_overflow: 22,
  handshake_failure: 40,
  bad_certificate: 42,
  unsupported_certificate: 43,
  certificate_expired: 45,
  certificate_unknown: 46,
  illegal_parameter: 47,
  unknown_ca: 48,
  access_denied: 49,
  decode_error: 50,
  decrypt_error: 51,
  protocol_version: 70,
  insufficient_security: 71,
  internal_error: 80,
  user_canceled: 90,
  no_renegotiation: 100,
  unsupported_extension: 110,
  unknown_psk_identity: 115,
} as const;
export type AlertDescription = (typeof AlertDescription)[keyof typeof AlertDescription];

export function alertName(code: number): string {
  for (const [k, v] of Object.entries(AlertDescription)) if (v === code) return k;
  return `alert_${code}`;
}
