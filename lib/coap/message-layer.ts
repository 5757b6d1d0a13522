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

interface Pending<P> {
  peer: P;
  messageId: number;
  bytes: Uint8Array;
  tries: number;
  timeoutMs: number;
  deadline: number | undefined;
}

/**
 * Deduplication entries (RFC 7252 §4.5) are kept for EXCHANGE_LIFETIME (247 s): at tens of
 * thousands of requests per second, millions of them. So they are stored without an object
 * per entry: a per-peer Map from message ID to a small integer code naming a slot of a
 * DedupRing (typed arrays only, in expiry order: nothing for the GC to trace), and the
 * answers' bytes packed in shared chunks. Peer states and chunks are named by number in the
 * ring. A code is seq * 2 + ring (0: CON lifetime, 1: NON lifetime); seq wraps at 2^29 so
 * codes stay small integers.
 */
const SEQ_MASK = (1 << 29) - 1;
/**
 * Answers are packed into chunks that start small (a device answering a few CONs pays a few
 * hundred bytes) and double up to this size (a busy server packs densely); a larger answer
 * keeps its own bytes.
 */
const CHUNK_SIZE = 64 * 1024;
const FIRST_CHUNK_SIZE = 512;
const BIG_ANSWER = 2048;

/** Answer bytes of many entries. Released (dropped) once every entry in it has expired. */
class AnswerChunk {
  used = 0;
  maxExpires = 0;
  constructor(
    readonly id: number,
    readonly buf: Uint8Array,
  ) {}
}

/**
 * Entries of one lifetime in insertion (= expiry) order, as parallel arrays in a ring that
 * grows (and shrinks) by powers of two; slot = seq & mask.
 */
class DedupRing<P> {
  private cap = 0;
  mask = 0;
  /** seq of the oldest entry. */
  head = 0;
  count = 0;
  mids = new Uint16Array(0);
  expires = new Float64Array(0);
  /** PeerState.id (0: none, the peer was dropped). */
  stateIds = new Uint32Array(0);
  /** AnswerChunk.id of the answer (0: none). */
  chunkIds = new Uint32Array(0);
  offsets = new Uint16Array(0);
  /** Answer length, -1 while unanswered. */
  lengths = new Int32Array(0);

  constructor(readonly bit: 0 | 1) {
    this.resize(256);
  }

  /** Appends an entry; returns its code. */
  push(stateId: number, mid: number, expires: number): number {
    if (this.count === this.cap) this.resize(this.cap * 2);
    const seq = (this.head + this.count) & SEQ_MASK;
    const i = seq & this.mask;
    this.mids[i] = mid;
    this.expires[i] = expires;
    this.stateIds[i] = stateId;
    this.chunkIds[i] = 0;
    this.lengths[i] = -1;
    this.count++;
    return seq * 2 + this.bit;
  }

  /** Drops the oldest entry. */
  shift(): void {
    this.head = (this.head + 1) & SEQ_MASK;
    this.count--;
    if (this.cap > 1024 && this.count * 8 < this.cap) this.resize(this.cap / 2);
  }

  private resize(cap: number): void {
    if (cap > SEQ_MASK + 1) throw new RangeError('too many deduplication entries');
    const mask = cap - 1;
    const mids = new Uint16Array(cap);
    const expires = new Float64Array(cap);
    const stateIds = new Uint32Array(cap);
    const chunkIds = new Uint32Array(cap);
    const offsets = new Uint16Array(cap);
    const lengths = new Int32Array(cap);
    for (let k = 0; k < this.count; k++) {
      const seq = (this.head + k) & SEQ_MASK;
      const o = seq & this.mask;
      const n = seq & mask;
      mids[n] = this.mids[o]!;
      expires[n] = this.expires[o]!;
      stateIds[n] = this.stateIds[o]!;
      chunkIds[n] = this.chunkIds[o]!;
      offsets[n] = this.offsets[o]!;
      lengths[n] = this.lengths[o]!;
    }
    this.cap = cap;
    this.mask = mask;
    this.mids = mids;
    this.expires = expires;
    this.stateIds = stateIds;
    this.chunkIds = chunkIds;
    this.offsets = offsets;
    this.lengths = lengths;
  }
}

/** A message ID we used (reserved until `until`), as an entry of the expiry FIFO. */
class Used<P> {
  constructor(
    readonly state: PeerState<P>,
    readonly mid: number,
    readonly until: number,
  ) {}
}

/**
 * A queue read from `head` (no Array.shift per item). Expiry entries go in with now + a fixed
 * lifetime, so each FIFO is in expiry order and a sweep only looks at what expired.
 */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  push(x: T): void {
    this.items.push(x);
  }
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head]!;
    this.items[this.head++] = undefined!;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
}

interface PeerState<P> {
  /** Names the state in the deduplication rings (never 0). */
  id: number;
  peer: P;
  nextMid: number;
  /** Outstanding CONs by message ID. */
  pending: Map<number, Pending<P>>;
  /** CONs waiting for NSTART. */
  queued: Array<Pending<P>>;
  /** Received message IDs (deduplication, RFC 7252 §4.5): message ID -> DedupRing code. */
  seen: Map<number, number>;
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
  /** The deduplication entries (one ring per lifetime), their answers, and the used message IDs in expiry order. */
  private readonly seenCon = new DedupRing<P>(0);
  private readonly seenNon = new DedupRing<P>(1);
  /** Live peer states by id, for the rings. */
  private readonly statesById = new Map<number, PeerState<P>>();
  private nextStateId = 0;
  /** Live answer chunks, in creation order, and by id. */
  private answerChunks: AnswerChunk[] = [];
  private readonly chunksById = new Map<number, AnswerChunk>();
  private answerChunk: AnswerChunk | undefined;
  private nextChunkId = 0;
  /** Message IDs we used, in expiry order: one FIFO per lifetime (CON, NON). */
  private readonly usedCon = new Fifo<Used<P>>();
  private readonly usedNon = new Fifo<Used<P>>();
  /** Peer states that may have become empty since the last sweep (the sweep drops empty ones). */
  private readonly mayBeEmpty = new Set<PeerState<P>>();
  /** Outstanding CONs over all peers. */
  private pendingTotal = 0;
  readonly stats = { malformed: 0, duplicates: 0, retransmissions: 0, noMessageId: 0, queueFull: 0 };

  constructor(
    private readonly params: TransmissionParameters,
    private readonly random: () => number = Math.random,
    private readonly caps: { maxQueuedPerPeer: number } = { maxQueuedPerPeer: Infinity },
  ) {
    this.timers = new TimerQueue(
      (p) => (this.peers.get(p.peer)?.pending.get(p.messageId) === p ? p.deadline : undefined),
      () => this.pendingTotal,
    );
  }

  private state(peer: P): PeerState<P> {
    let s = this.peers.get(peer);
    if (!s) {
      this.nextStateId = (this.nextStateId + 1) >>> 0 || 1;
      s = { id: this.nextStateId, peer, nextMid: Math.floor(this.random() * 0x10000), pending: new Map(), queued: [], seen: new Map(), used: new Map() };
      this.peers.set(peer, s);
      this.statesById.set(s.id, s);
      this.mayBeEmpty.add(s);
    }
    return s;
  }

  private deletePending(s: PeerState<P>, messageId: number): boolean {
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
    (confirmable ? this.usedCon : this.usedNon).push(new Used(s, mid, u));
    return mid;
  }

  /**
   * Sends a message. CONs are retransmitted until ACK/RST (at most NSTART outstanding per
   * peer; more wait in a queue; with `capped`, at most maxQueuedPerPeer wait and one more
   * fails at once: for what a server sends on its own, such as CON notifications). The message's messageId must come from allocateMessageId
   * (or be the request's, for an ACK/RST).
   */
  send(now: number, peer: P, m: CoapMessage, capped = false): void {
    const bytes = encodeMessage(m);
    if (m.type !== MessageType.CON) {
      this.out.push({ peer, data: bytes });
      return;
    }
    const s = this.state(peer);
    const p: Pending<P> = { peer, messageId: m.messageId, bytes, tries: 0, timeoutMs: 0, deadline: undefined };
    if (s.pending.size >= this.params.nstart) {
      if (capped && s.queued.length >= this.caps.maxQueuedPerPeer) {
        // the peer is not keeping up: this CON fails at once (its observation ends)
        this.stats.queueFull++;
        this.events.push({ type: 'failed', peer, messageId: m.messageId });
        return;
      }
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

  private next(now: number, s: PeerState<P>): void {
    while (s.pending.size < this.params.nstart && s.queued.length > 0) this.start(now, s, s.queued.shift()!);
  }

  /** Answers a received CON with this ACK (piggybacked response or empty) or RST, and remembers it for duplicates. */
  answer(now: number, peer: P, m: CoapMessage): void {
    const bytes = encodeMessage(m);
    const code = this.state(peer).seen.get(m.messageId);
    if (code !== undefined) this.storeAnswer(code, bytes);
    this.out.push({ peer, data: bytes });
  }

  /** Whether a received CON has been answered (ACK or RST) already. */
  answered(peer: P, messageId: number): boolean {
    const code = this.peers.get(peer)?.seen.get(messageId);
    if (code === undefined) return false;
    const r = this.ring(code);
    return r.lengths[(code >>> 1) & r.mask]! >= 0;
  }

  private ring(code: number): DedupRing<P> {
    return (code & 1) === 0 ? this.seenCon : this.seenNon;
  }

  private storeAnswer(code: number, bytes: Uint8Array): void {
    const r = this.ring(code);
    const i = (code >>> 1) & r.mask;
    const n = bytes.length;
    let c: AnswerChunk;
    let offset = 0;
    if (n > BIG_ANSWER) {
      c = this.newChunk(bytes);
      c.used = n;
    } else {
      c = this.answerChunk!;
      if (!c || c.used + n > c.buf.length) {
        const size = Math.max(n, c ? Math.min(CHUNK_SIZE, c.buf.length * 2) : FIRST_CHUNK_SIZE);
        c = this.answerChunk = this.newChunk(new Uint8Array(size));
      }
      offset = c.used;
      c.buf.set(bytes, offset);
      c.used += n;
    }
    const expires = r.expires[i]!;
    if (expires > c.maxExpires) c.maxExpires = expires;
    r.chunkIds[i] = c.id;
    r.offsets[i] = offset;
    r.lengths[i] = n;
  }

  private newChunk(buf: Uint8Array): AnswerChunk {
    this.nextChunkId = (this.nextChunkId + 1) >>> 0 || 1;
    const c = new AnswerChunk(this.nextChunkId, buf);
    this.answerChunks.push(c);
    this.chunksById.set(c.id, c);
    return c;
  }

  /** The stored answer of an entry (a view into its chunk), if any. */
  private storedAnswer(r: DedupRing<P>, i: number): Uint8Array | undefined {
    const length = r.lengths[i]!;
    if (length < 0) return undefined;
    const c = this.chunksById.get(r.chunkIds[i]!);
    if (!c) return undefined;
    const offset = r.offsets[i]!;
    return c.buf.subarray(offset, offset + length);
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
        this.deletePending(s, m.messageId);
        this.next(now, s);
        this.events.push(m.type === MessageType.ACK ? { type: 'acked', peer, messageId: m.messageId, ack: m } : { type: 'reset', peer, messageId: m.messageId });
        return;
      }
      case MessageType.CON:
      case MessageType.NON: {
        const code = s.seen.get(m.messageId);
        if (code !== undefined) {
          const r = this.ring(code);
          const i = (code >>> 1) & r.mask;
          if (r.expires[i]! > now) {
            this.stats.duplicates++;
            if (m.type === MessageType.CON) {
              const answer = this.storedAnswer(r, i);
              if (answer) this.out.push({ peer, data: answer });
            }
            return;
          }
        }
        if (m.type === MessageType.CON) s.seen.set(m.messageId, this.seenCon.push(s.id, m.messageId, now + this.params.exchangeLifetimeMs));
        else s.seen.set(m.messageId, this.seenNon.push(s.id, m.messageId, now + this.params.nonLifetimeMs));
        this.events.push({ type: 'message', peer, message: m, size: data.length });
        return;
      }
    }
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
    this.statesById.delete(s.id);
    this.pendingTotal -= s.pending.size;
    for (const p of [...s.pending.values(), ...s.queued]) this.events.push({ type: 'failed', peer, messageId: p.messageId });
    // Its ring entries stay until they expire, unlinked (the state id is no longer looked
    // up); the used-ID FIFO still points at the state: leave it an empty shell, holding
    // neither entries nor the peer handle.
    for (const code of s.seen.values()) {
      const r = this.ring(code);
      const i = (code >>> 1) & r.mask;
      r.stateIds[i] = 0;
      r.chunkIds[i] = 0;
      r.lengths[i] = -1;
    }
    s.seen.clear();
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
   * peer states left empty. Incremental: the FIFOs yield only what expired, and only peer
   * states that lost an entry (or were created) since the last sweep are checked.
   */
  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + 1000;
    const check = this.mayBeEmpty;
    for (const r of [this.seenCon, this.seenNon]) {
      while (r.count > 0) {
        const i = r.head & r.mask;
        if (r.expires[i]! > now) break;
        const id = r.stateIds[i]!;
        const s = id === 0 ? undefined : this.statesById.get(id);
        if (s) {
          const mid = r.mids[i]!;
          if (s.seen.get(mid) === r.head * 2 + r.bit) {
            s.seen.delete(mid);
            check.add(s);
          }
        }
        r.shift();
      }
    }
    // answer chunks whose entries have all expired
    let keep = 0;
    const chunks = this.answerChunks;
    for (let k = 0; k < chunks.length; k++) {
      const c = chunks[k]!;
      if (c.maxExpires <= now) {
        this.chunksById.delete(c.id);
        if (c === this.answerChunk) this.answerChunk = undefined;
      } else chunks[keep++] = c;
    }
    chunks.length = keep;
    for (const fifo of [this.usedCon, this.usedNon]) {
      for (let u = fifo.peek(); u && u.until <= now; u = fifo.peek()) {
        fifo.shift();
        const s = u.state;
        if (s.used.get(u.mid) === u.until) {
          s.used.delete(u.mid);
          check.add(s);
        }
      }
    }
    for (const s of check) {
      if (this.peers.get(s.peer) === s && s.pending.size === 0 && s.queued.length === 0 && s.seen.size === 0 && s.used.size === 0) {
        this.peers.delete(s.peer);
        this.statesById.delete(s.id);
      }
    }
    check.clear();
  }
}
