/**
 * A {@link SessionStore} on Redis, through `@redis/client` (node-redis, maintained by Redis;
 * no dependencies of its own). One connection; values are binary strings (`SET key value PX
 * ttl`, `GET`, `DEL`) under namespaced keys (`coaps:session:` + the engine's key, e.g.
 * `coaps:session:cid:0a1b2c`). `swap` (compare-and-set) is one Lua script, run atomically by
 * the server: loaded at connect, then one EVALSHA per swap (and EVAL, once more, when a
 * restarted server no longer has it).
 *
 * Failure is a normal answer here: while Redis is unreachable every call rejects at once
 * (no offline queue, so a handshake never waits on a dead store), a call without a reply
 * within `commandTimeoutMs` rejects, and the client reconnects in the background (backoff
 * from 50 ms to 2 s); connection errors go to `onError`, never to an unhandled 'error' event.
 * The engine treats a rejected get as "no session" and a rejected put as "not saved".
 */
import { createHash } from 'node:crypto';
import { createClient, RESP_TYPES } from '@redis/client';
import { DtlsError } from '../lib/dtls/errors.js';
import { checkStoreKey, checkStorePut, checkStoreSwap, type SessionStore } from '../lib/dtls/session-store.js';

export const DEFAULT_REDIS_PREFIX = 'coaps:session:';

/**
 * SessionStore.swap on the server: KEYS[1] the key; ARGV: the expected value, 'set' or 'del',
 * the new value, the TTL in ms. Lua strings are byte strings, so the comparison is binary; a
 * missing key reads as false, equal to no string. Answers 1 (swapped) or 0 (nothing changed).
 */
const SWAP_SCRIPT = `local v = redis.call('GET', KEYS[1])
if v ~= ARGV[1] then return 0 end
if ARGV[2] == 'del' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4]) end
return 1`;
const SWAP_SHA1 = createHash('sha1').update(SWAP_SCRIPT).digest('hex');

export interface RedisSessionStoreOptions {
  /** `redis://[[user][:password]@]host[:port][/db]` (or `rediss://` for TLS). */
  url: string;
  /** Prepended to every key (default `coaps:session:`). */
  prefix?: string;
  /** A command without a reply by then rejects (default 1000 ms). */
  commandTimeoutMs?: number;
  /** The first connection must be made by then, or `connectRedisSessionStore` rejects (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Connection errors (the client reconnects by itself); default: ignored. */
  onError?: (error: Error) => void;
}

export interface RedisSessionStore extends SessionStore {
  /** Connected now (false while it reconnects). */
  readonly ready: boolean;
  /** Closes the connection (pending calls are answered first). */
  close(): Promise<void>;
}

/** Connects to Redis; resolves once the first connection is made. */
export async function connectRedisSessionStore(o: RedisSessionStoreOptions): Promise<RedisSessionStore> {
  if (typeof o?.url !== 'string' || !/^rediss?:\/\//.test(o.url)) throw new DtlsError('INVALID_ARGUMENT', `redis session store: url must be redis://HOST:PORT (got ${String(o?.url)})`);
  const prefix = o.prefix ?? DEFAULT_REDIS_PREFIX;
  const commandTimeoutMs = positive('commandTimeoutMs', o.commandTimeoutMs ?? 1000);
  const connectTimeoutMs = positive('connectTimeoutMs', o.connectTimeoutMs ?? 5000);
  const onError = o.onError ?? (() => undefined);

  let connected = false;
  const client = createClient({
    url: o.url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: connectTimeoutMs,
      // Before the first connection, fail (connect rejects); after it, retry forever.
      reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(50 * 2 ** Math.min(retries, 6), 2000) : cause),
    },
  });
  client.on('error', (e: Error) => onError(e));
  await client.connect();
  connected = true;

  // Replies as Buffers (binary-safe); a command waiting longer than the timeout rejects, sent or not (GET/SET/DEL are
  // idempotent; a swap that timed out may have happened, which the caller allows for: see SessionStore).
  const binary = client.withCommandOptions({ timeout: commandTimeoutMs, rejectInFlight: true }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const key = (k: string) => prefix + k;
  // cached now, so that swaps are one EVALSHA each (a restarted server forgets it: see swap)
  await client.scriptLoad(SWAP_SCRIPT).catch((e: Error) => onError(e)); // (a swap then sends the script itself)
  const bytes = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

  return {
    get ready() {
      return client.isReady;
    },
    async get(k) {
      checkStoreKey(k);
      const v = await binary.get(key(k));
      return v === null ? undefined : new Uint8Array(v);
    },
    async put(k, value, ttlMs) {
      checkStorePut(k, value, ttlMs);
      await binary.set(key(k), bytes(value), { expiration: { type: 'PX', value: ttlMs } });
    },
    async delete(k) {
      checkStoreKey(k);
      await binary.del(key(k));
    },
    async swap(k, expected, value, ttlMs) {
      checkStoreSwap(k, expected, value, ttlMs);
      const args = { keys: [key(k)], arguments: [bytes(expected), value === undefined ? 'del' : 'set', value === undefined ? '' : bytes(value), String(ttlMs)] };
      let reply: unknown;
      try {
        reply = await binary.evalSha(SWAP_SHA1, args);
      } catch (e) {
        // the server's script cache is empty (a new or restarted server): send the script itself once
        if (!(e instanceof Error && e.message.startsWith('NOSCRIPT'))) throw e;
        reply = await binary.eval(SWAP_SCRIPT, args);
      }
      return reply === 1;
    },
    async close() {
      if (client.isOpen) await client.close();
    },
  };
}

function positive(what: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new DtlsError('INVALID_ARGUMENT', `redis session store: ${what} ${v} must be a whole number of milliseconds >= 1`);
  return v;
}
