import { Reader } from '../../bytes/reader.js';
import { Writer } from '../../bytes/writer.js';

/**
 * RFC 6347 §4.2.1:
 * ```
 * struct {
 *   ProtocolVersion server_version;
 *   opaque cookie<0..2^8-1>;
 * } HelloVerifyRequest;
 * ```
 */
export interface HelloVerifyRequest {
  serverVersion: number;
  cookie: Uint8Array;
}

export function decodeHelloVerifyRequest(body: Uint8Array): HelloVerifyRequest {
  const r = new Reader(body);
  const serverVersion = r.u16('server_version');
  const cookie = r.vec8('cookie', 0, 255);
  r.end('HelloVerifyRequest');
  return { serverVersion, cookie };
}

export function encodeHelloVerifyRequest(hvr: HelloVerifyRequest): Uint8Array {
  return new Writer(3 + hvr.cookie.length)
    .u16(hvr.serverVersion)
    .vec8((w) => w.bytes(hvr.cookie))
    .finish();
}
