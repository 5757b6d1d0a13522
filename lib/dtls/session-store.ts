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
 * Failures: any method may reject (the store is down, a timeout); the caller treats a failed
 * `get` as "no session" and a failed `put` as "not saved" (sequence-lease.ts: the writer then
 * does not send past its lease). Values come back as stored, but a store is only partly
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
