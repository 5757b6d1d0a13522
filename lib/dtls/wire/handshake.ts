import { DecodeError, Reader } from '../../bytes/reader.js';

/**
 * RFC 6347 §4.2.2:
 * ```
 * struct {
 *   HandshakeType msg_type;
 *   uint24 length;
 *   uint16 message_seq;                               // New field
 *   uint24 fragment_offset;                           // New field
 *   uint24 fragment_length;                           // New field
 *   select (HandshakeType) { ... } body;
 * } Handshake;
 * ```
 */
export interface HandshakeFragment {
  msgType: number;
  length: number;
  messageSeq: number;
  fragmentOffset: number;
  /** A view of fragment_length bytes. */
  body: Uint8Array;
}

export const HANDSHAKE_HEADER_LENGTH = 12;

/** Parses every handshake fragment in one record's plaintext. */
export function decodeHandshakeFragments(data: Uint8Array): HandshakeFragment[] {
  const r = new Reader(data);
  const out: HandshakeFragment[] = [];
  while (r.remaining > 0) {
    const msgType = r.u8('msg_type');
    const length = r.u24('length');
    const messageSeq = r.u16('message_seq');
    const fragmentOffset = r.u24('fragment_offset');
    const fragmentLength = r.u24('fragment_length');
    if (fragmentOffset + fragmentLength > length) {
      throw new DecodeError(`handshake fragment ${fragmentOffset}+${fragmentLength} exceeds message length ${length}`);
    }
    const body = r.bytes(fragmentLength, 'handshake fragment');
    out.push({ msgType, length, messageSeq, fragmentOffset, body });
  }
  return out;
}

export function encodeHandshakeHeader(
  out: Uint8Array,
  at: number,
  msgType: number,
  length: number,
  messageSeq: number,
  fragmentOffset: number,
  fragmentLength: number,
): void {
  out[at] = msgType;
  out[at + 1] = length >>> 16;
  out[at + 2] = (length >>> 8) & 0xff;
  out[at + 3] = length & 0xff;
  out[at + 4] = messageSeq >>> 8;
  out[at + 5] = messageSeq & 0xff;
  out[at + 6] = fragmentOffset >>> 16;
  out[at + 7] = (fragmentOffset >>> 8) & 0xff;
  out[at + 8] = fragmentOffset & 0xff;
  out[at + 9] = fragmentLength >>> 16;
  out[at + 10] = (fragmentLength >>> 8) & 0xff;
  out[at + 11] = fragmentLength & 0xff;
}

/** A whole (unfragmented) handshake message: header with offset 0 and fragment_length = length. */
export function encodeHandshake(msgType: number, messageSeq: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HANDSHAKE_HEADER_LENGTH + body.length);
  encodeHandshakeHeader(out, 0, msgType, body.length, messageSeq, 0, body.length);
  out.set(body, HANDSHAKE_HEADER_LENGTH);
  return out;
}
