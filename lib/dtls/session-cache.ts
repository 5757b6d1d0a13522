import { Reader } from '../bytes/reader.js';
import { toHex, wipe } from '../bytes/util.js';
import { Writer } from '../bytes/writer.js';
import { DtlsError } from './errors.js';
import { readResumableSession, writeResumableSession, type ResumableSession } from './resumable-session.js';

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
 * 70 bytes for a PSK session) in one byte array of its own, wiped when the entry goes; get()
 * decodes a fresh copy. Entries are kept small (one byte array, a flat hex key: about 0.4 KB
 * with the Map's share) because every full handshake puts one, so on a busy server each
 * outlives the young generation and the garbage collector copies it once.
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

interface Entry {
  /** writeResumableSession's bytes: holds the master secret. */
  readonly bytes: Uint8Array;
  readonly expiresAt: number;
}

export class SessionCache {
  readonly maxEntries: number;
  readonly lifetimeMs: number;
  /** Insertion order is use order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();

  constructor(o: SessionCacheOptions = {}) {
    const max = o.maxEntries ?? DEFAULT_CACHE_ENTRIES;
    const lifetime = o.lifetimeMs ?? DEFAULT_SESSION_LIFETIME_MS;
    if (!Number.isInteger(max) || max < 1) throw new DtlsError('INVALID_ARGUMENT', 'session cache maxEntries must be a positive whole number');
    if (!(lifetime > 0) || !Number.isFinite(lifetime)) throw new DtlsError('INVALID_ARGUMENT', 'session cache lifetimeMs must be a positive number of ms');
    this.maxEntries = max;
    this.lifetimeMs = lifetime;
  }

  get size(): number {
    return this.entries.size;
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
    const key = toHex(sessionId);
    this.drop(key);
    const w = new Writer(96);
    writeResumableSession(w, session);
    this.entries.set(key, { bytes: w.finish(), expiresAt });
    w.wipe();
    while (this.entries.size > this.maxEntries) this.drop(this.entries.keys().next().value!);
    return true;
  }

  /** The session kept under `sessionId` (a copy), unless it is unknown or expired; it becomes the most recently used. */
  get(now: number, sessionId: Uint8Array): ResumableSession | undefined {
    if (sessionId.length < 1 || sessionId.length > SESSION_ID_LENGTH) return undefined;
    const key = toHex(sessionId);
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (now >= e.expiresAt) {
      this.drop(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    return readResumableSession(new Reader(e.bytes));
  }

  /** Forgets a session (RFC 5246 §7.2.2: after a fatal alert). Returns whether it was there. */
  delete(sessionId: Uint8Array): boolean {
    return this.drop(toHex(sessionId));
  }

  /** Drops every expired session (the cache also drops them when they are asked for). */
  prune(now: number): void {
    for (const [key, e] of this.entries) if (now >= e.expiresAt) this.drop(key);
  }

  /** Forgets (and wipes) everything. */
  clear(): void {
    for (const key of [...this.entries.keys()]) this.drop(key);
  }

  private drop(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    wipe(e.bytes);
    return this.entries.delete(key);
  }
}
