import { TimerQueue } from '../dtls/timer-queue.js';
import { CoapFormatError, decodeMessage, encodeMessage, resetForFormatError } from './codec.js';
import type { TransmissionParameters } from './config.js';
import { MessageType, type CoapMessage } from './message.js';

/** What the message layer reports upward. P is the transport's peer handle. */
export type MessageEvent<P> =
  /** A new CON or NON (duplicates are absorbed here), or a separate response. */
  | { type: 'message'; peer: P; message: CoapMessage }
  /** Our CON was acknowledged; `ack` may carry a piggybacked response. */
  | { type: 'acked'; peer: P; messageId: number; ack: CoapMessage }
  /** Our CON or NON was answered with RST. */
  | { type: 'reset'; peer: P; messageId: number }
  /** Our CON got no ACK after MAX_RETRANSMIT retransmissions. */
  | { type: 'failed'; peer: P; messageId: number };

interface Pending<P> {
  peer: P;
  messageId: number;
  bytes: Uint8Array;
  tries: number;
  timeoutMs: number;
  deadline: number | undefined;
}

interface Seen {
  expires: number;
  /** The ACK or RST we answered it with, re-sent for duplicates. */
  answer?: Uint8Array;
}

interface PeerState<P> {
  peer: P;
  nextMid: number;
  /** Outstanding CONs by message ID. */
  pending: Map<number, Pending<P>>;
  /** CONs waiting for NSTART. */
  queued: Array<Pending<P>>;
  /** Received message IDs (deduplication, RFC 7252 §4.5). */
  seen: Map<number, Seen>;
  /** Message IDs we used recently (not reused within EXCHANGE_LIFETIME). */
  used: Map<number, number>;
}

/**
 * The CoAP message layer (RFC 7252 §4): message IDs per peer (random start, never reused
 * within EXCHANGE_LIFETIME), CON retransmission with randomized, doubling timeouts, ACK and
 * RST matching, deduplication (a duplicate CON gets the same answer and goes no further),
 * NSTART, and RST/silence for malformed messages (§4.2, §4.3). Sans-IO.
 */
export class MessageLayer<P> {
  private readonly peers = new Map<P, PeerState<P>>();
  private readonly timers: TimerQueue<Pending<P>>;
  private readonly out: Array<{ peer: P; data: Uint8Array }> = [];
  private readonly events: Array<MessageEvent<P>> = [];
  private nextSweep = 0;
  readonly stats = { malformed: 0, duplicates: 0, retransmissions: 0 };

  constructor(
    private readonly params: TransmissionParameters,
    private readonly random: () => number = Math.random,
  ) {
    this.timers = new TimerQueue(
      (p) => (this.peers.get(p.peer)?.pending.get(p.messageId) === p ? p.deadline : undefined),
      () => this.pendingCount(),
    );
  }

  private pendingCount(): number {
    let n = 0;
    for (const s of this.peers.values()) n += s.pending.size;
    return n;
  }

  private state(peer: P): PeerState<P> {
    let s = this.peers.get(peer);
    if (!s) {
      s = { peer, nextMid: Math.floor(this.random() * 0x10000), pending: new Map(), queued: [], seen: new Map(), used: new Map() };
      this.peers.set(peer, s);
    }
    return s;
  }

  /** A fresh message ID for this peer, not used within EXCHANGE_LIFETIME. */
  allocateMessageId(now: number, peer: P): number {
    const s = this.state(peer);
    for (let i = 0; i < 0x10000; i++) {
      const mid = s.nextMid;
      s.nextMid = (s.nextMid + 1) & 0xffff;
      const until = s.used.get(mid);
      if (until === undefined || until <= now) {
        s.used.set(mid, now + this.params.exchangeLifetimeMs);
        return mid;
      }
    }
    throw new RangeError('all 65536 message IDs are in use for this peer');
  }

  /**
   * Sends a message. CONs are retransmitted until ACK/RST (at most NSTART outstanding per
   * peer; more wait in a queue). The message's messageId must come from allocateMessageId
   * (or be the request's, for an ACK/RST).
   */
  send(now: number, peer: P, m: CoapMessage): void {
    const bytes = encodeMessage(m);
    if (m.type !== MessageType.CON) {
      this.out.push({ peer, data: bytes });
      return;
    }
    const s = this.state(peer);
    const p: Pending<P> = { peer, messageId: m.messageId, bytes, tries: 0, timeoutMs: 0, deadline: undefined };
    if (s.pending.size >= this.params.nstart) {
      s.queued.push(p);
      return;
    }
    this.start(now, s, p);
  }

  private start(now: number, s: PeerState<P>, p: Pending<P>): void {
    // RFC 7252 §4.2: initial timeout random in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]
    const t = this.params.ackTimeoutMs * (1 + this.random() * (this.params.ackRandomFactor - 1));
    p.timeoutMs = t;
    p.deadline = now + t;
    s.pending.set(p.messageId, p);
    this.timers.schedule(p, p.deadline);
    this.out.push({ peer: p.peer, data: p.bytes });
  }

  /** Stops retransmitting a CON (e.g. its exchange was cancelled). */
  cancel(now: number, peer: P, messageId: number): void {
    const s = this.peers.get(peer);
    if (!s) return;
    if (s.pending.delete(messageId)) this.next(now, s);
    s.queued = s.queued.filter((q) => q.messageId !== messageId);
  }

  private next(now: number, s: PeerState<P>): void {
    while (s.pending.size < this.params.nstart && s.queued.length > 0) this.start(now, s, s.queued.shift()!);
  }

  /** Answers a received CON with this ACK (piggybacked response or empty) or RST, and remembers it for duplicates. */
  answer(now: number, peer: P, m: CoapMessage): void {
    const bytes = encodeMessage(m);
    const seen = this.state(peer).seen.get(m.messageId);
    if (seen) seen.answer = bytes;
    this.out.push({ peer, data: bytes });
  }

  /** Whether a received CON has been answered (ACK or RST) already. */
  answered(peer: P, messageId: number): boolean {
    return this.peers.get(peer)?.seen.get(messageId)?.answer !== undefined;
  }

  handleDatagram(now: number, peer: P, data: Uint8Array): void {
    let m: CoapMessage;
    try {
      m = decodeMessage(data);
    } catch (e) {
      this.stats.malformed++;
      // RFC 7252 §4.2/§4.3: a malformed CON is answered with RST (when its header is readable
      // and of version 1); anything else malformed is silently ignored.
      const rst = e instanceof CoapFormatError ? resetForFormatError(e) : undefined;
      if (rst) this.out.push({ peer, data: encodeMessage(rst) });
      return;
    }
    this.sweep(now); // first: the sweep drops empty peer states, so take ours after it
    const s = this.state(peer);
    switch (m.type) {
      case MessageType.ACK:
      case MessageType.RST: {
        const p = s.pending.get(m.messageId);
        if (!p) {
          // An RST for a NON we sent (or an old exchange): report it; stray ACKs are ignored.
          if (m.type === MessageType.RST) this.events.push({ type: 'reset', peer, messageId: m.messageId });
          return;
        }
        s.pending.delete(m.messageId);
        this.next(now, s);
        this.events.push(m.type === MessageType.ACK ? { type: 'acked', peer, messageId: m.messageId, ack: m } : { type: 'reset', peer, messageId: m.messageId });
        return;
      }
      case MessageType.CON:
      case MessageType.NON: {
        const seen = s.seen.get(m.messageId);
        if (seen && seen.expires > now) {
          this.stats.duplicates++;
          if (m.type === MessageType.CON && seen.answer) this.out.push({ peer, data: seen.answer });
          return;
        }
        s.seen.set(m.messageId, { expires: now + (m.type === MessageType.CON ? this.params.exchangeLifetimeMs : this.params.nonLifetimeMs) });
        this.events.push({ type: 'message', peer, message: m });
        return;
      }
    }
  }

  handleTimeout(now: number): void {
    for (const p of this.timers.popDue(now)) {
      const s = this.peers.get(p.peer);
      if (!s || s.pending.get(p.messageId) !== p) continue;
      if (p.tries >= this.params.maxRetransmit) {
        s.pending.delete(p.messageId);
        this.next(now, s);
        this.events.push({ type: 'failed', peer: p.peer, messageId: p.messageId });
        continue;
      }
      p.tries++;
      p.timeoutMs *= 2;
      p.deadline = now + p.timeoutMs;
      this.timers.schedule(p, p.deadline);
      this.stats.retransmissions++;
      this.out.push({ peer: p.peer, data: p.bytes });
    }
    this.sweep(now);
  }

  /** Forgets a peer (its transport closed): outstanding CONs fail. */
  dropPeer(peer: P): void {
    const s = this.peers.get(peer);
    if (!s) return;
    this.peers.delete(peer);
    for (const p of [...s.pending.values(), ...s.queued]) this.events.push({ type: 'failed', peer, messageId: p.messageId });
  }

  pollTransmit(): { peer: P; data: Uint8Array } | undefined {
    return this.out.shift();
  }
  pollEvent(): MessageEvent<P> | undefined {
    return this.events.shift();
  }
  pollTimeout(): number | undefined {
    return this.timers.peek();
  }

  /** Drops expired deduplication and message-ID entries (at most once a second). */
  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + 1000;
    for (const [peer, s] of this.peers) {
      for (const [mid, seen] of s.seen) if (seen.expires <= now) s.seen.delete(mid);
      for (const [mid, until] of s.used) if (until <= now) s.used.delete(mid);
      if (s.pending.size === 0 && s.queued.length === 0 && s.seen.size === 0 && s.used.size === 0) this.peers.delete(peer);
    }
  }
}
