/**
 * The session store contract (lib/dtls/session-store.ts), one suite run against both
 * implementations: the in-memory store (time as an input) and the Redis store on a real
 * redis-server (test/helpers/redis.ts: Debian's redis-server on a free loopback port, no
 * persistence). Then what only Redis has: namespaced binary keys with a PX expiry, a
 * server that goes away and comes back, a server that is not there.
 *
 * Without redis-server these tests fail, telling how to install it (interop/install-peers.sh).
 */
import { createClient, RESP_TYPES } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../lib/bytes/util.js';
import { DtlsError } from '../lib/dtls/errors.js';
import { memorySessionStore } from '../lib/dtls/memory-session-store.js';
import { decodeSessionSnapshot, encodeSessionSnapshot } from '../lib/dtls/session-snapshot-codec.js';
import type { SessionSnapshot } from '../lib/dtls/session-snapshot.js';
import { addressKey, cidKey, type SessionStore } from '../lib/dtls/session-store.js';
import { connectRedisSessionStore, type RedisSessionStore } from '../transports/redis-session-store.js';
import { counting } from './helpers/bytes.js';
import { startRedis, type RedisServer } from './helpers/redis.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `f` resolves truthy (returned) or `ms` pass (throws). */
async function eventually<T>(f: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

const SNAPSHOT: SessionSnapshot = {
  version: 1,
  role: 'server',
  cipherSuite: 0xc0a8,
  extendedMasterSecret: true,
  masterSecret: counting(0, 47),
  epoch: 1,
  writeKey: counting(0x40, 0x4f),
  writeIv: counting(0x50, 0x53),
  readKey: counting(0x60, 0x6f),
  readIv: counting(0x70, 0x73),
  writeSequenceLease: 1025,
  replayTop: 17,
  replayBitmap: 0x3ffffn,
  readCid: fromHex('0a1b2c'),
  writeCid: undefined,
  sendLimit: 16384,
  receiveLimit: 16384,
  peer: { kind: 'psk', identity: new TextEncoder().encode('Client_identity') },
};

/** A store under test, and how to let time pass for it (the memory store's clock is ours; Redis's is real). */
interface Subject {
  store: SessionStore;
  advance(ms: number): Promise<void>;
}

let redis: RedisServer | undefined;
/** Why redis-server did not start: every Redis test fails with it (the memory tests still run). */
let redisError: unknown;
const redisStores: RedisSessionStore[] = [];
let prefixes = 0;

beforeAll(async () => {
  try {
    redis = await startRedis();
  } catch (e) {
    redisError = e;
  }
});

afterAll(async () => {
  for (const s of redisStores) await s.close().catch(() => undefined);
  await redis?.close();
});

function server(): RedisServer {
  if (!redis) throw redisError instanceof Error ? redisError : new Error(String(redisError));
  return redis;
}

async function redisStore(o: { prefix?: string; commandTimeoutMs?: number; errors?: Error[] } = {}): Promise<RedisSessionStore> {
  const s = await connectRedisSessionStore({ url: server().url, prefix: o.prefix ?? `test${++prefixes}:`, commandTimeoutMs: o.commandTimeoutMs, onError: (e) => o.errors?.push(e) });
  redisStores.push(s);
  return s;
}

const subjects: [string, () => Promise<Subject>][] = [
  [
    'memory',
    async () => {
      let now = 1_000_000;
      return { store: memorySessionStore({ clock: () => now }), advance: async (ms) => void (now += ms) };
    },
  ],
  ['redis', async () => ({ store: await redisStore(), advance: sleep })],
];

describe.each(subjects)('%s store: the SessionStore contract', (_name, make) => {
  it('get of a key never put is undefined; put then get gives the bytes back', async () => {
    const { store } = await make();
    expect(await store.get('cid:00')).toBeUndefined();
    await store.put('cid:00', fromHex('00ff10'), 60_000);
    const v = await store.get('cid:00');
    expect(v).toBeInstanceOf(Uint8Array);
    expect(toHex(v!)).toBe('00ff10');
  });

  it('binary values: every byte value, invalid UTF-8, empty, 64 KiB, an encoded snapshot', async () => {
    const { store } = await make();
    const big = new Uint8Array(65536).map((_, i) => (i * 31) & 0xff);
    const values = [counting(0, 255), fromHex('c3ffc0afeda080'), new Uint8Array(0), big, encodeSessionSnapshot(SNAPSHOT)];
    for (const [i, v] of values.entries()) await store.put(`v${i}`, v, 60_000);
    for (const [i, v] of values.entries()) expect(toHex((await store.get(`v${i}`))!)).toBe(toHex(v));
    expect(decodeSessionSnapshot((await store.get('v4'))!)).toEqual(SNAPSHOT);
  });

  it('values are copied: the caller may wipe what it put or got', async () => {
    const { store } = await make();
    const v = fromHex('010203');
    await store.put('k', v, 60_000);
    v.fill(0);
    const got = (await store.get('k'))!;
    expect(toHex(got)).toBe('010203');
    got.fill(0);
    expect(toHex((await store.get('k'))!)).toBe('010203');
  });

  it('a view into a larger buffer stores only its own bytes', async () => {
    const { store } = await make();
    const big = counting(0, 99);
    await store.put('view', big.subarray(10, 14), 60_000);
    expect(toHex((await store.get('view'))!)).toBe('0a0b0c0d');
  });

  it('put replaces the value and its expiry; delete removes; deleting an absent key is fine', async () => {
    const { store, advance } = await make();
    await store.put('k', fromHex('01'), 100);
    await store.put('k', fromHex('02'), 60_000);
    await advance(300);
    expect(toHex((await store.get('k'))!)).toBe('02');
    await store.delete('k');
    expect(await store.get('k')).toBeUndefined();
    await store.delete('k');
    await store.delete('never-put');
  });

  it('a value expires after its TTL; another with a longer TTL stays', async () => {
    const { store, advance } = await make();
    await store.put('short', fromHex('01'), 50);
    await store.put('long', fromHex('02'), 60_000);
    await advance(300);
    expect(await store.get('short')).toBeUndefined();
    expect(toHex((await store.get('long'))!)).toBe('02');
  });

  it('keys by CID and by address are distinct, and distinct from each other', async () => {
    const { store } = await make();
    const keys = [cidKey(fromHex('0a1b')), cidKey(new Uint8Array(0)), addressKey({ address: '10.0.0.1', port: 5684 }), addressKey({ address: '::1', port: 5684 }), addressKey({ address: '10.0.0.1', port: 5685 })];
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.slice(0, 3)).toEqual(['cid:0a1b', 'cid:', 'addr:10.0.0.1|5684']);
    for (const [i, k] of keys.entries()) await store.put(k, Uint8Array.of(i), 60_000);
    for (const [i, k] of keys.entries()) expect([...(await store.get(k))!]).toEqual([i]);
  });

  it('swap: equal -> replaced (value and expiry); different -> untouched; absent -> false', async () => {
    const { store, advance } = await make();
    await store.put('k', fromHex('01'), 100);
    expect(await store.swap('k', fromHex('01'), fromHex('02'), 60_000)).toBe(true);
    await advance(300); // the swap gave the value a new TTL
    expect(toHex((await store.get('k'))!)).toBe('02');
    expect(await store.swap('k', fromHex('01'), fromHex('03'), 60_000)).toBe(false); // the old value: someone wrote since
    expect(await store.swap('k', fromHex('0201'), fromHex('03'), 60_000)).toBe(false); // a longer value with the same start
    expect(await store.swap('k', new Uint8Array(0), fromHex('03'), 60_000)).toBe(false);
    expect(toHex((await store.get('k'))!)).toBe('02');
    expect(await store.swap('absent', fromHex('02'), fromHex('03'), 60_000)).toBe(false);
    expect(await store.swap('absent', new Uint8Array(0), fromHex('03'), 60_000)).toBe(false); // absent is not the empty value
    expect(await store.get('absent')).toBeUndefined();
    await store.put('short', fromHex('05'), 50);
    await advance(300);
    expect(await store.swap('short', fromHex('05'), fromHex('06'), 60_000)).toBe(false); // expired is absent
    expect(await store.get('short')).toBeUndefined();
  });

  it('swap with no value deletes, only when equal', async () => {
    const { store } = await make();
    await store.put('k', fromHex('0a0b'), 60_000);
    expect(await store.swap('k', fromHex('0a0c'), undefined, 60_000)).toBe(false);
    expect(toHex((await store.get('k'))!)).toBe('0a0b');
    expect(await store.swap('k', fromHex('0a0b'), undefined, 60_000)).toBe(true);
    expect(await store.get('k')).toBeUndefined();
    expect(await store.swap('k', fromHex('0a0b'), undefined, 60_000)).toBe(false);
    // the empty value is a value: swapped to and from, and deleted
    await store.put('e', new Uint8Array(0), 60_000);
    expect(await store.swap('e', new Uint8Array(0), fromHex('00'), 60_000)).toBe(true);
    expect(await store.swap('e', fromHex('00'), new Uint8Array(0), 60_000)).toBe(true);
    expect((await store.get('e'))!.length).toBe(0);
    expect(await store.swap('e', new Uint8Array(0), undefined, 60_000)).toBe(true);
    expect(await store.get('e')).toBeUndefined();
  });

  it('swap compares and writes binary values byte for byte (0x00, 0xff, invalid UTF-8, a snapshot)', async () => {
    const { store } = await make();
    const a = fromHex('00ff00ffc3ff80');
    const b = fromHex('ff00ff0000000000eda080');
    await store.put('bin', a, 60_000);
    // equal as UTF-8 with replacement characters, or as C strings, but not as bytes
    expect(await store.swap('bin', fromHex('00ff00ffc3ff81'), b, 60_000)).toBe(false);
    expect(await store.swap('bin', fromHex('00'), b, 60_000)).toBe(false);
    expect(await store.swap('bin', fromHex('00fe00ffc3ff80'), b, 60_000)).toBe(false);
    expect(toHex((await store.get('bin'))!)).toBe(toHex(a));
    expect(await store.swap('bin', a.slice(), b, 60_000)).toBe(true);
    expect(toHex((await store.get('bin'))!)).toBe(toHex(b));
    const snap = encodeSessionSnapshot(SNAPSHOT);
    const big = counting(0, 255);
    expect(await store.swap('bin', b, snap, 60_000)).toBe(true);
    expect(await store.swap('bin', snap, big.subarray(1, 200), 60_000)).toBe(true); // a view: only its own bytes
    expect(toHex((await store.get('bin'))!)).toBe(toHex(big.subarray(1, 200)));
    expect(await store.swap('bin', big.subarray(1, 200), undefined, 60_000)).toBe(true);
  });

  it('concurrent swaps on one value: exactly one wins', async () => {
    const { store } = await make();
    await store.put('race', fromHex('01'), 60_000);
    const answers = await Promise.all([2, 3, 4, 5, 6, 7, 8, 9].map((i) => store.swap('race', fromHex('01'), Uint8Array.of(i), 60_000)));
    expect(answers.filter((x) => x).length).toBe(1);
    expect([...(await store.get('race'))!]).toEqual([2 + answers.indexOf(true)]);
  });

  it('bad arguments reject with INVALID_ARGUMENT', async () => {
    const { store } = await make();
    for (const p of [
      store.put('', fromHex('01'), 1000),
      store.put('k', fromHex('01'), 0),
      store.put('k', fromHex('01'), 1.5),
      store.put('k', 'x' as unknown as Uint8Array, 1000),
      store.get(''),
      store.delete(''),
      store.swap('', fromHex('01'), fromHex('02'), 1000),
      store.swap('k', 'x' as unknown as Uint8Array, fromHex('02'), 1000),
      store.swap('k', fromHex('01'), 'x' as unknown as Uint8Array, 1000),
      store.swap('k', fromHex('01'), undefined, 0),
    ]) {
      await expect(p).rejects.toThrow(DtlsError);
      await p.catch((e: DtlsError) => expect(e.code).toBe('INVALID_ARGUMENT'));
    }
  });
});

describe('memory store', () => {
  it('expiry is judged by the injected clock, at exactly put time + TTL', async () => {
    let now = 0;
    const store = memorySessionStore({ clock: () => now });
    await store.put('k', fromHex('01'), 100);
    now = 99;
    expect(await store.get('k')).toBeDefined();
    now = 100;
    expect(await store.get('k')).toBeUndefined();
    expect(store.size).toBe(0); // dropped when read
  });

  it('a full store drops the least recently put entry', async () => {
    const store = memorySessionStore({ clock: () => 0, maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) await store.put(k, fromHex('01'), 1000);
    await store.put('a', fromHex('02'), 1000); // a is now the most recent
    await store.put('d', fromHex('03'), 1000);
    expect(store.size).toBe(3);
    expect(await store.get('b')).toBeUndefined();
    expect(toHex((await store.get('a'))!)).toBe('02');
    expect(await store.get('c')).toBeDefined();
  });

  it('needs a clock (lib/ never reads one) and a sane size', () => {
    expect(() => memorySessionStore({} as never)).toThrow(DtlsError);
    expect(() => memorySessionStore({ clock: () => 0, maxEntries: 0 })).toThrow(DtlsError);
  });
});

describe('redis store', () => {
  it('writes namespaced binary keys with a PX expiry (seen by another client)', async () => {
    const store = await redisStore({ prefix: 'coaps:session:' });
    const raw = createClient({ url: server().url }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    await raw.connect();
    try {
      const key = cidKey(fromHex('0a1b2c'));
      const value = encodeSessionSnapshot(SNAPSHOT);
      await store.put(key, value, 30_000);
      const stored = await raw.get('coaps:session:cid:0a1b2c');
      expect(stored).toBeInstanceOf(Buffer);
      expect(toHex(stored!)).toBe(toHex(value));
      const pttl = await raw.pTTL('coaps:session:cid:0a1b2c');
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(30_000);
      expect(await raw.exists('cid:0a1b2c')).toBe(0);
      await store.delete(key);
      expect(await raw.exists('coaps:session:cid:0a1b2c')).toBe(0);
    } finally {
      await raw.close();
    }
  });

  it('swap is one script on the server: it works on a server with an empty script cache, and writes a PX expiry', async () => {
    const store = await redisStore({ prefix: 'swap:' });
    const raw = createClient({ url: server().url }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    await raw.connect();
    try {
      await raw.scriptFlush();
      await raw.set('swap:k', Buffer.from([0, 0xff, 0]));
      expect(await store.swap('k', fromHex('00ff00'), fromHex('ff0000ff'), 30_000)).toBe(true); // NOSCRIPT, then EVAL
      expect(toHex((await raw.get('swap:k'))!)).toBe('ff0000ff');
      const pttl = await raw.pTTL('swap:k');
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(30_000);
      expect(await store.swap('k', fromHex('ff0000ff'), fromHex('01'), 30_000)).toBe(true); // EVALSHA
      await raw.set('swap:k', 'other');
      expect(await store.swap('k', fromHex('01'), undefined, 30_000)).toBe(false);
      expect(await raw.exists('swap:k')).toBe(1);
    } finally {
      await raw.close();
    }
  });

  it('a swap by one connection fences a second (two processes)', async () => {
    const a = await redisStore({ prefix: 'fence:' });
    const b = await redisStore({ prefix: 'fence:' });
    await a.put('k', fromHex('01'), 60_000);
    const read = (await b.get('k'))!;
    expect(await b.swap('k', read, fromHex('02'), 60_000)).toBe(true); // b takes over
    expect(await a.swap('k', fromHex('01'), fromHex('03'), 60_000)).toBe(false); // a's renewal loses
    expect(await a.swap('k', fromHex('01'), undefined, 60_000)).toBe(false); // and deletes nothing
    expect(toHex((await a.get('k'))!)).toBe('02');
  });

  it('two prefixes on one server do not see each other', async () => {
    const a = await redisStore({ prefix: 'a:' });
    const b = await redisStore({ prefix: 'b:' });
    await a.put('k', fromHex('aa'), 60_000);
    expect(await b.get('k')).toBeUndefined();
  });

  it('a second connection (another process) reads what the first wrote', async () => {
    const a = await redisStore({ prefix: 'shared:' });
    const b = await redisStore({ prefix: 'shared:' });
    await a.put(cidKey(fromHex('01')), encodeSessionSnapshot(SNAPSHOT), 60_000);
    expect(decodeSessionSnapshot((await b.get(cidKey(fromHex('01'))))!)).toEqual(SNAPSHOT);
  });

  it('rejects while the server is down (no offline queue) and works again after it restarts', async () => {
    const errors: Error[] = [];
    const store = await redisStore({ errors });
    await store.put('k', fromHex('01'), 60_000);
    await server().stop();
    await expect(store.get('k')).rejects.toThrow();
    await expect(store.put('k', fromHex('02'), 60_000)).rejects.toThrow();
    await expect(store.swap('k', fromHex('01'), fromHex('02'), 60_000)).rejects.toThrow();
    expect(store.ready).toBe(false);
    await server().restart();
    // The client reconnects by itself (backoff at most 2 s); the new server is empty.
    await eventually(async () => (await store.put('k', fromHex('03'), 60_000), true), 15_000, 'a put after the restart');
    expect(store.ready).toBe(true);
    expect(toHex((await store.get('k'))!)).toBe('03');
    expect(errors.length).toBeGreaterThan(0); // reported to onError, not thrown
  });

  it('connecting to a port with no server rejects', async () => {
    const r = await startRedis();
    const url = r.url;
    await r.close();
    await expect(connectRedisSessionStore({ url, connectTimeoutMs: 2000 })).rejects.toThrow();
  });

  it('refuses a URL that is not redis://', async () => {
    await expect(connectRedisSessionStore({ url: 'http://127.0.0.1:6379' })).rejects.toThrow(DtlsError);
  });

  it('after close, calls reject', async () => {
    const store = await redisStore();
    await store.close();
    await expect(store.get('k')).rejects.toThrow();
  });
});
