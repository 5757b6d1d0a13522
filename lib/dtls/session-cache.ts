import { Reader } from '../bytes/reader.js';
import { Writer } from '../bytes/writer.js';
import { DtlsError } from './errors.js';
import { readResumableSession, writeResumableSession, type ResumableSession } from './resumable-session.js';
import { SessionSlab } from './session-slab.js';
import { SlotLru } from './slot-lru.js';

/**
 * The server's session cache for resumption by session ID (RFC 5246 §7.3, §7.4.1.2-3): the
 * ServerHello of a full handshake names the session with a fresh session_id
 * (handshake/resumption-rules.ts, serverHelloSessionId), the server keeps
 * what resuming needs (a {@link ResumableSession}) under that ID, and a later ClientHello that
 * offers the ID may continue it with the abbreviated handshake.
 *
 * Bounded both ways: at most `maxEntries` sessions (the least recently used goes first) and a
 * lifetime counted from the session's full handshake (RFC 5246 §F.1.4 suggests at most 24
 * hours). Time is an input. A session without extended master secret is never stored, so it is
 * never resumed (RFC 7627 §5.3). Each entry is the session encoded (resumable-session.ts, about
 * 75 bytes for a PSK session), wiped when the entry goes; get() decodes a fresh copy.
 *
 * Every full handshake puts an entry, so on a busy server this is the structure with the most
 * churn, and it is laid out for the garbage collector: entries live in slots of a few typed
 * arrays (ID, expiry) with the encoded session in a SessionSlab (the hibernation slab, here with
 * 160-byte records: PSK and raw-public-key sessions fit; a larger one is kept beside), ordered
 * by SlotLru, and found through a Map from a 30-bit hash of the ID (a small integer) to the
 * slot, which holds no object either. The earlier layout (a Map from a hex key
 * to an object with its own byte array) made every entry outlive the young generation, and a
 * churning Map of a thousand objects is worse than its entries: at a few thousand handshakes/s
 * it promoted ~1.4 KB per handshake and scavenges took 2-5 ms (issue 13's p99). Two IDs of
 * one hash: the newer replaces the older (session IDs are random and 1,024 entries make that
 * about one in a million); a lookup always compares the whole ID.
 *
 * RFC 5246 §7.2.2: a fatal alert invalidates the session: the connection calls delete().
 */
export interface SessionCacheOptions {
  /** Most sessions kept. Default 1024. */
  maxEntries?: number;
  /** How long a session may be resumed after its full handshake, in ms. Default 24 h. */
  lifetimeMs?: number;
}

/** RFC 5246 §7.4.1.2: `opaque SessionID<0..32>`; a cached session has a non-empty one. */
export const SESSION_ID_LENGTH = 32;
export const DEFAULT_CACHE_ENTRIES = 1024;
export const DEFAULT_SESSION_LIFETIME_MS = 24 * 3600_000;

/** Bytes of an encoded session kept in the slab (a PSK session with a 60-byte identity, an RPK session); larger ones are kept beside. */
const RECORD_BYTES = 160;
/** Slots allocated at first; the arrays double up to maxEntries. */
const FIRST_SLOTS = 64;

export class SessionCache {
  readonly maxEntries: number;
  readonly lifetimeMs: number;
  private readonly lru: SlotLru;
  /** Hash of the session ID -> slot. */
  private readonly byHash = new Map<number, number>();
  private ids: Uint8Array;
  private idLengths: Uint8Array;
  private hashes: Int32Array;
  private expiries: Float64Array;
  /** The encoded sessions; the slab slot of each cache slot. */
  private readonly records = new SessionSlab(RECORD_BYTES + 1);
  private recordSlots: Int32Array;
  private readonly w = new Writer(RECORD_BYTES);

  constructor(o: SessionCacheOptions = {}) {
    const max = o.maxEntries ?? DEFAULT_CACHE_ENTRIES;
    const lifetime = o.lifetimeMs ?? DEFAULT_SESSION_LIFETIME_MS;
    if (!Number.isInteger(max) || max < 1) throw new DtlsError('INVALID_ARGUMENT', 'session cache maxEntries must be a positive whole number');
    if (!(lifetime > 0) || !Number.isFinite(lifetime)) throw new DtlsError('INVALID_ARGUMENT', 'session cache lifetimeMs must be a positive number of ms');
    this.maxEntries = max;
    this.lifetimeMs = lifetime;
    const n = Math.min(max, FIRST_SLOTS);
    this.lru = new SlotLru(n);
    this.ids = new Uint8Array(n * SESSION_ID_LENGTH);
    this.idLengths = new Uint8Array(n);
    this.hashes = new Int32Array(n);
    this.expiries = new Float64Array(n);
    this.recordSlots = new Int32Array(n);
  }

  get size(): number {
    return this.lru.size;
  }

  /**
   * Keeps `session` under `sessionId` (1..32 bytes), replacing what was there. Returns false, and
   * keeps nothing, for a session that must not be resumed: no extended master secret, or a
   * lifetime already over.
   */
  put(now: number, sessionId: Uint8Array, session: ResumableSession): boolean {
    if (sessionId.length < 1 || sessionId.length > SESSION_ID_LENGTH) throw new DtlsError('INVALID_ARGUMENT', `a session ID is 1..${SESSION_ID_LENGTH} bytes`);
    if (!session.extendedMasterSecret) return false;
    const expiresAt = session.createdAt + this.lifetimeMs;
    if (now >= expiresAt) return false;
    // encoded first: a session that does not encode (RangeError) changes nothing here
    const w = this.w;
    let slot: number;
    let hash: number;
    try {
      writeResumableSession(w, session);
      hash = idHash(sessionId);
      const old = this.byHash.get(hash);
      if (old !== undefined) this.drop(old); // the same ID again, or (rarely) another of its hash
      slot = this.lru.take();
      if (slot < 0) {
        if (this.lru.limit < this.maxEntries) this.grow();
        else this.drop(this.lru.first);
        slot = this.lru.take();
      }
      // copied into the slab straight from the writer's buffer: a copy of its own would be
      // one more backing store off the V8 heap per handshake
      this.recordSlots[slot] = this.records.put(this, w.written());
    } finally {
      w.wipe();
    }
    this.ids.set(sessionId, slot * SESSION_ID_LENGTH);
    this.idLengths[slot] = sessionId.length;
    this.hashes[slot] = hash;
    this.expiries[slot] = expiresAt;
    this.byHash.set(hash, slot);
    return true;
  }

  /** The session kept under `sessionId` (a copy), unless it is unknown or expired; it becomes the most recently used. */
  get(now: number, sessionId: Uint8Array): ResumableSession | undefined {
    const slot = this.find(sessionId);
    if (slot < 0) return undefined;
    if (now >= this.expiries[slot]!) {
      this.drop(slot);
      return undefined;
    }
    this.lru.touch(slot);
    return readResumableSession(new Reader(this.records.read(this, this.recordSlots[slot]!).bytes));
  }

  /** Forgets a session (RFC 5246 §7.2.2: after a fatal alert). Returns whether it was there. */
  delete(sessionId: Uint8Array): boolean {
    const slot = this.find(sessionId);
    if (slot < 0) return false;
    this.drop(slot);
    return true;
  }

  /** Drops every expired session (the cache also drops them when they are asked for). */
  prune(now: number): void {
    for (let slot = this.lru.first; slot >= 0; ) {
      const next = this.lru.after(slot);
      if (now >= this.expiries[slot]!) this.drop(slot);
      slot = next;
    }
  }

  /** Forgets (and wipes) everything. */
  clear(): void {
    while (this.lru.first >= 0) this.drop(this.lru.first);
  }

  /** The slot holding exactly `sessionId`, or -1. */
  private find(sessionId: Uint8Array): number {
    const len = sessionId.length;
    if (len < 1 || len > SESSION_ID_LENGTH) return -1;
    const slot = this.byHash.get(idHash(sessionId));
    if (slot === undefined || this.idLengths[slot] !== len) return -1;
    const ids = this.ids;
    const at = slot * SESSION_ID_LENGTH;
    for (let i = 0; i < len; i++) if (ids[at + i] !== sessionId[i]) return -1;
    return slot;
  }

  private drop(slot: number): void {
    this.byHash.delete(this.hashes[slot]!);
    this.records.free(this, this.recordSlots[slot]!); // wiped there
    this.ids.fill(0, slot * SESSION_ID_LENGTH, (slot + 1) * SESSION_ID_LENGTH);
    this.idLengths[slot] = 0;
    this.lru.release(slot);
  }

  /** Doubles the slots (up to maxEntries), keeping every entry where it is. */
  private grow(): void {
    const n = Math.min(this.maxEntries, this.lru.limit * 2);
    this.lru.grow(n);
    this.ids = grown(this.ids, n * SESSION_ID_LENGTH);
    this.idLengths = grown(this.idLengths, n);
    this.hashes = grown(this.hashes, n);
    this.expiries = grown(this.expiries, n);
    this.recordSlots = grown(this.recordSlots, n);
  }
}

/** A 30-bit hash of a session ID (FNV-1a): a small integer, so the Map holds no object for it. */
function idHash(id: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id[i]!, 0x01000193);
  return (h ^ (id.length << 24)) & 0x3fffffff;
}

function grown<T extends Uint8Array | Int32Array | Float64Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  if (a instanceof Uint8Array) a.fill(0); // the old session IDs
  return b;
}
