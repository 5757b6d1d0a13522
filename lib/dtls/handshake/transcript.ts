import type { CryptoProvider, HashState } from '../../crypto/provider.js';
import { encodeHandshakeHeader, HANDSHAKE_HEADER_LENGTH } from '../wire/handshake.js';

/**
 * The running handshake hash. RFC 6347 §4.2.6: each message is hashed as if it had been sent
 * unfragmented (fragment_offset 0, fragment_length = length), including message_seq; the
 * first ClientHello and the HelloVerifyRequest are left out.
 */
export class Transcript {
  private readonly h: HashState;
  constructor(c: CryptoProvider) {
    this.h = c.createSha256();
  }
  add(msgType: number, messageSeq: number, body: Uint8Array): void {
    const hdr = new Uint8Array(HANDSHAKE_HEADER_LENGTH);
    encodeHandshakeHeader(hdr, 0, msgType, body.length, messageSeq, 0, body.length);
    this.h.update(hdr).update(body);
  }
  /** Hash of everything added so far. */
  hash(): Uint8Array {
    return this.h.digest();
  }
}
