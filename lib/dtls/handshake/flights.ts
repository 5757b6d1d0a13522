import type { RetransmissionConfig } from '../config.js';
import { ContentType, HandshakeType } from '../wire/constants.js';
import { HANDSHAKE_HEADER_LENGTH, encodeHandshakeHeader } from '../wire/handshake.js';
import { CHANGE_CIPHER_SPEC } from '../wire/change-cipher-spec.js';
import { wireBuffer } from '../../bytes/wire-chunks.js';

/**
 * One entry of a flight (RFC 6347 §4.2.4: the flight is the unit of retransmission).
 * A flight is re-serialised on every (re)transmission: records get fresh sequence numbers.
 */
export type FlightItem = HandshakeItem | { kind: 'change_cipher_spec'; epoch: number };

/** A whole handshake message of a flight, numbered, in the epoch it is sent in. */
export interface HandshakeItem {
  kind: 'handshake';
  msgType: number;
  messageSeq: number;
  body: Uint8Array;
  epoch: number;
}

/** The record layer as a flight needs it: the overhead of a record per epoch, and sealing. */
export interface FlightRecords {
  /** Bytes a record of `epoch` adds to its plaintext. */
  overhead(epoch: number): number;
  /** One record: assigns its sequence number and protects it for its epoch. */
  protect(type: number, payload: Uint8Array, epoch: number): Uint8Array;
}

/**
 * Serialises a flight into datagrams of at most `mtu` bytes: records are packed several to a
 * datagram, and a handshake message that cannot fit one datagram is fragmented (RFC 6347
 * §4.2.3). A message that fits a datagram is never fragmented, only moved to the next one.
 * `maxPlaintext`: the peer's record size limit (RFC 8449 / RFC 6066), 2^14 when none was agreed.
 */
export function packFlight(items: readonly FlightItem[], mtu: number, records: FlightRecords, maxPlaintext = 16384): Uint8Array[] {
  const datagrams: Uint8Array[] = [];
  let parts: Uint8Array[] = [];
  let used = 0;
  const flush = () => {
    if (parts.length === 0) return;
    if (parts.length === 1) {
      // a datagram of one record is that record: no copy
      datagrams.push(parts[0]!);
      parts = [];
      used = 0;
      return;
    }
    const d = wireBuffer(used);
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
      const size = records.overhead(item.epoch) + 1;
      if (used + size > mtu) flush();
      push(records.protect(ContentType.change_cipher_spec, CHANGE_CIPHER_SPEC, item.epoch));
      continue;
    }
    const per = records.overhead(item.epoch) + HANDSHAKE_HEADER_LENGTH;
    const whole = per + item.body.length;
    // A ClientHello always travels whole: a stateless server (RFC 6347 §4.2.1) can only
    // check the cookie of an unfragmented ClientHello, so it may exceed a tiny MTU.
    if ((whole <= mtu && HANDSHAKE_HEADER_LENGTH + item.body.length <= maxPlaintext) || item.msgType === HandshakeType.client_hello) {
      if (used + whole > mtu) flush();
      push(records.protect(ContentType.handshake, fragment(item, 0, item.body.length), item.epoch));
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
      push(records.protect(ContentType.handshake, fragment(item, offset, len), item.epoch));
      offset += len;
    }
  }
  flush();
  return datagrams;
}

function fragment(item: HandshakeItem, offset: number, len: number): Uint8Array {
  // an epoch-0 message is sent as it is: its plaintext is wire bytes too
  const out = item.epoch === 0 ? wireBuffer(HANDSHAKE_HEADER_LENGTH + len) : new Uint8Array(HANDSHAKE_HEADER_LENGTH + len);
  encodeHandshakeHeader(out, 0, item.msgType, item.body.length, item.messageSeq, offset, len);
  const body = item.body;
  // byte copy, not a view: a view of a small body would move it off the V8 heap
  for (let i = 0; i < len; i++) out[HANDSHAKE_HEADER_LENGTH + i] = body[offset + i]!;
  return out;
}

/**
 * The last flight we sent and its retransmission timer (RFC 6347 §4.2.4): the timer starts at
 * `initialMs` and doubles up to `maxMs`; after `maxRetransmits` the handshake gives up. When
 * the peer repeats the flight we answered, our answer was lost: the flight goes again. After
 * the handshake, the side that sent the last flight keeps it for a while (it lingers) to
 * answer the peer's repeats.
 */
export class LastFlight {
  private flight: FlightItem[] | undefined;
  private timer: { deadline: number; timeoutMs: number; tries: number } | undefined;
  private lingerUntil: number | undefined;
  /** Old messages with message_seq >= this are the peer re-sending the flight we answered. */
  private retransmitFromSeq = 0;
  private peerFlightStart = 0;

  constructor(private readonly r: RetransmissionConfig) {}

  /** The flight to (re)transmit, if any. */
  get items(): readonly FlightItem[] | undefined {
    return this.flight;
  }

  /** Retransmissions of the current flight so far. */
  get tries(): number {
    return this.timer?.tries ?? 0;
  }

  /** A new flight replaces the last; `peerNextSeq` is the message_seq its answer will start at. */
  replace(now: number, items: FlightItem[], expectReply: boolean, peerNextSeq: number): void {
    this.flight = items;
    this.retransmitFromSeq = this.peerFlightStart;
    this.peerFlightStart = peerNextSeq;
    this.timer = expectReply ? { deadline: now + this.r.initialMs, timeoutMs: this.r.initialMs, tries: 0 } : undefined;
  }

  /** What is due at `now`: re-send the flight, give up (no answer after the last try), or nothing. */
  due(now: number): 'resend' | 'give-up' | undefined {
    if (this.lingerUntil !== undefined && now >= this.lingerUntil) this.release();
    const t = this.timer;
    if (!t || now < t.deadline) return undefined;
    if (t.tries >= this.r.maxRetransmits) {
      this.timer = undefined;
      return 'give-up';
    }
    t.tries++;
    t.timeoutMs = Math.min(t.timeoutMs * 2, this.r.maxMs);
    t.deadline = now + t.timeoutMs;
    return 'resend';
  }

  /**
   * The peer sent a handshake message we already processed, with message_seq `seq`: whether it
   * is repeating the flight we answered (so ours was lost). During the handshake that is a
   * message of that flight only: older flights are ignored, and so are the messages of the
   * flight the peer is sending now that we already took (it re-sends it because we have not
   * answered it yet; it has our flight, or it would not be sending this one). Answering those
   * with our flight made two peers answer each other's repeats without end while one of them
   * waited for a message it held only in part. After the handshake, any repeat is answered
   * with the lingering flight.
   */
  peerRepeats(seq: number, established: boolean): boolean {
    return !!this.flight && (established || (seq >= this.retransmitFromSeq && seq < this.peerFlightStart));
  }

  /** The handshake is over: no more timer; the flight lingers (`lingerMs`) or goes. */
  settle(now: number, lingerMs: number | undefined): void {
    this.timer = undefined;
    if (lingerMs === undefined) this.release();
    else this.lingerUntil = now + lingerMs;
  }

  /** Forgets the flight (the peer has it: it talks in the new epoch) and every timer. */
  release(): void {
    this.flight = undefined;
    this.timer = undefined;
    this.lingerUntil = undefined;
  }

  /** The flight lingering after the handshake (no timer running), and until when; else undefined. */
  get lingering(): { items: readonly FlightItem[]; until: number } | undefined {
    return this.flight && !this.timer && this.lingerUntil !== undefined ? { items: this.flight, until: this.lingerUntil } : undefined;
  }

  /** Holds no flight and no timer. */
  get empty(): boolean {
    return !this.flight && !this.timer;
  }

  /** A flight lingering until `until`, as settle() leaves it (a hibernated connection waking up). */
  linger(items: FlightItem[], until: number): void {
    this.flight = items;
    this.timer = undefined;
    this.lingerUntil = until;
  }

  /** The earliest deadline (retransmission or end of lingering). */
  deadline(): number | undefined {
    const t = this.timer?.deadline;
    const l = this.lingerUntil;
    if (t === undefined) return l;
    return l === undefined || t < l ? t : l;
  }
}
