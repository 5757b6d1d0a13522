import { TimerQueue } from '../timers/timer-queue.js';
import { CoapFormatError, decodeMessage, encodeMessage, resetForFormatError } from './codec.js';
import type { TransmissionParameters } from './config.js';
import { MessageType, type CoapMessage } from './message.js';

/** What the message layer reports upward. P is the transport's peer handle. */
export type MessageEvent<P> =
  /** A new CON or NON (duplicates are absorbed here), or a separate response; `size`: its datagram's bytes. */
  | { type: 'message'; peer: P; message: CoapMessage; size: number }
  /** Our CON was acknowledged; `ack` may carry a piggybacked response. */
  | { type: 'acked'; peer: P; messageId: number; ack: CoapMessage }
  /** Our CON or NON was answered with RST. */
  | { type: 'reset'; peer: P; messageId: number }
  /** Our CON got no ACK after MAX_RETRANSMIT retransmissions. */
  | { type: 'failed'; peer: P; messageId: number };

export interface Pending<P> {
  peer: P;
  messageId: number;
  bytes: Uint8Array;
  tries: number;
  timeoutMs: number;
  deadline: number | undefined;
}

/** What the message layer keeps per peer; each deduplication store adds its received message IDs. */
export interface PeerState<P> {
  peer: P;
  nextMid: number;
  /** Outstanding CONs by message ID. */
  pending: Map<number, Pending<P>>;
  /** CONs waiting for NSTART. */
  queued: Array<Pending<P>>;
  /** Message IDs we used recently (not reused within EXCHANGE_LIFETIME): message ID -> reserved until. */
  used: Map<number, number>;
}

/**
 * The CoAP message layer (RFC 7252 §4) less its deduplication store: message IDs per peer
 * (random start, never reused within EXCHANGE_LIFETIME), CON retransmission with randomized,
 * doubling timeouts, ACK and RST matching, NSTART, and RST/silence for malformed messages
 * (§4.2, §4.3). Sans-IO. Deduplication (§4.5: a duplicate CON gets the same answer and goes no
 * further) is the subclass's: ClientMessageLayer keeps a plain map for a client's few
 * exchanges; MessageLayer (CoapEndpoint) a store built for a busy server.
 */
export abstract class MessageLayerCore<P, S extends PeerState<P>> {
  protected readonly peers = new Map<P, S>();
  private readonly timers: TimerQueue<Pending<P>>;
  protected readonly out: Array<{ peer: P; data: Uint8Array }> = [];
  protected readonly events: Array<MessageEvent<P>> = [];
  private nextSweep = 0;
  /** Peer states that may have become empty since the last sweep (the sweep drops empty ones). */
  protected readonly mayBeEmpty = new Set<S>();
  /** Outstanding CONs over all peers. */
  private pendingTotal = 0;
  readonly stats = { malformed: 0, duplicates: 0, retransmissions: 0, noMessageId: 0, queueFull: 0 };

  constructor(
    protected readonly params: TransmissionParameters,
    private readonly random: () => number = Math.random,
  ) {
    this.timers = new TimerQueue(
      (p) => (this.peers.get(p.peer)?.pending.get(p.messageId) === p ? p.deadline : undefined),
      () => this.pendingTotal,
    );
  }

  /** A new peer state with these common fields (and the store's own). */
  protected abstract newState(common: PeerState<P>): S;
  /**
   * A received CON or NON: whether it duplicates one seen within its lifetime (then a CON's
   * stored answer, if any, is sent again); a new one is recorded.
   */
  protected abstract isDuplicate(now: number, s: S, m: CoapMessage): boolean;
  /** Keeps our answer to a received CON, for its duplicates. */
  protected abstract storeAnswer(s: S, messageId: number, bytes: Uint8Array): void;
  /** Whether a received CON has been answered (ACK or RST) already. */
  abstract answered(peer: P, messageId: number): boolean;
  /** Drops expired received and used message IDs, adding the states that lost one to `check`. */
  protected abstract expire(now: number, check: Set<S>): void;
  /** Whether the state holds no received message ID. */
  protected abstract noneSeen(s: S): boolean;
  /** A state leaves the layer (its peer was dropped, or it became empty): forget its received message IDs. */
  protected abstract unlink(s: S): void;
  /** A message ID was used (reserved until `until`). */
  protected reserved(_s: S, _mid: number, _until: number, _confirmable: boolean): void {}

  protected state(peer: P): S {
    let s = this.peers.get(peer);
    if (!s) {
      s = this.newState({ peer, nextMid: Math.floor(this.random() * 0x10000), pending: new Map(), queued: [], used: new Map() });
      this.peers.set(peer, s);
      this.mayBeEmpty.add(s);
    }
    return s;
  }

  private deletePending(s: S, messageId: number): boolean {
    if (!s.pending.delete(messageId)) return false;
    this.pendingTotal--;
    this.mayBeEmpty.add(s);
    return true;
  }

  /**
   * A fresh message ID for this peer (RFC 7252 §4.4): not used within the lifetime of the
   * message that used it last (EXCHANGE_LIFETIME after a CON, NON_LIFETIME after a NON,
   * §4.8.2). IDs go round in order from a random start, so the next one is the one used
   * longest ago: when it is still reserved, the peer has none free and this returns undefined
   * at once (O(1); the caller drops or fails that message).
   */
  allocateMessageId(now: number, peer: P, confirmable = true): number | undefined {
    const s = this.state(peer);
    const mid = s.nextMid;
    const until = s.used.get(mid);
    if (until !== undefined && until > now) {
      this.stats.noMessageId++;
      return undefined;
    }
    s.nextMid = (mid + 1) & 0xffff;
    const u = now + (confirmable ? this.params.exchangeLifetimeMs : this.params.nonLifetimeMs);
    s.used.set(mid, u);
    this.reserved(s, mid, u, confirmable);
    return mid;
  }

  /**
   * Sends a message. CONs are retransmitted until ACK/RST (at most NSTART outstanding per
   * peer; more wait in a queue; MessageLayer caps the queue for what a server sends on its own).
   * The message's messageId must come from allocateMessageId (or be the request's, for an ACK/RST).
   */
  send(now: number, peer: P, m: CoapMessage, _capped = false): void {
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

  private start(now: number, s: S, p: Pending<P>): void {
    // RFC 7252 §4.2: initial timeout random in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]
    const t = this.params.ackTimeoutMs * (1 + this.random() * (this.params.ackRandomFactor - 1));
    p.timeoutMs = t;
    p.deadline = now + t;
    const before = s.pending.size;
    s.pending.set(p.messageId, p);
    this.pendingTotal += s.pending.size - before;
    this.timers.schedule(p, p.deadline);
    this.out.push({ peer: p.peer, data: p.bytes });
  }

  /** Stops retransmitting a CON (e.g. its exchange was cancelled). */
  cancel(now: number, peer: P, messageId: number): void {
    const s = this.peers.get(peer);
    if (!s) return;
    if (this.deletePending(s, messageId)) this.next(now, s);
    s.queued = s.queued.filter((q) => q.messageId !== messageId);
    this.mayBeEmpty.add(s);
  }

  private next(now: number, s: S): void {
    while (s.pending.size < this.params.nstart && s.queued.length > 0) this.start(now, s, s.queued.shift()!);
  }

  /** Answers a received CON with this ACK (piggybacked response or empty) or RST, and remembers it for duplicates. */
  answer(_now: number, peer: P, m: CoapMessage): void {
    const bytes = encodeMessage(m);
    this.storeAnswer(this.state(peer), m.messageId, bytes);
    this.out.push({ peer, data: bytes });
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
    if (m.type === MessageType.ACK || m.type === MessageType.RST) {
      const p = s.pending.get(m.messageId);
      if (!p) {
        // An RST for a NON we sent (or an old exchange): report it; stray ACKs are ignored.
        if (m.type === MessageType.RST) this.events.push({ type: 'reset', peer, messageId: m.messageId });
        return;
      }
      this.deletePending(s, m.messageId);
      this.next(now, s);
      this.events.push(m.type === MessageType.ACK ? { type: 'acked', peer, messageId: m.messageId, ack: m } : { type: 'reset', peer, messageId: m.messageId });
      return;
    }
    // CON or NON
    if (this.isDuplicate(now, s, m)) {
      this.stats.duplicates++;
      return;
    }
    this.events.push({ type: 'message', peer, message: m, size: data.length });
  }

  handleTimeout(now: number): void {
    for (const p of this.timers.popDue(now)) {
      const s = this.peers.get(p.peer);
      if (!s || s.pending.get(p.messageId) !== p) continue;
      if (p.tries >= this.params.maxRetransmit) {
        this.deletePending(s, p.messageId);
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
    this.pendingTotal -= s.pending.size;
    for (const p of [...s.pending.values(), ...s.queued]) this.events.push({ type: 'failed', peer, messageId: p.messageId });
    this.unlink(s);
    // Expiry lists may still point at the state: leave it an empty shell, holding neither
    // entries nor the peer handle.
    s.used.clear();
    s.pending.clear();
    s.queued = [];
    s.peer = undefined as P;
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

  /**
   * Drops expired deduplication and message-ID entries (at most once a second), and the
   * peer states left empty: only peer states that lost an entry (or were created) since the
   * last sweep are checked.
   */
  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + 1000;
    const check = this.mayBeEmpty;
    this.expire(now, check);
    for (const s of check) {
      if (this.peers.get(s.peer) === s && s.pending.size === 0 && s.queued.length === 0 && s.used.size === 0 && this.noneSeen(s)) {
        this.peers.delete(s.peer);
        this.unlink(s);
      }
    }
    check.clear();
  }
}

/** A received message ID (RFC 7252 §4.5): kept until `expires`, with our answer to a CON once given. */
interface Seen {
  expires: number;
  answer?: Uint8Array;
}

interface ClientPeerState<P> extends PeerState<P> {
  seen: Map<number, Seen>;
}

/**
 * The message layer of a client (CoapClientEndpoint): deduplication in a plain map per peer,
 * swept by a scan once a second, which suits the few separate and NON responses a client
 * receives; a server's endpoint uses MessageLayer, whose store is built for millions.
 */
export class ClientMessageLayer<P> extends MessageLayerCore<P, ClientPeerState<P>> {
  protected newState(common: PeerState<P>): ClientPeerState<P> {
    return { ...common, seen: new Map() };
  }

  protected isDuplicate(now: number, s: ClientPeerState<P>, m: CoapMessage): boolean {
    const e = s.seen.get(m.messageId);
    if (e && e.expires > now) {
      if (e.answer && m.type === MessageType.CON) this.out.push({ peer: s.peer, data: e.answer });
      return true;
    }
    s.seen.set(m.messageId, { expires: now + (m.type === MessageType.CON ? this.params.exchangeLifetimeMs : this.params.nonLifetimeMs) });
    return false;
  }

  protected storeAnswer(s: ClientPeerState<P>, messageId: number, bytes: Uint8Array): void {
    const e = s.seen.get(messageId);
    if (e) e.answer = bytes;
  }

  answered(peer: P, messageId: number): boolean {
    return !!this.peers.get(peer)?.seen.get(messageId)?.answer;
  }

  protected expire(now: number, check: Set<ClientPeerState<P>>): void {
    for (const s of this.peers.values()) {
      for (const [mid, e] of s.seen) if (e.expires <= now) s.seen.delete(mid), check.add(s);
      for (const [mid, until] of s.used) if (until <= now) s.used.delete(mid), check.add(s);
    }
  }

  protected noneSeen(s: ClientPeerState<P>): boolean {
    return s.seen.size === 0;
  }

  protected unlink(s: ClientPeerState<P>): void {
    s.seen.clear();
  }
}
