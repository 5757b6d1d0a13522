import { Reader } from '../../bytes/reader.js';
import { wireBuffer } from '../../bytes/wire-chunks.js';
import { Writer } from '../../bytes/writer.js';
import { decodeExtensions, encodeExtensions, type Extension } from './extensions.js';

/**
 * RFC 5246 §7.4.1.3:
 * ```
 * struct {
 *   ProtocolVersion server_version;
 *   Random random;
 *   SessionID session_id;
 *   CipherSuite cipher_suite;
 *   CompressionMethod compression_method;
 *   select (extensions_present) {
 *     case false: struct {};
 *     case true:  Extension extensions<0..2^16-1>;
 *   };
 * } ServerHello;
 * ```
 */
export interface ServerHello {
  serverVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuite: number;
  compressionMethod: number;
  extensions: Extension[];
}

export function decodeServerHello(body: Uint8Array): ServerHello {
  const r = new Reader(body);
  const serverVersion = r.u16('server_version');
  const random = r.bytes(32, 'random');
  const sessionId = r.vec8('session_id', 0, 32);
  const cipherSuite = r.u16('cipher_suite');
  const compressionMethod = r.u8('compression_method');
  const extensions = decodeExtensions(r);
  r.end('ServerHello');
  return { serverVersion, random, sessionId, cipherSuite, compressionMethod, extensions };
}

/** One writer for every ServerHello (made at the first): its bytes are copied out at once. */
let scratch: Writer | undefined;

/** The ServerHello's body, in a wire chunk (lib/bytes/wire-chunks.ts): no buffer of its own. */
export function encodeServerHello(sh: ServerHello): Uint8Array {
  const w = (scratch ??= new Writer(128));
  w.wipe();
  w.u16(sh.serverVersion).bytes(sh.random);
  w.vec8((w) => w.bytes(sh.sessionId));
  w.u16(sh.cipherSuite).u8(sh.compressionMethod);
  encodeExtensions(w, sh.extensions);
  const v = w.written(), out = wireBuffer(v.length);
  out.set(v);
  return out;
}
