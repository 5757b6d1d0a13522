import { toHex } from '../bytes/util.js';
import { DtlsError } from './errors.js';
import type { PeerAddress } from './keystore.js';

/**
 * Where established sessions live beyond one process: encoded snapshots
 * (session-snapshot-codec.ts) under string keys, with an expiry. Sans-IO here: the engine
 * sees only this interface; the implementations are `memorySessionStore` (memory-session-store.ts,
 * no timers, time as an input) and the Redis store (transports/redis-session-store.ts).
 *
 * Keys: a server finds a session by the CID its peer's records carry (RFC 9146), by the peer's
 * address otherwise: {@link cidKey} and {@link addressKey}. An implementation may prefix them
 * (the Redis store writes `coaps:session:cid:0a1b2c`).
 *
 * Expiry: a value put with `ttlMs` is returned by `get` for `ttlMs` milliseconds after the put
 * resolved (no less), and not after it has expired (an implementation may drop it sooner
 * only under memory pressure, as a cache may: a session that is gone costs a handshake, never
 * a wrong answer). A new put replaces the value and its expiry. Set the TTL to at least the
 * session's idle timeout, and put again when the session is used, so that live sessions stay.
 *
 * Fencing: `swap` is a compare-and-set, atomic in the store (one Redis script): it writes (or
 * deletes) only if the key still holds, byte for byte, the value the caller expects. Several
 * processes may hold one session (two servers behind one address, a client whose NAT or load
 * balancer now reaches another process): each writes the session's keys by swapping the value
 * it last wrote, or, when it takes the session over from the store, the value it read. The
 * first writer after a value wins; every other swap on that value answers false, and that
 * process has lost the session (session-persistence.ts ends it there, silently). Since a
 * takeover always raises the lease and a lease never goes down, a value once replaced by
 * another process never comes back: a swap cannot win on a stale value (no ABA).
 *
 * Failures: any method may reject (the store is down, a timeout); the caller treats a failed
 * `get` as "no session" and a failed `put` or `swap` as "not saved" (sequence-lease.ts: the
 * writer then does not send past its lease). A rejected write may still have happened (a
 * timeout after the store applied it): a later swap on the older value then answers false,
 * which costs the session here, never a nonce. Values come back as stored, but a store is only partly
 * trusted: decode them with `decodeSessionSnapshot`, which never throws anything but
 * DecodeError. Secrets: a snapshot holds the session's keys; the store must be as private as
 * the key store.
 */
export interface SessionStore {
  /** The value under `key`, or undefined if there is none or it has expired. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores `value` (copied or written out before the promise resolves) under `key` for `ttlMs` ms (an integer >= 1). */
  put(key: string, value: Uint8Array, ttlMs: number): Promise<void>;
  /** Removes `key` (no error if absent). */
  delete(key: string): Promise<void>;
  /**
   * Compare-and-set, atomic: if `key` holds a value equal to `expected` byte for byte (and not
   * expired), replaces it with `value` (copied) for `ttlMs` ms, or removes the key when `value`
   * is undefined, and resolves true; otherwise changes nothing and resolves false (an absent key
   * equals nothing). `ttlMs` is checked as for `put` even for a removal.
   */
  swap(key: string, expected: Uint8Array, value: Uint8Array | undefined, ttlMs: number): Promise<boolean>;
}

/** The key of a session found by the CID we receive with (the peer's records carry it). */
export function cidKey(cid: Uint8Array): string {
  return `cid:${toHex(cid)}`;
}

/** The key of a session found by its peer's address (no CID, or a record without one). */
export function addressKey(peer: PeerAddress): string {
  return `addr:${peer.address}|${peer.port}`;
}

/** The key check every store applies (INVALID_ARGUMENT): a non-empty string. */
export function checkStoreKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new DtlsError('INVALID_ARGUMENT', 'session store: the key must be a non-empty string');
}

/** The checks every store applies to a put (INVALID_ARGUMENT): a key, bytes, a whole TTL >= 1 ms. */
export function checkStorePut(key: string, value: Uint8Array, ttlMs: number): void {
  checkStoreKey(key);
  if (!(value instanceof Uint8Array)) throw new DtlsError('INVALID_ARGUMENT', 'session store: the value must be a Uint8Array');
  if (!(Number.isSafeInteger(ttlMs) && ttlMs >= 1)) throw new DtlsError('INVALID_ARGUMENT', `session store: ttlMs ${ttlMs} must be a whole number of milliseconds >= 1`);
}

/** The checks every store applies to a swap (INVALID_ARGUMENT): a key, the expected bytes, bytes or undefined, a whole TTL >= 1 ms. */
export function checkStoreSwap(key: string, expected: Uint8Array, value: Uint8Array | undefined, ttlMs: number): void {
  checkStorePut(key, value ?? new Uint8Array(0), ttlMs);
  if (!(expected instanceof Uint8Array)) throw new DtlsError('INVALID_ARGUMENT', 'session store: the expected value must be a Uint8Array');
}
