import type { CryptoProvider, HashState } from '../../crypto/provider.js';
import { encodeHandshakeHeader, HANDSHAKE_HEADER_LENGTH } from '../wire/handshake.js';

/** The header hashed before each message: one for every transcript (the hash copies what it takes). */
const HEADER = new Uint8Array(HANDSHAKE_HEADER_LENGTH);

/**
 * The running handshake hash. RFC 6347 §4.2.6: each message is hashed as if it had been sent
 * unfragmented (fragment_offset 0, fragment_length = length), including message_seq; the
 * first ClientHello and the HelloVerifyRequest are left out.
 */
export class Transcript {
  private readonly h: HashState;
  /** The messages themselves, kept only when a CertificateVerify must sign them. */
  private kept: Uint8Array[] | undefined;
  constructor(c: CryptoProvider, keepMessages = false) {
    this.h = c.createSha256();
    if (keepMessages) this.kept = [];
  }
  add(msgType: number, messageSeq: number, body: Uint8Array): void {
    const hdr = HEADER;
    encodeHandshakeHeader(hdr, 0, msgType, body.length, messageSeq, 0, body.length);
    this.h.update(hdr).update(body);
    if (this.kept) this.kept.push(hdr.slice(), body.slice());
  }
  /** RFC 5246 §7.4.8 handshake_messages: everything so far, for a CertificateVerify. */
  messages(): Uint8Array {
    if (!this.kept) throw new Error('transcript does not keep messages');
    let n = 0;
    for (const k of this.kept) n += k.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const k of this.kept) {
      out.set(k, o);
      o += k.length;
    }
    return out;
  }
  /** Stops keeping messages (after the CertificateVerify). */
  dropMessages(): void {
    this.kept = undefined;
  }
  /** Hash of everything added so far. */
  hash(): Uint8Array {
    return this.h.digest();
  }
}
