import { Reader } from '../../bytes/reader.js';
import { wireBuffer } from '../../bytes/wire-chunks.js';
import { Writer } from '../../bytes/writer.js';
import { ContentType, DTLS_1_0, HandshakeType } from './constants.js';
import { encodeHandshakeHeader, HANDSHAKE_HEADER_LENGTH } from './handshake.js';
import { RECORD_HEADER_LENGTH, writeHeader } from './record.js';

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

/**
 * The HelloVerifyRequest record a server answers a ClientHello with (RFC 6347 §4.2.1: the
 * ClientHello's record sequence number and message_seq, record version DTLS 1.0, server_version
 * DTLS 1.2), written in one go into a wire chunk: the same bytes as encodeHelloVerifyRequest in
 * encodeHandshake in encodeRecord, without their four arrays (one such record per handshake).
 */
export function helloVerifyRequestRecord(recordSeq: number, messageSeq: number, cookie: Uint8Array): Uint8Array {
  const body = 3 + cookie.length;
  const out = wireBuffer(RECORD_HEADER_LENGTH + HANDSHAKE_HEADER_LENGTH + body);
  writeHeader(out, 0, ContentType.handshake, DTLS_1_0, 0, recordSeq, HANDSHAKE_HEADER_LENGTH + body);
  let o = RECORD_HEADER_LENGTH;
  encodeHandshakeHeader(out, o, HandshakeType.hello_verify_request, body, messageSeq, 0, body);
  o += HANDSHAKE_HEADER_LENGTH;
  out[o++] = 0xfe; // server_version: DTLS 1.2
  out[o++] = 0xfd;
  out[o++] = cookie.length;
  for (let i = 0; i < cookie.length; i++) out[o + i] = cookie[i]!;
  return out;
}
