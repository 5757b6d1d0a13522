import { equal } from '../bytes/util.js';
import { DtlsError } from './errors.js';
import { checkStoreKey, checkStorePut, checkStoreSwap, type SessionStore } from './session-store.js';

export interface MemorySessionStoreOptions {
  /**
   * The clock expiry is judged by, in milliseconds (a monotonic clock for one process; the
   * engine's `now`). Required: lib/ never reads the clock itself.
   */
  clock: () => number;
  /** Most entries held (default 100,000); a put beyond it drops the least recently put entry. */
  maxEntries?: number;
}

/** An in-process {@link SessionStore} with its entry count, for tests and single-process servers. */
export interface MemorySessionStore extends SessionStore {
  /** Entries held, expired ones not yet dropped included. */
  readonly size: number;
}

interface Entry {
  value: Uint8Array;
  expires: number;
}

/**
 * A {@link SessionStore} in a Map, with no timers: an entry expires when the clock reaches
 * its put time plus its TTL, checked when it is read (and dropped then); the Map keeps
 * entries in the order of their last put, so a full store drops the least recently put
 * first (expired entries at the front go first); a swap that writes counts as a put. Values are copied in and out: the caller
 * may wipe or reuse its buffers. It lives and dies with the process: it survives no restart.
 */
export function memorySessionStore(o: MemorySessionStoreOptions): MemorySessionStore {
  if (typeof o?.clock !== 'function') throw new DtlsError('INVALID_ARGUMENT', 'memorySessionStore: a clock is required (time is an input)');
  const maxEntries = o.maxEntries ?? 100_000;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new DtlsError('INVALID_ARGUMENT', `memorySessionStore: maxEntries ${maxEntries} must be a whole number >= 1`);
  const clock = o.clock;
  const entries = new Map<string, Entry>();

  const live = (key: string): Entry | undefined => {
    const e = entries.get(key);
    if (e && clock() >= e.expires) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };

  const set = (key: string, value: Uint8Array, ttlMs: number): void => {
    entries.delete(key);
    while (entries.size >= maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done) break;
      entries.delete(oldest.value);
    }
    entries.set(key, { value: value.slice(), expires: clock() + ttlMs });
  };

  return {
    get size() {
      return entries.size;
    },
    async get(key) {
      checkStoreKey(key);
      return live(key)?.value.slice();
    },
    async put(key, value, ttlMs) {
      checkStorePut(key, value, ttlMs);
      set(key, value, ttlMs);
    },
    async delete(key) {
      checkStoreKey(key);
      entries.delete(key);
    },
    // atomic by construction: nothing runs between the comparison and the write
    async swap(key, expected, value, ttlMs) {
      checkStoreSwap(key, expected, value, ttlMs);
      const e = live(key);
      if (!e || !equal(e.value, expected)) return false;
      if (value === undefined) entries.delete(key);
      else set(key, value, ttlMs);
      return true;
    },
  };
}
