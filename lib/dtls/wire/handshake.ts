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

/** A fragment's header as readFragment() reads it in place, and where its bytes are. */
export interface FragmentAt {
  msgType: number;
  length: number;
  messageSeq: number;
  fragmentOffset: number;
  /** The record plaintext the fragment is in; its fragment_length bytes start at bodyAt. */
  data: Uint8Array;
  bodyAt: number;
  bodyLength: number;
}

/**
 * Reads the fragment at `at` of a record's plaintext into `f`, with nothing made (a server reads
 * a few per handshake; objects of their own would be garbage to collect); checks that its header
 * and bytes are whole and that it lies within its message. Returns where the next one starts.
 */
export function readFragment(data: Uint8Array, at: number, f: FragmentAt): number {
  const r = new Reader(data, at);
  f.msgType = r.u8('msg_type');
  const length = (f.length = r.u24('length'));
  f.messageSeq = r.u16('message_seq');
  const offset = (f.fragmentOffset = r.u24('fragment_offset'));
  const n = r.u24('fragment_length');
  if (offset + n > length) throw new DecodeError(`handshake fragment ${offset}+${n} exceeds message length ${length}`);
  f.data = data;
  f.bodyAt = r.offset;
  f.bodyLength = n;
  r.skip(n, 'handshake fragment');
  return r.offset;
}

/** A fresh FragmentAt to read into. */
export function fragmentAt(): FragmentAt {
  return { msgType: 0, length: 0, messageSeq: 0, fragmentOffset: 0, data: new Uint8Array(0), bodyAt: 0, bodyLength: 0 };
}

/** Parses every handshake fragment in one record's plaintext. */
export function decodeHandshakeFragments(data: Uint8Array): HandshakeFragment[] {
  const out: HandshakeFragment[] = [];
  const f = fragmentAt();
  for (let at = 0; at < data.length; ) {
    at = readFragment(data, at, f);
    out.push({ msgType: f.msgType, length: f.length, messageSeq: f.messageSeq, fragmentOffset: f.fragmentOffset, body: data.subarray(f.bodyAt, at) });
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
