import { Reader } from '../../bytes/reader.js';

/**
 * RFC 9146 §3, the `connection_id` extension (54) of the ClientHello and ServerHello:
 * ```
 * struct {
 *     opaque cid<0..2^8-1>;
 * } ConnectionId;
 * ```
 * Each side names the CID it wants to RECEIVE in the other's records; an empty one means "I
 * will send a CID if you ask for one, but do not need to receive one".
 */
export function decodeConnectionId(data: Uint8Array): Uint8Array {
  const r = new Reader(data);
  const cid = r.vec8('cid');
  r.end('ConnectionId');
  return cid;
}

export function encodeConnectionId(cid: Uint8Array): Uint8Array {
  if (cid.length > 255) throw new RangeError('a connection ID is at most 255 bytes');
  const out = new Uint8Array(1 + cid.length);
  out[0] = cid.length;
  out.set(cid, 1);
  return out;
}
