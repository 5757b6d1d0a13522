import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { nodeCrypto } from '../lib/crypto/node.js';
import type { DtlsEndpoint } from '../lib/dtls/endpoint.js';
import type { EndpointEvent } from '../lib/dtls/endpoint-events.js';
import { DtlsError } from '../lib/dtls/errors.js';
import type { ServerConnection } from '../lib/dtls/handshake/server.js';
import { decodeSleeping, encodeSleeping, type SleepingConnection } from '../lib/dtls/hibernation.js';
import { SLOT_BYTES, type SessionSlab } from '../lib/dtls/session-slab.js';
import { seededRandom } from '../transports/sim.js';
import { CLIENT, DirectLink } from './helpers/direct-link.js';
import { dec, enc, handshake, Pair } from './helpers/harness.js';

/** nodeCrypto with a seeded random: two runs with the same seed make the same bytes. */
function seeded(seed: number): CryptoProvider {
  const r = seededRandom(seed);
  return {
    ...nodeCrypto,
    random(n) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
      return b;
    },
  };
}

/** The server's events so far (collected from the endpoint first). */
const evs = (l: DirectLink): EndpointEvent[] => {
  l.serverHas('data');
  return l.serverEvents;
};
const slab = (ep: DtlsEndpoint) => (ep as unknown as { hibernation: { slab: SessionSlab } }).hibernation.slab;
const serverConnection = (events: EndpointEvent[]): ServerConnection => {
  const e = events.find((x) => x.type === 'connected');
  if (!e || e.type !== 'connected') throw new Error('not connected');
  return e.connection;
};

/**
 * Two identical runs (same seeds, same inputs), one server hibernating its idle session (30 s)
 * and one never: `step` does the same to both and returns what each server sent.
 */
function twins(server: Record<string, unknown> = {}, client: Record<string, unknown> = {}) {
  const make = (hibernateAfterMs: number) => new DirectLink({ server: { crypto: seeded(7), hibernateAfterMs, idleTimeoutMs: 600_000, ...server }, client: { crypto: seeded(9), ...client } });
  const a = make(30_000), b = make(0);
  let lastClientFlight: Uint8Array[] = [];
  for (const l of [a, b]) {
    l.client.start(l.now);
    for (let round = 0; round < 20; round++) {
      const c = l.fromClient(), s = l.fromServer();
      if (c.length + s.length === 0) break;
      if (c.length > 0 && l === a) lastClientFlight = c;
      for (const d of c) l.toServer(d);
      for (const d of s) l.toClient(d);
    }
    expect(l.clientHas('connected') && l.serverHas('connected')).toBe(true);
  }
  /** Runs `f` on both links; what each server sent must be the same bytes. */
  const step = (f: (l: DirectLink) => void): Uint8Array[] => {
    f(a);
    f(b);
    const sa = a.fromServer(), sb = b.fromServer();
    expect(sa).toEqual(sb);
    return sa;
  };
  const at = (t: number) => step((l) => {
    l.now = t;
    l.endpoint.handleTimeout(t);
  });
  return { a, b, step, at, lastClientFlight };
}

describe('hibernation of idle established sessions', () => {
  it('a hibernated session answers byte for byte as one that never slept (keys, sequence numbers, lingering flight)', () => {
    const { a, b, step, at, lastClientFlight } = twins();
    at(31_000);
    expect(a.endpoint.sessionsHibernated).toBe(1);
    expect(b.endpoint.sessionsHibernated).toBe(0);
    // the client repeats its last flight: both answer with the lingering last flight (RFC 6347 §4.2.4)
    const again = step((l) => lastClientFlight.forEach((d) => l.toServer(d)));
    expect(again.length).toBeGreaterThan(0);
    at(62_000);
    expect(a.endpoint.sessionsHibernated).toBe(1);
    // application data both ways: the same records (the same keys and sequence numbers)
    const fromClient: Uint8Array[] = [];
    step((l) => {
      l.client.send(l.now, enc('ping'));
      const d = l.fromClient();
      if (l === a) fromClient.push(...d);
      d.forEach((x) => l.toServer(x));
      const ev = evs(l).filter((e) => e.type === 'data');
      expect(ev.map((e) => e.type === 'data' && dec(e.data))).toEqual(['ping']);
      l.endpoint.send(l.now, serverConnection(l.serverEvents), enc('pong'));
    });
    expect(a.endpoint.sessionsHibernated).toBe(0);
    for (const t of [100_000, 200_000, 300_000]) {
      at(t);
      expect(a.endpoint.sessionsHibernated).toBe(1);
      const out = step((l) => l.endpoint.send(l.now, serverConnection(l.serverEvents), enc(`at ${t}`)));
      expect(out.length).toBe(1);
    }
    // the replay window survived: the old record is dropped after waking, a new one is not
    at(400_000);
    expect(a.endpoint.sessionsHibernated).toBe(1);
    step((l) => fromClient.forEach((d) => l.toServer(d)));
    for (const l of [a, b]) expect(evs(l).filter((e) => e.type === 'data').length).toBe(1);
    step((l) => {
      l.client.send(l.now, enc('second'));
      l.fromClient().forEach((d) => l.toServer(d));
    });
    for (const l of [a, b]) expect(evs(l).filter((e) => e.type === 'data').length).toBe(2);
  });

  it('the session, state and idle deadline of a hibernated connection are those of the awake one', () => {
    const { a, b, at } = twins();
    at(31_000);
    const ca = serverConnection(a.serverEvents), cb = serverConnection(b.serverEvents);
    expect(ca.sleeping).toBe(true);
    expect(ca.state).toBe('connected');
    expect(ca.session).toEqual(cb.session);
    expect(ca.sleeping).toBe(true); // reading the session does not wake it
    // asleep, it wakes for the end of the lingering flight as the awake one does
    expect(a.endpoint.pollTimeout()).toBe(b.endpoint.pollTimeout());
  });

  it('close and idle expiry of a hibernated session free its slot, zeroed', () => {
    const t = twins();
    t.at(31_000);
    expect(slab(t.a.endpoint).size).toBe(1);
    expect(slab(t.a.endpoint).nonZeroBytes()).toBeGreaterThan(0);
    t.step((l) => l.endpoint.closeSession(l.now, serverConnection(l.serverEvents)));
    expect(slab(t.a.endpoint).size).toBe(0);
    expect(slab(t.a.endpoint).nonZeroBytes()).toBe(0);
    for (const l of [t.a, t.b]) expect(l.serverHas('closed')).toBe(true);

    const u = twins();
    u.at(31_000);
    expect(slab(u.a.endpoint).size).toBe(1);
    // the idle timeout (600 s after the last record) fires at the same instant, asleep or not
    u.at(599_000);
    expect(u.a.endpoint.sessionCount).toBe(1);
    const lastRecordAt = 0;
    u.at(lastRecordAt + 600_000);
    for (const l of [u.a, u.b]) {
      expect(l.endpoint.sessionCount).toBe(0);
      const f = evs(l).find((e) => e.type === 'failed');
      expect(f?.type === 'failed' && f.error.code).toBe('IDLE_TIMEOUT');
    }
    expect(slab(u.a.endpoint).size).toBe(0);
    expect(slab(u.a.endpoint).nonZeroBytes()).toBe(0);
  });

  it('a new handshake replacing a hibernated session frees its slot, zeroed', () => {
    const { a, at } = twins();
    at(31_000);
    expect(slab(a.endpoint).size).toBe(1);
    const l2 = new DirectLink({ client: { crypto: seeded(11) } });
    l2.client.start(a.now);
    for (let round = 0; round < 20; round++) {
      const c = l2.fromClient(), s = a.fromServer();
      if (c.length + s.length === 0) break;
      c.forEach((d) => a.toServer(d));
      s.forEach((d) => l2.toClient(d));
    }
    expect(evs(a).some((e) => e.type === 'failed' && e.error.code === 'REPLACED')).toBe(true);
    expect(a.endpoint.sessionCount).toBe(1);
    expect(slab(a.endpoint).size).toBe(0);
    expect(slab(a.endpoint).nonZeroBytes()).toBe(0);
  });

  it('an RFC 9146 session wakes by its CID, from another address', () => {
    const { a, b, step, at } = twins({ connectionId: 4 }, { connectionId: true });
    at(31_000);
    expect(a.endpoint.sessionsHibernated).toBe(1);
    const moved = { address: '10.9.9.9', port: 1234 };
    step((l) => {
      l.client.send(l.now, enc('from elsewhere'));
      l.fromClient().forEach((d) => l.endpoint.handleDatagram(l.now, moved, d));
    });
    for (const l of [a, b]) {
      expect(evs(l).filter((e) => e.type === 'data').map((e) => e.type === 'data' && dec(e.data))).toEqual(['from elsewhere']);
      expect(evs(l).some((e) => e.type === 'peer-moved')).toBe(true);
    }
    expect(a.endpoint.sessionsHibernated).toBe(0);
    at(70_000);
    expect(a.endpoint.sessionsHibernated).toBe(1);
    const out = step((l) => l.endpoint.send(l.now, serverConnection(l.serverEvents), enc('back')));
    expect(out.length).toBe(1);
    expect(CLIENT.address).not.toBe(moved.address);
  });

  it('hibernateAfterMs: 0 turns it off; a negative or fractional value is refused', async () => {
    const { DtlsEndpoint } = await import('../lib/dtls/endpoint.js');
    expect(() => new DtlsEndpoint({ psk: () => undefined, hibernateAfterMs: -1 })).toThrow(DtlsError);
    expect(() => new DtlsEndpoint({ psk: () => undefined, hibernateAfterMs: 1.5 })).toThrow(/hibernateAfterMs/);
    const { b, at } = twins();
    at(100_000);
    expect(b.endpoint.sessionsHibernated).toBe(0);
  });
});

describe('idle timing on the virtual-clock simulator', () => {
  it('a session sleeps after hibernateAfterMs without records, wakes on the next one, and expires on time', () => {
    const p = new Pair({ server: { hibernateAfterMs: 10_000, idleTimeoutMs: 120_000 } });
    const c = handshake(p);
    expect(p.settled(c)).toBe(true);
    const t0 = p.net.now;
    p.run(t0 + 9_000);
    expect(p.endpoint.sessionsHibernated).toBe(0);
    p.run(t0 + 10_500);
    expect(p.endpoint.sessionsHibernated).toBe(1);
    // the client talks: the session wakes and answers (echo)
    c.conn.send(p.net.now, enc('hello'));
    p.net.flush();
    p.run(p.net.now + 100, () => p.serverEvents.some((e) => e.type === 'data'));
    const d = p.serverEvents.find((e) => e.type === 'data');
    expect(d?.type === 'data' && dec(d.data)).toBe('hello');
    const lastRecord = p.net.now;
    expect(p.endpoint.sessionsHibernated).toBe(0);
    p.run(lastRecord + 11_000);
    expect(p.endpoint.sessionsHibernated).toBe(1);
    // the idle timeout counts from the last record, asleep or awake
    p.run(lastRecord + 119_000);
    expect(p.endpoint.sessionCount).toBe(1);
    p.run(lastRecord + 121_000);
    expect(p.endpoint.sessionCount).toBe(0);
    expect(p.serverEvents.some((e) => e.type === 'failed' && e.error.code === 'IDLE_TIMEOUT')).toBe(true);
  });
});

// --- the compact codec ------------------------------------------------------------------------

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const sleepingArb: fc.Arbitrary<SleepingConnection> = fc
  .record({
    cipherSuite: fc.integer({ min: 0, max: 0xffff }),
    identity: fc.uint8Array({ maxLength: 255 }),
    ems: fc.boolean(),
    resumed: fc.boolean(),
    restored: fc.boolean(),
    cid: fc.option(fc.record({ read: fc.uint8Array({ maxLength: 255 }), write: fc.uint8Array({ maxLength: 255 }) }), { nil: undefined }),
    epoch: fc.integer({ min: 1, max: 0xffff }),
    nextWrite: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    nextWrite0: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    replayTop: fc.integer({ min: -1, max: 2 ** 48 - 2 }),
    replayLow: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    replayHigh: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    readCidLength: fc.integer({ min: 0, max: 255 }),
    sendLimit: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    receiveLimit: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    keys: fc.tuple(bytes(16), bytes(4), bytes(16), bytes(4)),
    flight: fc.option(
      fc.record({
        until: fc.double({ noNaN: true, noDefaultInfinity: true }),
        items: fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('change_cipher_spec' as const), epoch: fc.integer({ min: 0, max: 0xffff }) }),
            fc.record({ kind: fc.constant('handshake' as const), msgType: fc.integer({ min: 0, max: 255 }), messageSeq: fc.integer({ min: 0, max: 0xffff }), body: fc.uint8Array({ maxLength: 300 }), epoch: fc.integer({ min: 0, max: 0xffff }) }),
          ),
          { maxLength: 6 },
        ),
      }),
      { nil: undefined },
    ),
    lastActivity: fc.double({ noNaN: true, noDefaultInfinity: true }),
    idleDeadline: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
    nextMessageSeq: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  })
  .map((v) => {
    const session: SleepingConnection['session'] = { cipherSuite: v.cipherSuite, identity: { kind: 'psk', identity: v.identity }, peerIdentity: v.identity, extendedMasterSecret: v.ems, resumed: v.resumed };
    if (v.restored) session.restored = true;
    if (v.cid) session.connectionId = v.cid;
    return {
      session,
      records: {
        epoch: v.epoch,
        writeKeys: { key: v.keys[0], iv: v.keys[1] },
        readKeys: { key: v.keys[2], iv: v.keys[3] },
        writeCid: (v.cid?.write.length ?? 0) > 0,
        readCid: (v.cid?.read.length ?? 0) > 0,
        nextWrite: v.nextWrite,
        nextWrite0: v.nextWrite0,
        replayTop: v.replayTop,
        replayLow: v.replayLow,
        replayHigh: v.replayHigh,
        readCidLength: v.readCidLength,
        sendLimit: v.sendLimit,
        receiveLimit: v.receiveLimit,
      },
      flight: v.flight,
      lastActivity: v.lastActivity,
      idleDeadline: v.idleDeadline,
      nextMessageSeq: v.nextMessageSeq,
    };
  });

describe('the hibernated session codec (lib/dtls/hibernation.ts)', () => {
  it('decodes what it encodes, every field', () => {
    fc.assert(
      fc.property(sleepingArb, (s) => {
        const enc1 = encodeSleeping(s);
        expect(enc1).toBeDefined();
        const copy = enc1!.bytes.slice();
        const back = decodeSleeping(copy, enc1!.beside);
        expect(back).toEqual(s);
        expect(encodeSleeping(back)!.bytes).toEqual(copy);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects garbage and cut or extended records with a typed error, or decodes what re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        let s: SleepingConnection;
        try {
          s = decodeSleeping(b, undefined);
        } catch (e) {
          expect(e).toBeInstanceOf(DtlsError);
          expect((e as DtlsError).code).toBe('DECODE_ERROR');
          return;
        }
        expect(encodeSleeping(s)!.bytes).toEqual(b);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(sleepingArb, fc.nat(), fc.boolean(), (s, cut, extend) => {
        const full = encodeSleeping(s)!.bytes.slice();
        const bad = extend ? Uint8Array.of(...full, 0) : full.subarray(0, cut % full.length);
        expect(() => decodeSleeping(bad, undefined)).toThrow(DtlsError);
      }),
      { numRuns: 300 },
    );
  });

  it('record byte vectors: a PSK session with a 13-byte identity is 95 bytes and fits a slab slot', () => {
    const s: SleepingConnection = {
      session: { cipherSuite: 0xc0a8, identity: { kind: 'psk', identity: enc('device-000001') }, peerIdentity: new Uint8Array(0), extendedMasterSecret: true, resumed: false },
      records: { epoch: 1, writeKeys: { key: new Uint8Array(16).fill(1), iv: new Uint8Array(4).fill(2) }, readKeys: { key: new Uint8Array(16).fill(3), iv: new Uint8Array(4).fill(4) }, writeCid: false, readCid: false, nextWrite: 3, nextWrite0: 9, replayTop: 2, replayLow: 7, replayHigh: 0, readCidLength: 0, sendLimit: 16384, receiveLimit: 16384 },
      flight: undefined,
      lastActivity: 1000,
      idleDeadline: 1_801_000,
      nextMessageSeq: 6,
    };
    // peerIdentity must be the identity itself (as the handshake leaves it)
    expect(encodeSleeping(s)).toBeUndefined();
    const id = enc('device-000001');
    const ok = { ...s, session: { ...s.session, identity: { kind: 'psk' as const, identity: id }, peerIdentity: id } };
    const b = encodeSleeping(ok)!.bytes.slice();
    expect(b.length).toBe(95);
    expect(b.length).toBeLessThanOrEqual(SLOT_BYTES - 1);
    const keys = '01'.repeat(16) + '02'.repeat(4) + '03'.repeat(16) + '04'.repeat(4);
    const times = '0000000000408f40' + '00000000287b3b41'; // f64 1000, 1801000 (in the platform's order: little-endian here)
    const want = '02' + '61' + '00' + '00' + 'c0a8' + '0001' + '06' + '03' + '09' + '03' + '00000007' + '00000000' + '00' + '4000' + '4000' + times + keys + '0d' + Buffer.from('device-000001').toString('hex');
    expect(Buffer.from(b).toString('hex')).toBe(want);
    expect(decodeSleeping(Uint8Array.from(Buffer.from(want, 'hex')), undefined)).toEqual(ok);
    // a sequence number past 127 takes two bytes (LEB128); a record size limit past 65535 makes both u32
    const big = { ...ok, records: { ...ok.records, nextWrite: 300, sendLimit: 70000 } };
    const want2 = '02' + '21' + '00' + '00' + 'c0a8' + '0001' + '06' + 'ac02' + '09' + '03' + '00000007' + '00000000' + '00' + '00011170' + '00004000' + times + keys + '0d' + Buffer.from('device-000001').toString('hex');
    expect(Buffer.from(encodeSleeping(big)!.bytes).toString('hex')).toBe(want2);
    expect(decodeSleeping(Uint8Array.from(Buffer.from(want2, 'hex')), undefined)).toEqual(big);
    // not in the shortest form: a zero high byte, or u32 limits that fit u16
    expect(() => decodeSleeping(Uint8Array.from(Buffer.from(want.replace('0001' + '06' + '03', '0001' + '86' + '00' + '03'), 'hex')), undefined)).toThrow(/shortest form/);
    expect(() => decodeSleeping(Uint8Array.from(Buffer.from(want2.replace('00011170', '00001170'), 'hex')), undefined)).toThrow(/shortest form/);
  });
});
