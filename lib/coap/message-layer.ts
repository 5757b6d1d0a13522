import type { TransmissionParameters } from './config.js';
import { MessageType, type CoapMessage } from './message.js';
import { MessageLayerCore, type PeerState } from './client-message-layer.js';

export type { MessageEvent } from './client-message-layer.js';

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
    readonly state: ServerPeerState<P>,
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

interface ServerPeerState<P> extends PeerState<P> {
  /** Names the state in the deduplication rings (never 0). */
  id: number;
  /** Received message IDs (deduplication, RFC 7252 §4.5): message ID -> DedupRing code. */
  seen: Map<number, number>;
}

/**
 * The CoAP message layer (RFC 7252 §4) of a server (CoapEndpoint): MessageLayerCore with a
 * deduplication store built for a busy server (a duplicate CON gets the same answer and goes no
 * further): entries without an object each, answers packed in shared chunks, and incremental
 * expiry. Sans-IO. A client-only endpoint uses ClientMessageLayer instead.
 */
export class MessageLayer<P> extends MessageLayerCore<P, ServerPeerState<P>> {
  /** The deduplication entries (one ring per lifetime), their answers, and the used message IDs in expiry order. */
  private readonly seenCon = new DedupRing<P>(0);
  private readonly seenNon = new DedupRing<P>(1);
  /** Live peer states by id, for the rings. */
  private readonly statesById = new Map<number, ServerPeerState<P>>();
  private nextStateId = 0;
  /** Live answer chunks, in creation order, and by id. */
  private answerChunks: AnswerChunk[] = [];
  private readonly chunksById = new Map<number, AnswerChunk>();
  private answerChunk: AnswerChunk | undefined;
  private nextChunkId = 0;
  /** Message IDs we used, in expiry order: one FIFO per lifetime (CON, NON). */
  private readonly usedCon = new Fifo<Used<P>>();
  private readonly usedNon = new Fifo<Used<P>>();

  constructor(
    params: TransmissionParameters,
    random?: () => number,
    private readonly caps: { maxQueuedPerPeer: number } = { maxQueuedPerPeer: Infinity },
  ) {
    super(params, random);
  }

  /**
   * Sends a message (MessageLayerCore.send); with `capped`, at most maxQueuedPerPeer CONs wait
   * for NSTART and one more fails at once: for what a server sends on its own, such as CON
   * notifications.
   */
  override send(now: number, peer: P, m: CoapMessage, capped = false): void {
    if (capped && m.type === MessageType.CON) {
      const s = this.state(peer);
      if (s.pending.size >= this.params.nstart && s.queued.length >= this.caps.maxQueuedPerPeer) {
        // the peer is not keeping up: this CON fails at once (its observation ends)
        this.stats.queueFull++;
        this.events.push({ type: 'failed', peer, messageId: m.messageId });
        return;
      }
    }
    super.send(now, peer, m);
  }

  protected newState(common: PeerState<P>): ServerPeerState<P> {
    this.nextStateId = (this.nextStateId + 1) >>> 0 || 1;
    const s = { ...common, id: this.nextStateId, seen: new Map<number, number>() };
    this.statesById.set(s.id, s);
    return s;
  }

  protected override reserved(s: ServerPeerState<P>, mid: number, until: number, confirmable: boolean): void {
    (confirmable ? this.usedCon : this.usedNon).push(new Used(s, mid, until));
  }

  protected isDuplicate(now: number, s: ServerPeerState<P>, m: CoapMessage): boolean {
    const code = s.seen.get(m.messageId);
    if (code !== undefined) {
      const r = this.ring(code);
      const i = (code >>> 1) & r.mask;
      if (r.expires[i]! > now) {
        if (m.type === MessageType.CON) {
          const answer = this.storedAnswer(r, i);
          if (answer) this.out.push({ peer: s.peer, data: answer });
        }
        return true;
      }
    }
    if (m.type === MessageType.CON) s.seen.set(m.messageId, this.seenCon.push(s.id, m.messageId, now + this.params.exchangeLifetimeMs));
    else s.seen.set(m.messageId, this.seenNon.push(s.id, m.messageId, now + this.params.nonLifetimeMs));
    return false;
  }

  answered(peer: P, messageId: number): boolean {
    const code = this.peers.get(peer)?.seen.get(messageId);
    if (code === undefined) return false;
    const r = this.ring(code);
    return r.lengths[(code >>> 1) & r.mask]! >= 0;
  }

  private ring(code: number): DedupRing<P> {
    return (code & 1) === 0 ? this.seenCon : this.seenNon;
  }

  protected storeAnswer(s: ServerPeerState<P>, messageId: number, bytes: Uint8Array): void {
    const code = s.seen.get(messageId);
    if (code === undefined) return;
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

  protected noneSeen(s: ServerPeerState<P>): boolean {
    return s.seen.size === 0;
  }

  /**
   * The state leaves: its ring entries stay until they expire, unlinked (the state id is no
   * longer looked up); the used-ID FIFOs still point at the state (dropPeer leaves it an empty shell).
   */
  protected unlink(s: ServerPeerState<P>): void {
    this.statesById.delete(s.id);
    for (const code of s.seen.values()) {
      const r = this.ring(code);
      const i = (code >>> 1) & r.mask;
      r.stateIds[i] = 0;
      r.chunkIds[i] = 0;
      r.lengths[i] = -1;
    }
    s.seen.clear();
  }

  /**
   * Incremental expiry: the rings and FIFOs yield only what expired.
   */
  protected expire(now: number, check: Set<ServerPeerState<P>>): void {
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
  }
}
