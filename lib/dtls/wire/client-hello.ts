import { DecodeError, Reader } from '../../bytes/reader.js';
import { Writer } from '../../bytes/writer.js';
import { decodeExtensions, encodeExtensions, type Extension } from './extensions.js';

/**
 * RFC 6347 §4.2.1 / RFC 5246 §7.4.1.2:
 * ```
 * struct {
 *   ProtocolVersion client_version;
 *   Random random;
 *   SessionID session_id;
 *   opaque cookie<0..2^8-1>;                             // New field
 *   CipherSuite cipher_suites<2..2^16-1>;
 *   CompressionMethod compression_methods<1..2^8-1>;
 *   select (extensions_present) {
 *     case false: struct {};
 *     case true:  Extension extensions<0..2^16-1>;
 *   };
 * } ClientHello;
 * ```
 */
export interface ClientHello {
  clientVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cookie: Uint8Array;
  cipherSuites: number[];
  compressionMethods: Uint8Array;
  extensions: Extension[];
}

export function decodeClientHello(body: Uint8Array): ClientHello {
  const r = new Reader(body);
  const clientVersion = r.u16('client_version');
  const random = r.bytes(32, 'random');
  const sessionId = r.vec8('session_id', 0, 32);
  const cookie = r.vec8('cookie', 0, 255);
  const suites = r.vec16('cipher_suites', 2);
  if (suites.length % 2 !== 0) throw new DecodeError('cipher_suites: odd length');
  const cipherSuites: number[] = [];
  for (let i = 0; i < suites.length; i += 2) cipherSuites.push((suites[i]! << 8) | suites[i + 1]!);
  const compressionMethods = r.vec8('compression_methods', 1);
  const extensions = decodeExtensions(r);
  r.end('ClientHello');
  return { clientVersion, random, sessionId, cookie, cipherSuites, compressionMethods, extensions };
}

export function encodeClientHello(ch: ClientHello): Uint8Array {
  const w = new Writer(128);
  w.u16(ch.clientVersion).bytes(ch.random);
  w.vec8((w) => w.bytes(ch.sessionId));
  w.vec8((w) => w.bytes(ch.cookie));
  w.vec16((w) => {
    for (const s of ch.cipherSuites) w.u16(s);
  });
  w.vec8((w) => w.bytes(ch.compressionMethods));
  encodeExtensions(w, ch.extensions);
  return w.finish();
}
