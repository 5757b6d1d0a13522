/**
 * The server's session cache for resumption by session ID (lib/dtls/session-cache.ts): LRU,
 * bounded in entries and in time, no session without extended master secret, copies in and out.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../lib/bytes/util.js';
import { DtlsError } from '../lib/dtls/errors.js';
import type { ResumableSession } from '../lib/dtls/resumable-session.js';
import { SessionCache } from '../lib/dtls/session-cache.js';
import { CipherSuite } from '../lib/dtls/wire/constants.js';

const id = (n: number) => Uint8Array.from({ length: 32 }, (_, i) => (n + i) & 0xff);
function session(n: number, o: Partial<ResumableSession> = {}): ResumableSession {
  return {
    cipherSuite: CipherSuite.TLS_PSK_WITH_AES_128_CCM_8,
    extendedMasterSecret: true,
    masterSecret: new Uint8Array(48).fill(n),
    peer: { kind: 'psk', identity: utf8(`device-${n}`) },
    createdAt: 0,
    ...o,
  };
}

describe('SessionCache', () => {
  it('keeps a session under its ID and gives it back', () => {
    const cache = new SessionCache();
    expect(cache.put(10, id(1), session(1))).toBe(true);
    expect(cache.get(20, id(1))).toEqual(session(1));
    expect(cache.get(20, id(2))).toBeUndefined();
    expect(cache.get(20, new Uint8Array(0))).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('copies the master secret in and out; entries are wiped when they go', () => {
    const cache = new SessionCache();
    const s = session(7);
    cache.put(0, id(1), s);
    s.masterSecret.fill(0); // the caller wipes its own copy
    const got = cache.get(0, id(1))!;
    expect(got.masterSecret.every((b) => b === 7)).toBe(true);
    got.masterSecret.fill(0);
    expect(cache.get(0, id(1))!.masterSecret.every((b) => b === 7)).toBe(true);
    expect(cache.delete(id(1))).toBe(true);
    expect(cache.delete(id(1))).toBe(false);
    expect(cache.get(0, id(1))).toBeUndefined();
    // the slots held the master secret: nothing of it is left
    const inside = cache as unknown as { records: { nonZeroBytes(): number; size: number }; ids: Uint8Array };
    expect(inside.records.nonZeroBytes()).toBe(0);
    expect(inside.records.size).toBe(0);
    expect(inside.ids.every((b) => b === 0)).toBe(true);
  });

  it('LRU: when full, the least recently used session goes; get() counts as use', () => {
    const cache = new SessionCache({ maxEntries: 3 });
    for (const n of [1, 2, 3]) cache.put(0, id(n), session(n));
    expect(cache.get(0, id(1))).toBeDefined(); // 1 is now the most recent: 2 is the oldest
    cache.put(0, id(4), session(4));
    expect(cache.size).toBe(3);
    expect(cache.get(0, id(2))).toBeUndefined();
    for (const n of [1, 3, 4]) expect(cache.get(0, id(n)), `session ${n}`).toBeDefined();
    // replacing an entry does not grow the cache, and makes it the most recent
    cache.put(0, id(1), session(9));
    expect(cache.size).toBe(3);
    expect(cache.get(0, id(1))!.masterSecret[0]).toBe(9);
  });

  it('lifetime counts from the full handshake (createdAt), not from put or get', () => {
    const cache = new SessionCache({ lifetimeMs: 1_000 });
    expect(cache.put(500, id(1), session(1, { createdAt: 400 }))).toBe(true); // expires at 1 400
    expect(cache.get(1_399, id(1))).toBeDefined();
    expect(cache.get(1_400, id(1))).toBeUndefined();
    expect(cache.size).toBe(0); // dropped when found expired
    expect(cache.put(2_000, id(2), session(2, { createdAt: 1_000 }))).toBe(false); // already over
    expect(cache.size).toBe(0);
  });

  it('prune() drops every expired session at once', () => {
    const cache = new SessionCache({ lifetimeMs: 1_000 });
    cache.put(0, id(1), session(1, { createdAt: 0 }));
    cache.put(0, id(2), session(2, { createdAt: 500 }));
    cache.put(0, id(3), session(3, { createdAt: 900 }));
    cache.prune(1_500);
    expect(cache.size).toBe(1);
    expect(cache.get(1_500, id(3))).toBeDefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('never keeps a session without extended master secret (RFC 7627 §5.3)', () => {
    const cache = new SessionCache();
    expect(cache.put(0, id(1), session(1, { extendedMasterSecret: false }))).toBe(false);
    expect(cache.get(0, id(1))).toBeUndefined();
  });

  it('session IDs are 1..32 bytes; options are checked', () => {
    const cache = new SessionCache();
    expect(() => cache.put(0, new Uint8Array(0), session(1))).toThrow(DtlsError);
    expect(() => cache.put(0, new Uint8Array(33), session(1))).toThrow(DtlsError);
    expect(cache.put(0, new Uint8Array([5]), session(1))).toBe(true);
    expect(cache.get(0, new Uint8Array(33))).toBeUndefined();
    expect(() => new SessionCache({ maxEntries: 0 })).toThrow(DtlsError);
    expect(() => new SessionCache({ maxEntries: 1.5 })).toThrow(DtlsError);
    expect(() => new SessionCache({ lifetimeMs: 0 })).toThrow(DtlsError);
    expect(() => new SessionCache({ lifetimeMs: Infinity })).toThrow(DtlsError);
  });

  it('property: against a model, size never exceeds the bound and get answers like an LRU map', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), key: fc.nat({ max: 9 }), dt: fc.nat({ max: 300 }) }),
      fc.record({ kind: fc.constant('get' as const), key: fc.nat({ max: 9 }), dt: fc.nat({ max: 300 }) }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.nat({ max: 9 }), dt: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (max, ops) => {
        const lifetime = 1_000;
        const cache = new SessionCache({ maxEntries: max, lifetimeMs: lifetime });
        const model: Array<{ key: number; createdAt: number }> = []; // oldest use first
        let now = 0;
        for (const o of ops) {
          now += o.dt;
          const at = model.findIndex((e) => e.key === o.key);
          if (o.kind === 'put') {
            cache.put(now, id(o.key), session(o.key, { createdAt: now }));
            if (at >= 0) model.splice(at, 1);
            model.push({ key: o.key, createdAt: now });
            if (model.length > max) model.shift();
          } else if (o.kind === 'get') {
            const got = cache.get(now, id(o.key));
            const live = at >= 0 && now < model[at]!.createdAt + lifetime;
            expect(got !== undefined).toBe(live);
            if (at >= 0) {
              const [e] = model.splice(at, 1);
              if (live) model.push(e!);
            }
          } else {
            expect(cache.delete(id(o.key))).toBe(at >= 0);
            if (at >= 0) model.splice(at, 1);
          }
          expect(cache.size).toBe(model.length);
          expect(cache.size).toBeLessThanOrEqual(max);
        }
      }),
    );
  });

  it('grows its slots up to maxEntries, keeping the most recent; a large session has its own array', () => {
    const cache = new SessionCache({ maxEntries: 300 });
    const big = session(1, { peer: { kind: 'psk', identity: new Uint8Array(400).fill(0x61) } });
    cache.put(0, id(1000), big);
    for (let n = 0; n < 1000; n++) cache.put(0, Uint8Array.of(n >> 8, n & 0xff, 7), session(n & 0xff));
    expect(cache.size).toBe(300);
    expect(cache.get(0, id(1000))).toBeUndefined(); // the oldest went first
    for (let n = 0; n < 700; n++) expect(cache.get(0, Uint8Array.of(n >> 8, n & 0xff, 7))).toBeUndefined();
    for (let n = 700; n < 1000; n++) expect(cache.get(0, Uint8Array.of(n >> 8, n & 0xff, 7))!.masterSecret[0]).toBe(n & 0xff);
    cache.put(0, id(1000), big); // evicts one small session, reuses its slot for a large one
    expect(cache.get(0, id(1000))).toEqual(big);
    expect(cache.size).toBe(300);
  });

  it('two session IDs of one hash: the newer replaces the older, and neither is mistaken for the other', () => {
    // find two 8-byte IDs of one 30-bit hash: pseudo-random IDs collide after about 2^15 (birthday bound)
    const cache = new SessionCache({ maxEntries: 4 });
    const probe = (n: number) => {
      const x = Math.imul(n ^ 0x5bd1e995, 0x9e3779b1);
      return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff, x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff);
    };
    const seen = new Map<number, number>();
    let a = -1;
    let b = -1;
    for (let n = 0; a < 0 && n < 1 << 22; n++) {
      const h = fnv(probe(n));
      const other = seen.get(h);
      if (other !== undefined) [a, b] = [other, n];
      else seen.set(h, n);
    }
    expect(a).toBeGreaterThanOrEqual(0);
    cache.put(0, probe(a), session(1));
    expect(cache.get(0, probe(b))).toBeUndefined(); // same hash, other bytes
    cache.put(0, probe(b), session(2));
    expect(cache.get(0, probe(a))).toBeUndefined();
    expect(cache.get(0, probe(b))!.masterSecret[0]).toBe(2);
    expect(cache.size).toBe(1);
  });
});

/** The cache's ID hash (lib/dtls/session-cache.ts idHash), to find a collision. */
function fnv(id: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id[i]!, 0x01000193);
  return (h ^ (id.length << 24)) & 0x3fffffff;
}


describe('SessionCache, a session that does not encode', () => {
  it('throws and changes nothing', () => {
    const cache = new SessionCache({ maxEntries: 2 });
    cache.put(0, id(1), session(1));
    expect(() => cache.put(0, id(2), session(2, { masterSecret: new Uint8Array(47) }))).toThrow(RangeError);
    expect(() => cache.put(0, id(1), session(1, { createdAt: -5 }))).toThrow(RangeError);
    expect(cache.size).toBe(1);
    expect(cache.get(0, id(1))!.masterSecret[0]).toBe(1); // the entry of the same ID is still there
    cache.put(0, id(3), session(3));
    expect(cache.size).toBe(2);
    expect(cache.get(0, id(1))).toBeDefined();
    expect(cache.get(0, id(3))).toBeDefined();
  });
});
