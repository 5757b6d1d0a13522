import { addRange, covers } from '../byte-ranges.js';
import { wireBuffer } from '../../bytes/wire-chunks.js';
import type { FragmentAt } from '../wire/handshake.js';

/** A whole handshake message, as delivered in message_seq order. */
export interface HandshakeMessage {
  msgType: number;
  messageSeq: number;
  /** The record epoch the message arrived in (all its fragments must agree). */
  epoch: number;
  body: Uint8Array;
}

/** A message being reassembled; once complete, poll() hands it out as it is. */
interface Partial extends HandshakeMessage {
  /**
   * In a wire chunk (lib/bytes/wire-chunks.ts): handshake messages are wire bytes, and a byte
   * array of its own over 64 bytes would be a backing store off the V8 heap, one more for each
   * young-generation collection to sweep.
   */
  body: Uint8Array;
  /** Sorted, disjoint [start, end) ranges received so far; none for a message that came whole. */
  ranges: Array<[number, number]> | undefined;
}

export type FragmentVerdict =
  | 'accepted'
  /** message_seq below the next expected: the peer is retransmitting an older flight. */
  | 'old'
  /** Ignored: too far ahead, inconsistent with earlier fragments, or over the memory cap. */
  | 'dropped';

/**
 * Handshake reassembly (RFC 6347 §4.2.3) for whatever fragmentation the peer chooses:
 * out of order, overlapping, duplicated. Messages are delivered strictly in message_seq
 * order. Total buffered bytes are capped per handshake, and only a small window of future
 * message_seq values is buffered.
 */
export class Reassembler {
  private next: number;
  /**
   * The messages being reassembled, each at its message_seq modulo maxAhead. Only next ..
   * next + maxAhead - 1 are kept, and `next` moves only as its own message leaves (or all are
   * forgotten): a slot holds nothing or the one message of the window that maps to it. (A Map
   * churned by one message in and out at a time reallocated its table as it grew and shrank:
   * ~0.5 KB per server handshake.)
   */
  private slots: Array<Partial | undefined> = [];
  private buffered = 0;

  constructor(
    firstSeq: number,
    private readonly maxBytes: number,
    private readonly maxAhead = 8,
  ) {
    this.next = firstSeq;
  }

  get nextSeq(): number {
    return this.next;
  }

  /** Takes the fragment `f` has read (its bytes are copied: `f` may be read into again). */
  add(f: FragmentAt, epoch = 0): FragmentVerdict {
    if (f.messageSeq < this.next) return 'old';
    if (f.messageSeq >= this.next + this.maxAhead) return 'dropped';
    const at = f.messageSeq % this.maxAhead;
    const start = f.fragmentOffset;
    const end = start + f.bodyLength;
    let p = this.slots[at];
    if (!p) {
      if (f.length > this.maxBytes || this.buffered + f.length > this.maxBytes) return 'dropped';
      // the common case, a message in one fragment, needs no ranges
      p = { msgType: f.msgType, messageSeq: f.messageSeq, epoch, body: wireBuffer(f.length), ranges: start === 0 && end === f.length ? undefined : [] };
      this.slots[at] = p;
      this.buffered += f.length;
    } else if (p.msgType !== f.msgType || p.body.length !== f.length || p.epoch !== epoch) {
      return 'dropped';
    }
    if (end > f.length) return 'dropped';
    // byte copy, not body.set(view): a view of a small plaintext would move it off the V8 heap
    const body = p.body, data = f.data, from = f.bodyAt - start;
    for (let i = start; i < end; i++) body[i] = data[from + i]!;
    if (p.ranges) addRange(p.ranges, start, end);
    return 'accepted';
  }

  /** The next complete message in order, if any. */
  poll(): HandshakeMessage | undefined {
    const at = this.next % this.maxAhead;
    const p = this.slots[at];
    if (!p || (p.ranges && !covers(p.ranges, p.body.length))) return undefined;
    this.slots[at] = undefined;
    this.buffered -= p.body.length;
    this.next++;
    return p;
  }

  /**
   * Forgets every message not yet delivered. After we re-send our flight, the peer's answer
   * comes again whole; a peer that answers with a new flight under the same message_seq
   * numbers (tinydtls, after losing part of its first one) must not have its messages mixed
   * with the old flight's buffered ones.
   */
  discardPending(): void {
    this.slots = [];
    this.buffered = 0;
  }

  /** Takes back the delivery of message `seq` (a stale one) and forgets what followed it. */
  rewind(seq: number): void {
    this.discardPending();
    this.next = seq;
  }

  /** Bytes currently held for incomplete or future messages. */
  get bufferedBytes(): number {
    return this.buffered;
  }
}
