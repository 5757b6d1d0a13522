import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DtlsEndpoint } from '../lib/dtls/endpoint.js';
import { pskMap } from '../lib/dtls/keystore.js';
import { AlertDescription, ContentType } from '../lib/dtls/wire/constants.js';
import { encodeRecord, splitRecords } from '../lib/dtls/wire/record.js';
import { encodeHandshake } from '../lib/dtls/wire/handshake.js';
import { DtlsError } from '../lib/dtls/errors.js';
import { DirectLink, rewriteRecords } from './helpers/direct-link.js';
import { dec, enc, IDENTITY, KEY, Pair, SERVER } from './helpers/harness.js';

function connect(p: Pair, port = 40000) {
  const c = p.addClient(port);
  c.conn.start(p.net.now);
  p.run(p.net.now + 60_000, () => p.settled(c));
  return c;
}

function connectedSession(p: Pair, port: number) {
  const e = p.serverEvents.find((ev) => ev.type === 'connected' && ev.peer.port === port);
  if (e?.type !== 'connected') throw new Error(`no session from port ${port}`);
  return e;
}

describe('wrong keys and unknown identities', () => {
  it('a wrong key fails the handshake on both sides with bad_record_mac', () => {
    const p = new Pair({ client: { psk: { identity: IDENTITY, key: enc('wrongPSK') } } });
    const c = connect(p);
    const cf = c.events.find((e) => e.type === 'failed');
    expect(cf?.type === 'failed' && cf.error).toBeInstanceOf(DtlsError);
    expect(cf?.type === 'failed' && cf.error.code).toBe('PEER_ALERT');
    expect(cf?.type === 'failed' && cf.error.alert).toBe(AlertDescription.bad_record_mac);
    const sf = p.serverEvents.find((e) => e.type === 'failed');
    expect(sf?.type === 'failed' && sf.error.code).toBe('BAD_RECORD_MAC');
    expect(p.endpoint.sessionCount).toBe(0);
  });

  it('an unknown identity looks exactly like a wrong key on the wire', () => {
    const shape = (identity: string, key: string) => {
      const p = new Pair({ client: { psk: { identity: enc(identity), key: enc(key) } } });
      const c = connect(p);
      const f = c.events.find((e) => e.type === 'failed');
      return {
        alert: f?.type === 'failed' ? f.error.alert : undefined,
        // sizes and content types of what the server sent
        server: p.net.log.filter((d) => d.from.port === SERVER.port).map((d) => [d.data.length, d.data[0]]),
      };
    };
    const wrongKey = shape('Client_identity', 'wrongPSK');
    const unknownId = shape('Client_identitx', 'wrongPSK');
    expect(unknownId).toEqual(wrongKey);
    expect(unknownId.alert).toBe(AlertDescription.bad_record_mac);
  });

  it('a key lookup that throws or rejects counts as an unknown identity', async () => {
    const p = new Pair({ server: { psk: () => Promise.reject(new Error('database down')) } });
    const c = p.addClient();
    c.conn.start(0);
    await p.runAsync(60_000, () => p.settled(c));
    expect(p.has(c, 'failed')).toBe(true);
    const q = new Pair({ server: { psk: () => { throw new Error('boom'); } } });
    const d = connect(q);
    expect(q.has(d, 'failed')).toBe(true);
  });
});

describe('bad input leaves the server serving its other peers', () => {
  it('garbage, truncated records and oversized fragment claims do not disturb a handshake', () => {
    const p = new Pair();
    const c = p.addClient(40000);
    c.conn.start(0);
    const junk: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array([0x16]),
      new Uint8Array(13).fill(0xff),
      // handshake record claiming a 16 MB message
      encodeRecord({ type: ContentType.handshake, version: 0xfefd, epoch: 0, sequence: 99 }, new Uint8Array([16, 0xff, 0xff, 0xff, 0, 2, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4])),
      // record length beyond the datagram
      new Uint8Array([23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 5, 0x40, 0]),
      // application data in epoch 1 with a forged tag and no ciphertext
      encodeRecord({ type: ContentType.application_data, version: 0xfefd, epoch: 1, sequence: 7 }, new Uint8Array(16)),
    ];
    let sent = 0;
    p.run(60_000, () => {
      // from the client's own address and from strangers, at every step
      if (sent < 200) {
        const d = junk[sent % junk.length]!;
        p.server.handleDatagram(p.net.now, c.node.address, d);
        p.server.handleDatagram(p.net.now, { address: '10.9.9.9', port: 1000 + sent }, d);
        sent++;
      }
      return p.settled(c);
    });
    expect(p.has(c, 'connected')).toBe(true);
    expect(p.endpoint.sessionCount).toBe(1);
  });

  it('any random datagram from anywhere never throws and allocates nothing', () => {
    const ep = new DtlsEndpoint({ psk: pskMap([[IDENTITY, KEY]]) });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 65535 }), (d, port) => {
        ep.handleDatagram(0, { address: '10.1.2.3', port }, d);
        while (ep.pollTransmit());
        return ep.sessionCount === 0;
      }),
      { numRuns: 3000 },
    );
  });

  it('random datagrams from an established peer never break its session', () => {
    const p = new Pair();
    const c = connect(p);
    const s = connectedSession(p, 40000);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (d, asRecord) => {
        const data = asRecord ? encodeRecord({ type: d[0] ?? 23, version: 0xfefd, epoch: (d[1] ?? 0) & 1, sequence: d[2] ?? 0 }, d) : d;
        p.server.handleDatagram(p.net.now, c.node.address, data);
        c.conn.handleDatagram(p.net.now, data);
        return true;
      }),
      { numRuns: 2000 },
    );
    p.drain();
    expect(s.connection.state).toBe('connected');
    expect(c.conn.state).toBe('connected');
    c.conn.send(p.net.now, enc('still here'));
    p.run(p.net.now + 100, () => p.serverHas('data'));
    const got = p.serverEvents.find((e) => e.type === 'data');
    expect(got?.type === 'data' && dec(got.data)).toBe('still here');
  });

  it('a replayed application record is delivered once', () => {
    const p = new Pair();
    const c = connect(p);
    c.conn.send(p.net.now, enc('once'));
    const before = p.net.log.length;
    p.run(p.net.now + 100, () => p.serverHas('data'));
    const rec = p.net.log[before]!;
    for (let i = 0; i < 5; i++) p.server.handleDatagram(p.net.now, rec.from, rec.data);
    p.drain();
    expect(p.serverEvents.filter((e) => e.type === 'data').length).toBe(1);
  });

  it('a spoofed ClientHello or epoch-0 alert cannot kill an established session (RFC 6347 §4.2.8)', () => {
    const p = new Pair();
    const c = connect(p);
    const firstHello = p.net.log[0]!.data; // no cookie
    p.server.handleDatagram(p.net.now, c.node.address, firstHello);
    const fatal = encodeRecord({ type: ContentType.alert, version: 0xfefd, epoch: 0, sequence: 500 }, new Uint8Array([2, 40]));
    p.server.handleDatagram(p.net.now, c.node.address, fatal);
    c.conn.handleDatagram(p.net.now, fatal);
    p.drain();
    expect(p.endpoint.sessionCount).toBe(1);
    expect(p.serverHas('failed')).toBe(false);
    expect(c.conn.state).toBe('connected');
    c.conn.send(p.net.now, enc('alive'));
    p.run(p.net.now + 100, () => p.serverHas('data'));
    expect(p.serverHas('data')).toBe(true);
  });

  it('a new handshake with a valid cookie from the same address replaces the session', () => {
    const p = new Pair();
    connect(p, 40000);
    // the same address starts over (a rebooted device)
    const again = p.addClient(40000);
    again.conn.start(p.net.now);
    p.run(p.net.now + 60_000, () => p.has(again, 'connected'));
    expect(p.has(again, 'connected')).toBe(true);
    const replaced = p.serverEvents.find((e) => e.type === 'failed');
    expect(replaced?.type === 'failed' && replaced.error.code).toBe('REPLACED');
    expect(p.endpoint.sessionCount).toBe(1);
  });

  // The server's first records continue the ClientHello's record sequence number (RFC 6347
  // §4.2.1), which must not wrap (uint48): a hello numbered at the top left the server's flight
  // no numbers, an INTERNAL failure (found by the dtls-endpoint fuzz target).
  const withSequence = (d: Uint8Array, at: (seq: number) => number) => rewriteRecords(d, (r) => (r.epoch === 0 ? { ...r, sequence: at(r.sequence) } : r));

  it('a ClientHello numbered at the top of the sequence space is discarded, with or without a cookie', () => {
    for (const top of [2 ** 48 - 1, 2 ** 48 - 2, 2 ** 48 - 2 ** 32 + 1]) {
      const l = new DirectLink();
      l.client.start(0);
      const hello = l.fromClient()[0]!;
      l.toServer(withSequence(hello, () => top));
      expect(l.fromServer()).toEqual([]);
      expect(l.endpoint.stats.datagramsDropped).toBe(1);
      // with a valid cookie too (its first hello numbered as usual)
      l.toServer(hello);
      l.toClient(l.fromServer()[0]!);
      l.toServer(withSequence(l.fromClient()[0]!, () => top));
      expect(l.fromServer()).toEqual([]);
      expect(l.endpoint.stats.handshakesStarted).toBe(0);
      expect(l.serverHas('failed')).toBe(false);
      // the client's next hello, numbered as usual, gets its handshake
      l.nextTimer();
      for (let i = 0; i < 4 && !l.clientHas('connected'); i++) l.settle(), l.nextTimer();
      expect(l.clientHas('connected') && l.serverHas('connected')).toBe(true);
    }
  });

  it('a ClientHello whose message_seq leaves our messages no room (uint16) is discarded (found by the dtls-endpoint fuzz target)', () => {
    const l = new DirectLink();
    l.client.start(0);
    const hello = l.fromClient()[0]!;
    l.toServer(hello);
    l.toClient(l.fromServer()[0]!);
    const withCookie = l.fromClient()[0]!;
    // message_seq (bytes 4-5 of the handshake header, after the 13-byte record header) set to 65535
    const high = withCookie.slice();
    high[13 + 4] = 0xff;
    high[13 + 5] = 0xff;
    l.toServer(high);
    expect(l.fromServer()).toEqual([]);
    expect(l.endpoint.stats.handshakesStarted).toBe(0);
    expect(l.endpoint.stats.datagramsDropped).toBe(1);
    // the real one still gets its handshake
    l.toServer(withCookie);
    expect(l.settle()).toBeGreaterThan(0);
    expect(l.clientHas('connected') && l.serverHas('connected')).toBe(true);
  });

  it('ClientHellos numbered up to 2^48 - 2^32 still get a handshake, the server numbering on from them', () => {
    const base = 2 ** 48 - 2 ** 32 - 1; // the hello with the cookie: 2^48 - 2^32
    const l = new DirectLink();
    l.client.start(0);
    const up = (d: Uint8Array) => withSequence(d, (s) => base + s);
    l.toServer(up(l.fromClient()[0]!));
    const hvr = l.fromServer()[0]!;
    expect(splitRecords(hvr)[0]!.sequence).toBe(base);
    l.toClient(hvr);
    l.toServer(up(l.fromClient()[0]!));
    const flight = l.fromServer()[0]!;
    expect(splitRecords(flight)[0]!.sequence).toBe(base + 1);
    l.toClient(flight);
    for (let round = 0; round < 10 && !l.serverHas('connected'); round++) {
      for (const d of l.fromClient()) l.toServer(up(d));
      for (const d of l.fromServer()) l.toClient(d);
    }
    expect(l.serverHas('connected') && l.clientHas('connected')).toBe(true);
    expect(l.serverHas('failed')).toBe(false);
  });
});

describe('resource limits', () => {
  it('ClientHellos without a cookie allocate nothing, and the HelloVerifyRequest is never larger', () => {
    const p = new Pair();
    const c = p.addClient();
    c.conn.start(0);
    const hello = c.conn.pollTransmit()!;
    for (let i = 0; i < 1000; i++) p.endpoint.handleDatagram(0, { address: '10.7.0.1', port: 1024 + i }, hello);
    expect(p.endpoint.sessionCount).toBe(0);
    expect(p.endpoint.handshakesInProgress).toBe(0);
    for (let t = p.endpoint.pollTransmit(); t; t = p.endpoint.pollTransmit()) expect(t.data.length).toBeLessThanOrEqual(hello.length);
    // a ClientHello too small to answer without amplification gets no answer at all
    const tiny = encodeRecord({ type: ContentType.handshake, version: 0xfefd, epoch: 0, sequence: 0 },
      encodeHandshake(1, 0, new Uint8Array([0xfe, 0xfd, ...new Uint8Array(32), 0, 0, 0, 2, 0xc0, 0xa8, 1, 0])));
    p.endpoint.handleDatagram(0, { address: '10.7.0.2', port: 1 }, tiny);
    const answer = p.endpoint.pollTransmit();
    expect(answer === undefined || answer.data.length <= tiny.length).toBe(true);
  });

  it('caps handshakes in progress (stalled ones make room) and drops half-finished ones after the handshake timeout', () => {
    const p = new Pair({ server: { maxHandshakes: 2, handshakeTimeoutMs: 10_000 }, filter: (d) => !(d.from.port !== SERVER.port && d.data[13] === 16) });
    // clients whose ClientKeyExchange never arrives stay half-finished
    for (let i = 0; i < 3; i++) p.addClient(41000 + i).conn.start(0);
    p.run(5000);
    expect(p.endpoint.handshakesInProgress).toBe(2);
    expect(p.endpoint.stats.handshakesEvicted).toBeGreaterThan(0);
    p.run(12_000);
    expect(p.endpoint.handshakesInProgress).toBeLessThanOrEqual(2);
    const dropped = p.serverEvents.filter((e) => e.type === 'failed' && (e.error.code === 'HANDSHAKE_TIMEOUT' || e.error.code === 'EVICTED'));
    expect(dropped.length).toBeGreaterThanOrEqual(2);
  });

  it('caps established sessions', () => {
    const p = new Pair({ server: { maxSessions: 2 } });
    for (let i = 0; i < 3; i++) connect(p, 42000 + i);
    expect(p.endpoint.sessionCount).toBe(2);
    expect(p.has(p.clients[2]!, 'connected')).toBe(false);
  });
});

describe('timers', () => {
  it('traffic does not grow the timer queue, nor does handshake churn', () => {
    const p = new Pair({ server: { idleTimeoutMs: 60_000 } });
    const idle = connect(p, 43000);
    const busy = connect(p, 43001);
    for (let i = 0; i < 5000; i++) {
      busy.conn.send(p.net.now, enc('x'));
      p.run(p.net.now + 1);
    }
    expect(p.serverEvents.filter((e) => e.type === 'data').length).toBe(5000);
    expect(p.endpoint.timerEntries).toBeLessThan(20);
    // many short sessions, each leaving a kept last flight (240 s) behind when it closes
    for (let i = 0; i < 3000; i++) {
      const c = connect(p, 44000 + i);
      c.conn.close(p.net.now);
      p.run(p.net.now + 2);
      p.dropClient(c); // a closed client is gone (keeps each step of the simulation small)
    }
    expect(p.endpoint.sessionCount).toBe(2);
    expect(p.endpoint.timerEntries).toBeLessThan(2 * 2 + 1024 + 10);
    expect(idle.conn.state).toBe('connected');
    // the idle session still times out on schedule, re-armed by activity only
    p.run(p.net.now + 61_000);
    expect(p.endpoint.sessionCount).toBe(0);
  });
});

describe('stray epoch-1 records during a handshake', () => {
  it('garbage protected records (alert, data, early handshake) never fail a handshake', () => {
    const p = new Pair();
    const c = p.addClient();
    c.conn.start(0);
    const junk = (type: number, seq: number) => encodeRecord({ type, version: 0xfefd, epoch: 1, sequence: seq }, new Uint8Array(26).fill(0x5a));
    // before anything: an old session's close_notify on a reused port, and an early "Finished"
    c.conn.handleDatagram(0, junk(ContentType.alert, 3));
    c.conn.handleDatagram(0, junk(ContentType.handshake, 4));
    p.server.handleDatagram(0, c.node.address, junk(ContentType.application_data, 5));
    p.run(60_000, () => {
      // keep spraying protected alerts and data at both sides during the whole handshake
      c.conn.handleDatagram(p.net.now, junk(ContentType.alert, 10));
      p.server.handleDatagram(p.net.now, c.node.address, junk(ContentType.application_data, 11));
      return p.settled(c);
    });
    expect(p.has(c, 'connected')).toBe(true);
    expect(p.serverHas('connected')).toBe(true);
  });
});
