import { describe, expect, it } from 'vitest';
import { ContentType, HandshakeType } from '../lib/dtls/wire/constants.js';
import { DtlsError } from '../lib/dtls/errors.js';
import { dec, enc, handshake, Pair } from './helpers/harness.js';

/** The handshake flights of a cookie exchange, by datagram index when nothing is lost. */
const FLIGHTS = ['ClientHello', 'HelloVerifyRequest', 'ClientHello+cookie', 'ServerHello..Done', 'CKE+CCS+Finished', 'CCS+Finished'];

function exchange(p: Pair): void {
  const c = p.clients[0]!;
  const session = p.serverEvents.find((e) => e.type === 'connected')!;
  c.conn.send(p.net.now, enc('ping'));
  p.run(p.net.now + 60_000, () => p.serverEvents.some((e) => e.type === 'data'));
  const got = p.serverEvents.find((e) => e.type === 'data');
  expect(got && got.type === 'data' && dec(got.data)).toBe('ping');
  p.endpoint.send(p.net.now, session.connection, enc('pong'));
  p.run(p.net.now + 60_000, () => p.has(c, 'data'));
  const back = c.events.find((e) => e.type === 'data');
  expect(back && back.type === 'data' && dec(back.data)).toBe('pong');
}

describe('handshake on a virtual clock', () => {
  it('completes in six datagrams with a cookie exchange and extended master secret', () => {
    const p = new Pair();
    handshake(p);
    expect(p.net.log.length).toBe(6);
    const c = p.clients[0]!;
    const ev = c.events.find((e) => e.type === 'connected');
    expect(ev?.type === 'connected' && ev.session.extendedMasterSecret).toBe(true);
    const sev = p.serverEvents.find((e) => e.type === 'connected');
    expect(sev?.type === 'connected' && dec(sev.session.peerIdentity)).toBe('Client_identity');
    // every datagram of the clean handshake parses as the flight we expect
    const hvr = p.net.log[1]!.data;
    expect(hvr[0]).toBe(ContentType.handshake);
    expect(hvr[13]).toBe(HandshakeType.hello_verify_request);
    expect(hvr.length).toBeLessThanOrEqual(p.net.log[0]!.data.length);
    exchange(p);
  });

  for (let i = 0; i < FLIGHTS.length; i++) {
    it(`recovers when flight ${i + 1} (${FLIGHTS[i]}) is lost once`, () => {
      const p = new Pair({ filter: (d) => d.index !== i });
      handshake(p);
      const t = p.net.now;
      const c = p.clients[0]!;
      expect(p.has(c, 'connected')).toBe(true);
      expect(p.serverHas('connected')).toBe(true);
      // recovery takes one initial timeout (1 s), not more
      expect(t).toBeGreaterThanOrEqual(1000);
      expect(t).toBeLessThan(2000);
      exchange(p);
    });
  }

  it('survives every datagram duplicated', () => {
    const p = new Pair({ link: { duplicate: 1 } });
    handshake(p);
    expect(p.has(p.clients[0]!, 'connected')).toBe(true);
    expect(p.endpoint.stats.handshakesStarted).toBe(1);
    exchange(p);
    // a duplicated application record is delivered once (replay window)
    expect(p.serverEvents.filter((e) => e.type === 'data').length).toBe(1);
  });

  it('survives heavy reordering', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const p = new Pair({ link: { reorder: 0.5, reorderMs: 300, duplicate: 0.2 }, seed, client: { mtu: 80 } });
      handshake(p);
      expect(p.has(p.clients[0]!, 'connected'), `seed ${seed}`).toBe(true);
      exchange(p);
    }
  });

  for (const loss of [0.1, 0.3, 0.5]) {
    it(`completes every handshake at ${loss * 100}% random loss within bounded virtual time`, () => {
      // 1, 2, 4 s then 8 s steps, 30 tries: the client's whole retry span (~230 s) fits the
      // 240 s the server keeps its last flight (RFC 6347 §4.2.4, 2 x MSL).
      const retransmission = { initialMs: 1000, maxMs: 8_000, maxRetransmits: 30 };
      for (let seed = 1; seed <= 25; seed++) {
        const p = new Pair({ link: { loss }, seed, client: { retransmission }, server: { retransmission, handshakeTimeoutMs: 600_000 } });
        const c = p.addClient();
        c.conn.start(0);
        // a client whose last flight goes unanswered may start over once (the server then sees
        // its first session REPLACED): done when the client is connected and so is the server
        const serverConnected = () => [...p.endpoint.sessions()].some((s) => s.connection.state === 'connected');
        p.run(600_000, () => (p.has(c, 'connected') && serverConnected()) || p.has(c, 'failed'));
        const t = p.net.now;
        expect(p.has(c, 'connected'), `seed ${seed}`).toBe(true);
        expect(serverConnected(), `seed ${seed}`).toBe(true);
        expect(p.endpoint.sessionCount, `seed ${seed}`).toBe(1);
        expect(t).toBeLessThan(600_000);
      }
    });
  }

  it('retransmits on the schedule 1, 2, 4, 8 ... s, capped, then fails with HANDSHAKE_TIMEOUT', () => {
    const p = new Pair({
      filter: (d) => d.from.port !== 5684, // the server is never heard
      client: { retransmission: { initialMs: 1000, maxMs: 16_000, maxRetransmits: 7 } },
    });
    const c = p.addClient();
    c.conn.start(0);
    p.run(1_000_000, () => p.has(c, 'failed'));
    const sends = p.net.log.filter((d) => d.from.port === c.node.address.port).map((d) => d.sentAt);
    const gaps = sends.slice(1).map((t, i) => t - sends[i]!);
    expect(gaps).toEqual([1000, 2000, 4000, 8000, 16000, 16000, 16000]);
    const failed = c.events.find((e) => e.type === 'failed');
    expect(failed?.type === 'failed' && failed.error).toBeInstanceOf(DtlsError);
    expect(failed?.type === 'failed' && failed.error.code).toBe('HANDSHAKE_TIMEOUT');
  });

  it('uses the RFC 7925 preset (9 s initial timeout)', () => {
    const p = new Pair({ filter: (d) => d.index !== 0, client: { retransmission: 'rfc7925' } });
    handshake(p);
    const t = p.net.now;
    expect(p.has(p.clients[0]!, 'connected')).toBe(true);
    expect(t).toBeGreaterThanOrEqual(9000);
  });

  it('a repeated ClientHello never restarts the handshake in progress', () => {
    // Deliver the cookie ClientHello three times: the server answers the repeats with its
    // flight and keeps one handshake.
    const p = new Pair({ link: { duplicate: 0 } });
    const c = p.addClient();
    c.conn.start(0);
    p.run(10, () => p.net.log.length >= 3);
    const ch2 = p.net.log[2]!;
    p.run(20);
    p.server.handleDatagram(p.net.now, ch2.from, ch2.data);
    p.server.handleDatagram(p.net.now, ch2.from, ch2.data);
    p.run(60_000, () => p.settled(c));
    expect(p.has(c, 'connected')).toBe(true);
    expect(p.endpoint.stats.handshakesStarted).toBe(1);
    expect(p.serverEvents.filter((e) => e.type === 'connected').length).toBe(1);
  });

  it('fragments flights to a small MTU and reassembles them', () => {
    const p = new Pair({ client: { mtu: 64 }, server: { mtu: 64, pskHint: enc('a hint that makes the ServerKeyExchange longer than one datagram of sixty-four bytes') } });
    handshake(p);
    expect(p.has(p.clients[0]!, 'connected')).toBe(true);
    // everything but the ClientHello (which a stateless server needs whole) fits the MTU
    const fragments = p.net.log.filter((d) => d.data[13] !== HandshakeType.client_hello);
    for (const d of fragments) expect(d.data.length).toBeLessThanOrEqual(64);
    // and the ServerKeyExchange really was fragmented
    expect(fragments.filter((d) => d.data[13] === HandshakeType.server_key_exchange).length).toBeGreaterThan(1);
    exchange(p);
  });

  it('close_notify travels both ways', () => {
    const p = new Pair();
    handshake(p);
    const c = p.clients[0]!;
    c.conn.close(p.net.now);
    p.run(p.net.now + 1000, () => p.serverHas('closed'));
    const ev = p.serverEvents.find((e) => e.type === 'closed');
    expect(ev?.type === 'closed' && ev.reason).toBe('peer');
    expect(c.events.find((e) => e.type === 'closed')).toEqual({ type: 'closed', reason: 'local' });
    expect(p.endpoint.sessionCount).toBe(0);

    const q = new Pair();
    handshake(q);
    const s = q.serverEvents.find((e) => e.type === 'connected')!;
    q.endpoint.closeSession(q.net.now, s.connection);
    q.run(q.net.now + 1000, () => q.has(q.clients[0]!, 'closed'));
    expect(q.clients[0]!.events.find((e) => e.type === 'closed')).toEqual({ type: 'closed', reason: 'peer' });
  });

  it('a server with an asynchronous key lookup completes the handshake', async () => {
    const p = new Pair({
      server: { psk: (id) => new Promise((r) => setImmediate(() => r(dec(id) === 'Client_identity' ? enc('secretPSK') : undefined))) },
    });
    const c = p.addClient();
    c.conn.start(0);
    await p.runAsync(60_000, () => p.settled(c));
    expect(p.has(c, 'connected')).toBe(true);
    exchange(p);
  });

  it('keeps the last flight and re-sends it when the client repeats its final flight', () => {
    // drop the server's CCS+Finished once: the client's timer re-sends CKE+CCS+Finished, and
    // the (already connected) server answers with its kept flight.
    const p = new Pair({ filter: (d) => d.index !== 5 });
    handshake(p);
    const t = p.net.now;
    expect(p.has(p.clients[0]!, 'connected')).toBe(true);
    expect(t).toBeGreaterThanOrEqual(1000);
    expect(p.net.log.length).toBe(8);
  });

  it('fails an established session after the idle timeout', () => {
    const p = new Pair({ server: { idleTimeoutMs: 5000 } });
    handshake(p);
    p.run(p.net.now + 10_000, () => p.serverHas('failed'));
    const f = p.serverEvents.find((e) => e.type === 'failed');
    expect(f?.type === 'failed' && f.error.code).toBe('IDLE_TIMEOUT');
    expect(p.endpoint.sessionCount).toBe(0);
  });
});

describe('application records and the MTU', () => {
  it('send() refuses a record that does not fit one datagram (RFC 6347 §4.1.1.1)', () => {
    const p = new Pair({ client: { mtu: 200 } });
    const c = p.addClient();
    c.conn.start(0);
    p.run(10_000, () => p.settled(c));
    expect(() => c.conn.send(p.net.now, new Uint8Array(200 - 13 - 16))).not.toThrow();
    let err: unknown;
    try {
      c.conn.send(p.net.now, new Uint8Array(200 - 13 - 16 + 1));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DtlsError);
    expect((err as DtlsError).code).toBe('RECORD_TOO_LARGE');
    expect(c.conn.state).toBe('connected');
  });
});

describe('small records (RFC 8449 record_size_limit, RFC 6066 max_fragment_length)', () => {
  it('a client announcing 256 gets no record larger than 256 from the server, flights included', () => {
    const p = new Pair({ client: { recordSizeLimit: 256 }, server: { pskHint: new Uint8Array(400).fill(0x61) } });
    const c = p.addClient();
    c.conn.start(0);
    p.run(10_000, () => p.settled(c));
    expect(p.has(c, 'connected')).toBe(true);
    const s = p.serverEvents.find((e) => e.type === 'connected')!;
    // the 400-byte hint went out in fragments that fit the limit
    for (const d of p.net.log.filter((x) => x.from.port === 5684)) {
      for (let o = 0; o + 13 <= d.data.length; ) {
        const len = (d.data[o + 11]! << 8) | d.data[o + 12]!;
        expect(len).toBeLessThanOrEqual(256 + 16);
        o += 13 + len;
      }
    }
    let err: unknown;
    try {
      p.endpoint.send(p.net.now, s.connection, new Uint8Array(257));
    } catch (e) {
      err = e;
    }
    expect((err as DtlsError).code).toBe('RECORD_TOO_LARGE');
    p.endpoint.send(p.net.now, s.connection, new Uint8Array(256));
    p.run(p.net.now + 100, () => p.has(c, 'data'));
    expect(p.has(c, 'data')).toBe(true);
  });

  it('max_fragment_length 512 is echoed and limits both sides', () => {
    const p = new Pair({ client: { maxFragmentLength: 512 } });
    const c = p.addClient();
    c.conn.start(0);
    p.run(10_000, () => p.settled(c));
    expect(p.has(c, 'connected')).toBe(true);
    expect(() => c.conn.send(p.net.now, new Uint8Array(513))).toThrow(DtlsError);
    c.conn.send(p.net.now, new Uint8Array(512));
    p.run(p.net.now + 100, () => p.serverHas('data'));
    expect(p.serverHas('data')).toBe(true);
  });
});
