import { DecodeError } from '../../bytes/reader.js';
import { DTLS_1_0, DTLS_1_2 } from './constants.js';

/**
 * RFC 6347 §4.1:
 * ```
 * struct {
 *   ContentType type;
 *   ProtocolVersion version;
 *   uint16 epoch;                                     // New field
 *   uint48 sequence_number;                           // New field
 *   uint16 length;
 *   opaque fragment[DTLSPlaintext.length];
 * } DTLSPlaintext;
 * ```
 * DTLSCiphertext has the same header; its fragment is the AEAD output
 * (for CCM: 8-byte explicit nonce ‖ ciphertext ‖ 8-byte tag).
 */
export interface RecordHeader {
  type: number;
  version: number;
  epoch: number;
  sequence: number;
  length: number;
}

export const RECORD_HEADER_LENGTH = 13;
/** RFC 6347 §4.1: 2^14 plaintext plus at most 2048 bytes of expansion. */
export const MAX_CIPHERTEXT_LENGTH = 16384 + 2048;

export interface RawRecord extends RecordHeader {
  /** A view into the datagram (no copy). */
  fragment: Uint8Array;
  /**
   * RFC 9146 §4, a `tls12_cid` record (type 25): the connection ID from its header (a view).
   * Once the record is opened, `type` is the real content type from its DTLSInnerPlaintext.
   */
  cid?: Uint8Array;
}

/** RFC 9146 §4: the tls12_cid content type. */
export const TLS12_CID = 25;

/**
 * Splits a datagram into records. A datagram may carry several records (RFC 6347 §4.1.1);
 * a record whose header or body is cut short ends the datagram (the rest is dropped, as a
 * length error cannot be resynchronised). Records with an unknown version are skipped.
 * RFC 9146 §4 `tls12_cid` records carry a connection ID of `cidLength` bytes (the length we
 * asked our peer to use) before their length field; without one (cidLength 0) such a record
 * cannot be delimited and ends the datagram. Throws DecodeError only when not even the first
 * header is whole.
 */
export function splitRecords(datagram: Uint8Array, cidLength = 0): RawRecord[] {
  const out: RawRecord[] = [];
  const end = datagram.length;
  let off = 0;
  // Read by hand (no Reader): this runs for every datagram received.
  while (end - off >= RECORD_HEADER_LENGTH) {
    const d = datagram;
    const type = d[off]!;
    const version = (d[off + 1]! << 8) | d[off + 2]!;
    const epoch = (d[off + 3]! << 8) | d[off + 4]!;
    const sequence = ((d[off + 5]! << 8) | d[off + 6]!) * 0x1_0000_0000 + (((d[off + 7]! << 24) | (d[off + 8]! << 16) | (d[off + 9]! << 8) | d[off + 10]!) >>> 0);
    let at = off + 11;
    let cid: Uint8Array | undefined;
    if (type === TLS12_CID) {
      if (cidLength === 0 || end - at < cidLength + 2) break;
      cid = d.subarray(at, at + cidLength);
      at += cidLength;
    }
    const length = (d[at]! << 8) | d[at + 1]!;
    const start = at + 2;
    if (length > MAX_CIPHERTEXT_LENGTH || end - start < length) break;
    off = start + length;
    if (version !== DTLS_1_2 && version !== DTLS_1_0) continue;
    const r: RawRecord = { type, version, epoch, sequence, length, fragment: d.subarray(start, off) };
    if (cid) r.cid = cid;
    out.push(r);
  }
  if (out.length === 0 && datagram.length > 0 && datagram.length < RECORD_HEADER_LENGTH) {
    throw new DecodeError(`datagram of ${datagram.length} byte(s) is shorter than a record header`);
  }
  return out;
}

export function writeRecordHeader(out: Uint8Array, at: number, h: RecordHeader): void {
  writeHeader(out, at, h.type, h.version, h.epoch, h.sequence, h.length);
}

export function writeHeader(out: Uint8Array, at: number, type: number, version: number, epoch: number, sequence: number, length: number): void {
  out[at] = type;
  out[at + 1] = version >>> 8;
  out[at + 2] = version & 0xff;
  out[at + 3] = epoch >>> 8;
  out[at + 4] = epoch & 0xff;
  const hi = (sequence / 0x1_0000_0000) >>> 0;
  const lo = sequence >>> 0;
  out[at + 5] = hi >>> 8;
  out[at + 6] = hi & 0xff;
  out[at + 7] = lo >>> 24;
  out[at + 8] = (lo >>> 16) & 0xff;
  out[at + 9] = (lo >>> 8) & 0xff;
  out[at + 10] = lo & 0xff;
  out[at + 11] = length >>> 8;
  out[at + 12] = length & 0xff;
}

export function encodeRecord(h: Omit<RecordHeader, 'length'>, fragment: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_LENGTH + fragment.length);
  writeHeader(out, 0, h.type, h.version, h.epoch, h.sequence, fragment.length);
  out.set(fragment, RECORD_HEADER_LENGTH);
  return out;
}
