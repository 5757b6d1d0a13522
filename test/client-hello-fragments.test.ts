/**
 * Fragmented ClientHellos (issue 10, finding 8): a ClientHello that does not fit a small MTU
 * arrives in fragments, which the stateless server must reassemble before it can check the
 * cookie. lib/dtls/client-hello-pool.ts does it in a small pool shared by every peer, bounded in
 * entries and bytes, oldest evicted first; both the first and the cookie-bearing hello may come
 * in pieces, in any order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientHelloPool } from '../lib/dtls/client-hello-pool.js';
import { resolveConfig } from '../lib/dtls/config.js';
import { DtlsEndpoint } from '../lib/dtls/endpoint.js';
import { ClientConnection } from '../lib/dtls/handshake/client.js';
import { pskMap } from '../lib/dtls/keystore.js';
import { decodeClientHello } from '../lib/dtls/wire/client-hello.js';
import { ContentType, DTLS_1_2, HandshakeType } from '../lib/dtls/wire/constants.js';
import { decodeHandshakeFragments, encodeHandshakeHeader, HANDSHAKE_HEADER_LENGTH } from '../lib/dtls/wire/handshake.js';
import { encodeRecord, splitRecords } from '../lib/dtls/wire/record.js';
import { IDENTITY, KEY } from './helpers/harness.js';

const PEER = { address: '10.0.0.7', port: 41000 };

/** A ClientHello from a fresh client: the datagram, and the message inside. */
function clientHello() {
  const conn = new ClientConnection(resolveConfig({ psk: { identity: IDENTITY, key: KEY } }));
  conn.start(0);
  const datagram = conn.pollTransmit()!;
  const rec = splitRecords(datagram)[0]!;
  const frag = decodeHandshakeFragments(rec.fragment)[0]!;
  return { conn, datagram, body: frag.body, messageSeq: frag.messageSeq, recordSeq: rec.sequence };
}

/** The ClientHello of `datagram` cut at `cuts` (offsets), one record (and datagram) per piece. */
function fragment(datagram: Uint8Array, cuts: number[]): Uint8Array[] {
  const rec = splitRecords(datagram)[0]!;
  const f = decodeHandshakeFragments(rec.fragment)[0]!;
  const at = [0, ...cuts.filter((c) => c > 0 && c < f.body.length).sort((a, b) => a - b), f.body.length].filter((v, i, a) => i === 0 || v !== a[i - 1]);
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < at.length; i++) {
    const [o, e] = [at[i]!, at[i + 1]!];
    const hs = new Uint8Array(HANDSHAKE_HEADER_LENGTH + e - o);
    encodeHandshakeHeader(hs, 0, HandshakeType.client_hello, f.body.length, f.messageSeq, o, e - o);
    hs.set(f.body.subarray(o, e), HANDSHAKE_HEADER_LENGTH);
    out.push(encodeRecord({ type: ContentType.handshake, version: DTLS_1_2, epoch: 0, sequence: rec.sequence + i }, hs));
  }
  return out;
}

describe('ClientHelloPool', () => {
  it('takes a whole ClientHello at once and leaves no state', () => {
    const pool = new ClientHelloPool();
    const h = clientHello();
    const got = pool.take('k', h.datagram);
    expect(got?.body).toEqual(h.body);
    expect(got?.ch).toBeUndefined(); // no cookie: answered from its bytes, nothing decoded
    const ch = decodeClientHello(h.body);
    expect(got?.paramsEnd).toBe(2 + 32 + 1 + ch.sessionId.length + 1 + 2 + 2 * ch.cipherSuites.length + 1 + ch.compressionMethods.length);
    expect(got?.whole).toBeUndefined();
    expect(got?.wireBytes).toBe(h.datagram.length);
    expect(pool.size).toBe(0);
  });

  it('reassembles any fragmentation, in any order, with duplicates, into the same hello', () => {
    const h = clientHello();
    fc.assert(
      fc.property(fc.array(fc.nat(h.body.length), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (cuts, order) => {
        const pool = new ClientHelloPool();
        const pieces = fragment(h.datagram, cuts);
        const sequence = [...pieces];
        for (const o of order) sequence.splice(o % (sequence.length + 1), 0, pieces[o % pieces.length]!); // duplicates anywhere
        let done: ReturnType<ClientHelloPool['take']>;
        let count = 0;
        for (const d of sequence.reverse()) {
          const r = pool.take('k', d);
          if (r) {
            done = r;
            count++;
          }
        }
        if (pieces.length === 1) return count >= 1;
        const whole = done!.whole!;
        const f = decodeHandshakeFragments(splitRecords(whole)[0]!.fragment)[0]!;
        return count >= 1 && f.fragmentOffset === 0 && f.body.length === h.body.length && f.body.every((b, i) => b === h.body[i]) && done!.wireBytes >= h.datagram.length;
      }),
    );
  });

  it('is bounded: the oldest partial hello goes first, in entries and in bytes', () => {
    const h = clientHello();
    const firstHalf = fragment(h.datagram, [10])[0]!;
    const pool = new ClientHelloPool(4, 1 << 20);
    for (let i = 0; i < 10; i++) pool.take(`peer${i}`, firstHalf);
    expect(pool.size).toBe(4);
    // peer0's partial was evicted: its second half alone completes nothing
    const second = fragment(h.datagram, [10])[1]!;
    expect(pool.take('peer0', second)).toBeUndefined();
    expect(pool.take('peer9', second)?.body).toEqual(h.body);
    const small = new ClientHelloPool(100, h.body.length * 2);
    for (let i = 0; i < 10; i++) small.take(`p${i}`, firstHalf);
    expect(small.size).toBe(2);
  });

  it('ignores fragments claiming more than 4 KiB, and non-hellos', () => {
    const pool = new ClientHelloPool();
    const hs = new Uint8Array(HANDSHAKE_HEADER_LENGTH + 10);
    encodeHandshakeHeader(hs, 0, HandshakeType.client_hello, 1 << 20, 0, 0, 10);
    expect(pool.take('k', encodeRecord({ type: ContentType.handshake, version: DTLS_1_2, epoch: 0, sequence: 0 }, hs))).toBeUndefined();
    expect(pool.size).toBe(0);
    encodeHandshakeHeader(hs, 0, HandshakeType.server_hello, 10, 0, 0, 10);
    expect(pool.take('k', encodeRecord({ type: ContentType.handshake, version: DTLS_1_2, epoch: 0, sequence: 0 }, hs))).toBeUndefined();
  });
});

describe('a handshake whose ClientHellos come in fragments', () => {
  it('gets a HelloVerifyRequest no larger than the fragments, then completes', () => {
    const ep = new DtlsEndpoint({ psk: pskMap([[IDENTITY, KEY]]) });
    const conn = new ClientConnection(resolveConfig({ psk: { identity: IDENTITY, key: KEY } }));
    conn.start(0);
    let helloVerifyRequests = 0;
    for (let now = 1, rounds = 0; rounds < 20 && conn.state === 'handshake'; rounds++, now++) {
      for (let d = conn.pollTransmit(); d; d = conn.pollTransmit()) {
        const isHello = d[0] === ContentType.handshake && d[13] === HandshakeType.client_hello;
        const pieces = isHello ? fragment(d, [40, 90]).reverse() : [d];
        for (const piece of pieces) ep.handleDatagram(now, PEER, piece);
        if (isHello) {
          const sent = pieces.reduce((n, p) => n + p.length, 0);
          for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) {
            if (t.data[13] === HandshakeType.hello_verify_request) {
              helloVerifyRequests++;
              expect(t.data.length).toBeLessThanOrEqual(sent);
            }
            conn.handleDatagram(now, t.data);
          }
        }
      }
      for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) conn.handleDatagram(now, t.data);
    }
    expect(helloVerifyRequests).toBe(1);
    expect(conn.state).toBe('connected');
    expect(ep.sessionCount).toBe(1);
  });
});
