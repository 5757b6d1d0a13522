/**
 * Session resumption on the virtual clock (RFC 5246 §7.3 abbreviated handshake, RFC 5077
 * tickets, RFC 7627 §5.3): by session ID from the server's cache, by ticket with the server
 * keeping nothing, the client's blob carried across a "process restart", EMS required, the
 * original identity kept, a session the server no longer knows falling back to a full
 * handshake, loss, and a Connection ID on a resumed session.
 */
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../lib/crypto/node.js';
import type { EndpointOptions } from '../lib/dtls/endpoint-options.js';
import type { SessionInfo } from '../lib/dtls/events.js';
import { decodeClientResumption, encodeClientResumption } from '../lib/dtls/resumption.js';
import { HandshakeType } from '../lib/dtls/wire/constants.js';
import { decodeHandshakeFragments } from '../lib/dtls/wire/handshake.js';
import { splitRecords } from '../lib/dtls/wire/record.js';
import { dec, enc, IDENTITY, Pair, type PairClient } from './helpers/harness.js';

const connectedInfo = (c: PairClient) => c.events.find((e): e is { type: 'connected'; session: SessionInfo } => e.type === 'connected')?.session;

function connect(p: Pair, port: number, options = {}): PairClient {
  const c = p.addClient(port, options);
  c.conn.start(p.net.now);
  p.run(p.net.now + 120_000, () => p.has(c, 'connected') || p.has(c, 'failed'));
  p.run(p.net.now + 5); // the server's side of it
  return c;
}

/** The epoch-0 handshake message types a side sent, in order, since log index `from`. */
function sent(p: Pair, port: number, from = 0): number[] {
  return p.net.log.slice(from).filter((d) => d.from.port === port && !d.dropped).flatMap((d) =>
    splitRecords(d.data).flatMap((r) => (r.epoch === 0 && r.type === 22 ? decodeHandshakeFragments(r.fragment).map((f) => f.msgType) : [])),
  );
}

describe('resumption by session ID (the server\'s cache)', () => {
  it('a second connection resumes with the abbreviated handshake, keeps the identity, and carries data', () => {
    const p = new Pair();
    const first = connect(p, 40000);
    expect(connectedInfo(first)!.resumed).toBe(false);
    const blob = first.conn.resumption!;
    expect(blob).toBeInstanceOf(Uint8Array);
    const mark = p.net.log.length;
    const second = connect(p, 40001, { resume: blob });
    const info = connectedInfo(second)!;
    expect(info.resumed).toBe(true);
    expect(info.identity).toEqual({ kind: 'psk', identity: IDENTITY });
    // RFC 5246 §7.3: ServerHello, then ChangeCipherSpec and Finished; no key exchange, no ServerHelloDone
    expect(sent(p, 5684, mark)).toEqual([HandshakeType.hello_verify_request, HandshakeType.server_hello]);
    expect(sent(p, 40001, mark)).toEqual([HandshakeType.client_hello, HandshakeType.client_hello]);
    const se = p.serverEvents.filter((e) => e.type === 'connected').at(-1);
    expect(se?.type === 'connected' && se.session.resumed).toBe(true);
    second.conn.send(p.net.now, enc('resumed'));
    p.run(p.net.now + 10, () => p.serverEvents.some((e) => e.type === 'data'));
    const d = p.serverEvents.find((e) => e.type === 'data');
    expect(d?.type === 'data' && dec(d.data)).toBe('resumed');
  });

  it('the blob survives a "process restart" (encode, decode, a new connection object)', () => {
    const p = new Pair();
    const blob = connect(p, 40000).conn.resumption!;
    const again = encodeClientResumption(decodeClientResumption(Uint8Array.from(blob)));
    expect(again).toEqual(blob);
    expect(connectedInfo(connect(p, 40002, { resume: again }))!.resumed).toBe(true);
  });

  it('a server that no longer knows the session (a restart without a store) falls back to a full handshake', () => {
    const blob = connect(new Pair(), 40000).conn.resumption!;
    const p = new Pair();
    const c = connect(p, 40000, { resume: blob });
    expect(connectedInfo(c)!.resumed).toBe(false);
  });

  it('a server without a session cache gives no session ID to resume with', () => {
    const p = new Pair({ server: { sessionCache: false, sessionTickets: false } });
    expect(connect(p, 40000).conn.resumption).toBeUndefined();
  });

  it('completes at 30% loss', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const p = new Pair({ link: { loss: 0.3 }, seed, client: { retransmission: { initialMs: 1000, maxMs: 8000, maxRetransmits: 30 } } });
      const blob = connect(p, 40000).conn.resumption!;
      const c = connect(p, 40001, { resume: blob });
      expect(connectedInfo(c)?.resumed, `seed ${seed}`).toBe(true);
    }
  });
});

describe('resumption by ticket (RFC 5077)', () => {
  const server: Partial<EndpointOptions> = { sessionCache: false };

  it('the full handshake brings a ticket; the server resumes from it alone', () => {
    const p = new Pair({ server, client: { sessionTickets: true } });
    const mark = p.net.log.length;
    const first = connect(p, 40000);
    expect(sent(p, 5684, mark)).toContain(HandshakeType.new_session_ticket);
    const r = decodeClientResumption(first.conn.resumption!);
    expect(r.ticket!.length).toBeGreaterThan(48);
    expect(r.expiresAt).toBeGreaterThan(p.net.now);
    expect(connectedInfo(connect(p, 40001, { resume: first.conn.resumption!, sessionTickets: true }))!.resumed).toBe(true);
  });

  it('another server opens it when it has the same ticket secret, not otherwise', () => {
    const secret = nodeCrypto.random(32);
    const a = new Pair({ server, client: { sessionTickets: true } });
    a.endpoint.ticketSecret(secret);
    const blob = connect(a, 40000).conn.resumption!;
    const stranger = new Pair({ server });
    expect(connectedInfo(connect(stranger, 40001, { resume: blob }))!.resumed).toBe(false);
    const sibling = new Pair({ server });
    sibling.endpoint.ticketSecret(secret);
    expect(connectedInfo(connect(sibling, 40001, { resume: blob }))!.resumed).toBe(true);
  });

  it('an expired ticket is not offered', () => {
    const p = new Pair({ server, client: { sessionTickets: true } });
    const r = decodeClientResumption(connect(p, 40000).conn.resumption!);
    const expired = encodeClientResumption({ ...r, expiresAt: p.net.now - 1 });
    expect(connectedInfo(connect(p, 40001, { resume: expired }))!.resumed).toBe(false);
  });
});

describe('RFC 7627 §5.3: extended master secret is required', () => {
  it('a client never offers a session without it', () => {
    const p = new Pair();
    const r = decodeClientResumption(connect(p, 40000).conn.resumption!);
    const noEms = encodeClientResumption({ ...r, session: { ...r.session, extendedMasterSecret: false } });
    const mark = p.net.log.length;
    expect(connectedInfo(connect(p, 40001, { resume: noEms }))!.resumed).toBe(false);
    const hello = p.net.log.slice(mark).find((d) => d.from.port === 40001)!.data;
    // the ClientHello's session_id is empty: nothing offered
    const body = decodeHandshakeFragments(splitRecords(hello)[0]!.fragment)[0]!.body;
    expect(body[2 + 32]).toBe(0);
  });
});

describe('with a Connection ID', () => {
  it('a resumed session negotiates its CIDs anew', () => {
    const p = new Pair({ server: { connectionId: 4 }, client: { connectionId: true } });
    const blob = connect(p, 40000).conn.resumption!;
    const c = connect(p, 40001, { resume: blob });
    const info = connectedInfo(c)!;
    expect(info.resumed).toBe(true);
    expect(info.connectionId?.write.length).toBe(4);
    c.conn.send(p.net.now, enc('cid'));
    expect(c.conn.pollTransmit()![0]).toBe(25);
  });
});
