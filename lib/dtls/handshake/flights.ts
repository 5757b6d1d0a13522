import { ContentType, HandshakeType } from '../wire/constants.js';
import { HANDSHAKE_HEADER_LENGTH, encodeHandshakeHeader } from '../wire/handshake.js';
import { RECORD_HEADER_LENGTH } from '../wire/record.js';
import { CCM8_RECORD_OVERHEAD } from '../record/ccm8-cipher.js';
import { CHANGE_CIPHER_SPEC } from '../wire/change-cipher-spec.js';

/**
 * One entry of a flight (RFC 6347 §4.2.4: the flight is the unit of retransmission).
 * A flight is re-serialised on every (re)transmission: records get fresh sequence numbers.
 */
export type FlightItem =
  | { kind: 'handshake'; msgType: number; messageSeq: number; body: Uint8Array; epoch: number }
  | { kind: 'change_cipher_spec'; epoch: number };

/** Makes one record: assigns its sequence number and protects it for its epoch. */
export type RecordSealer = (type: number, epoch: number, payload: Uint8Array) => Uint8Array;

function overhead(epoch: number): number {
  return RECORD_HEADER_LENGTH + (epoch > 0 ? CCM8_RECORD_OVERHEAD : 0);
}

/**
 * Serialises a flight into datagrams of at most `mtu` bytes: records are packed several to a
 * datagram, and a handshake message that cannot fit one datagram is fragmented (RFC 6347
 * §4.2.3). A message that fits a datagram is never fragmented, only moved to the next one.
 */
/** `maxPlaintext`: the peer's record size limit (RFC 8449 / RFC 6066), 2^14 when none was agreed. */
export function packFlight(items: readonly FlightItem[], mtu: number, seal: RecordSealer, maxPlaintext = 16384): Uint8Array[] {
  const datagrams: Uint8Array[] = [];
  let parts: Uint8Array[] = [];
  let used = 0;
  const flush = () => {
    if (parts.length === 0) return;
    const d = new Uint8Array(used);
    let o = 0;
    for (const p of parts) {
      d.set(p, o);
      o += p.length;
    }
    datagrams.push(d);
    parts = [];
    used = 0;
  };
  const push = (rec: Uint8Array) => {
    parts.push(rec);
    used += rec.length;
  };

  for (const item of items) {
    if (item.kind === 'change_cipher_spec') {
      const size = overhead(item.epoch) + 1;
      if (used + size > mtu) flush();
      push(seal(ContentType.change_cipher_spec, item.epoch, CHANGE_CIPHER_SPEC));
      continue;
    }
    const per = overhead(item.epoch) + HANDSHAKE_HEADER_LENGTH;
    const whole = per + item.body.length;
    // A ClientHello always travels whole: a stateless server (RFC 6347 §4.2.1) can only
    // check the cookie of an unfragmented ClientHello, so it may exceed a tiny MTU.
    if ((whole <= mtu && HANDSHAKE_HEADER_LENGTH + item.body.length <= maxPlaintext) || item.msgType === HandshakeType.client_hello) {
      if (used + whole > mtu) flush();
      push(seal(ContentType.handshake, item.epoch, fragment(item, 0, item.body.length)));
      continue;
    }
    let offset = 0;
    while (offset < item.body.length) {
      let room = mtu - used - per;
      if (room < 16) {
        flush();
        room = mtu - per;
      }
      room = Math.min(room, maxPlaintext - HANDSHAKE_HEADER_LENGTH);
      if (room < 1) throw new RangeError(`mtu ${mtu} too small for a handshake fragment`);
      const len = Math.min(room, item.body.length - offset);
      push(seal(ContentType.handshake, item.epoch, fragment(item, offset, len)));
      offset += len;
    }
  }
  flush();
  return datagrams;
}

function fragment(item: Extract<FlightItem, { kind: 'handshake' }>, offset: number, len: number): Uint8Array {
  const out = new Uint8Array(HANDSHAKE_HEADER_LENGTH + len);
  encodeHandshakeHeader(out, 0, item.msgType, item.body.length, item.messageSeq, offset, len);
  out.set(item.body.subarray(offset, offset + len), HANDSHAKE_HEADER_LENGTH);
  return out;
}
