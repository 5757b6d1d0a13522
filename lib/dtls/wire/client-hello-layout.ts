/**
 * Where a ClientHello body's fields lie (RFC 6347 §4.2.1; the struct is quoted above
 * decodeClientHello in client-hello.ts), found by walking its length fields, with nothing made:
 * ```
 *   ProtocolVersion client_version;          // at 0
 *   Random random;                           // at 2, 32 bytes
 *   SessionID session_id;                    // <0..32>, its length at 34
 *   opaque cookie<0..2^8-1>;                 // its length at helloCookieAt(body)
 *   CipherSuite cipher_suites<2..2^16-1>;
 *   CompressionMethod compression_methods<1..2^8-1>;   // ends at clientHelloParamsEnd(body)
 *   Extension extensions<0..2^16-1>;         // optional
 * ```
 * A server answers a ClientHello without a cookie with a HelloVerifyRequest, whose cookie covers
 * these bytes (lib/dtls/cookie.ts): it needs no field decoded.
 */

/** The offset of the cookie's length byte (valid once clientHelloParamsEnd accepted the body). */
export function helloCookieAt(body: Uint8Array): number {
  return 35 + body[34]!;
}

/**
 * The end of compression_methods, when `body` is framed as decodeClientHello requires: every
 * length within the body, session_id at most 32 bytes, cipher_suites at least 2 and even,
 * compression_methods at least 1, and the extensions block (if any) ending the body with each
 * extension inside it. -1 otherwise (no error object: a flood of malformed hellos makes nothing).
 * The extensions' contents (a duplicate type, say) are left to the full decode.
 */
export function clientHelloParamsEnd(body: Uint8Array): number {
  const n = body.length;
  if (n < 35 || body[34]! > 32) return -1;
  let at = helloCookieAt(body);
  if (at >= n) return -1;
  at += 1 + body[at]!; // the cookie
  if (at + 2 > n) return -1;
  const suites = (body[at]! << 8) | body[at + 1]!;
  if (suites < 2 || suites % 2 !== 0) return -1;
  at += 2 + suites;
  if (at >= n || body[at] === 0) return -1;
  at += 1 + body[at]!; // compression_methods
  if (at > n) return -1;
  const paramsEnd = at;
  if (at === n) return paramsEnd;
  if (at + 2 > n || at + 2 + ((body[at]! << 8) | body[at + 1]!) !== n) return -1;
  for (at += 2; at < n; at += 4 + ((body[at + 2]! << 8) | body[at + 3]!)) {
    if (n - at < 4) return -1;
  }
  return at === n ? paramsEnd : -1;
}
