/**
 * RFC 9146 Connection ID on the virtual clock: the extension both ways, tls12_cid records
 * (additional data, DTLSInnerPlaintext, padding), zero-length CIDs, the endpoint finding a
 * session by CID, and a peer that moves (a NAT rebinding): followed only for an authenticated
 * record newer than any before, with what the server sends to the new address bounded until it
 * is confirmed; without a CID, a new address never takes over a session.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../lib/crypto/node.js';
import type { PeerMovedEvent } from '../lib/dtls/endpoint-events.js';
import type { SessionInfo } from '../lib/dtls/events.js';
import { Ccm8CidProtection } from '../lib/dtls/record/ccm8-cid.js';
import { decodeConnectionId, encodeConnectionId } from '../lib/dtls/wire/connection-id.js';
import { ContentType } from '../lib/dtls/wire/constants.js';
import { splitRecords } from '../lib/dtls/wire/record.js';
import { SimClient } from '../transports/sim-nodes.js';
import { dec, enc, Pair, type PairClient } from './helpers/harness.js';

const keys = () => ({ key: nodeCrypto.random(16), iv: nodeCrypto.random(4) });

describe('the connection_id extension (RFC 9146 §3)', () => {
  it('encodes `opaque cid<0..2^8-1>` both ways, empty included', () => {
    expect(encodeConnectionId(Uint8Array.from([0x5e, 0x7e, 0xc1, 0xd0]))).toEqual(Uint8Array.from([4, 0x5e, 0x7e, 0xc1, 0xd0]));
    expect(decodeConnectionId(Uint8Array.from([2, 0xc1, 0x1e]))).toEqual(Uint8Array.from([0xc1, 0x1e]));
    expect(decodeConnectionId(Uint8Array.from([0]))).toEqual(new Uint8Array(0));
    expect(() => decodeConnectionId(Uint8Array.from([3, 1]))).toThrow();
    expect(() => decodeConnectionId(Uint8Array.from([0, 1]))).toThrow();
  });
});

describe('tls12_cid records (RFC 9146 §4, §5)', () => {
  it('round-trip any content type, payload, CID and padding; any bit flipped fails', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 20 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom(ContentType.application_data, ContentType.alert, ContentType.handshake),
        fc.constantFrom(0, 1, 16, 64),
        fc.nat(2 ** 32),
        fc.nat(),
        (cid, payload, type, padding, seq, flip) => {
          const k = keys();
          const w = new Ccm8CidProtection(nodeCrypto, { key: k.key.slice(), iv: k.iv.slice() }, cid, padding);
          const r = new Ccm8CidProtection(nodeCrypto, { key: k.key.slice(), iv: k.iv.slice() }, cid);
          const bytes = w.seal(type, 1, seq, payload);
          expect(bytes[0]).toBe(25);
          if (padding > 1) expect((bytes.length - 13 - cid.length - 16) % padding).toBe(0);
          const [rec] = splitRecords(bytes, cid.length);
          expect(rec!.cid).toEqual(cid);
          const pt = r.open(rec!);
          expect(pt).toEqual(payload);
          expect(rec!.type).toBe(type);
          const bad = bytes.slice();
          bad[flip % bad.length]! ^= 1 << flip % 8;
          const [b] = splitRecords(bad, cid.length);
          return !b || r.open(b) === undefined || (flip % bad.length < 3 && b.type !== 25);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is not opened with another CID, nor as a plain record', () => {
    const k = keys();
    const bytes = new Ccm8CidProtection(nodeCrypto, k, Uint8Array.from([1, 2, 3, 4])).seal(23, 1, 0, enc('x'));
    expect(new Ccm8CidProtection(nodeCrypto, k, Uint8Array.from([1, 2, 3, 5])).open(splitRecords(bytes, 4)[0]!)).toBeUndefined();
    expect(splitRecords(bytes, 0)).toEqual([]); // without a CID length a tls12_cid record cannot be delimited
  });
});

function withCid(opts: { client?: boolean | number; server?: number } = {}) {
  const p = new Pair({ client: { connectionId: opts.client ?? true }, server: { connectionId: opts.server ?? 4 } });
  const c = p.addClient();
  c.conn.start(0);
  p.run(10_000, () => p.settled(c));
  return { p, c };
}

const connected = (c: PairClient) => c.events.find((e): e is { type: 'connected'; session: SessionInfo } => e.type === 'connected')?.session;

/** The client's node takes a new address (a NAT rebinding); its connection goes on. */
function move(p: Pair, c: PairClient, port: number, address = '10.0.0.9'): PairClient {
  p.net.remove(c.node);
  const node = p.net.add(new SimClient({ address, port }, c.node.server, c.conn));
  const moved = { ...c, node };
  p.clients[p.clients.indexOf(c)] = moved;
  return moved;
}

describe('a session with connection IDs', () => {
  it('negotiates both ways: the server\'s 4-byte CID in the client\'s records, none back (the client asked for an empty one)', () => {
    const { p, c } = withCid();
    const s = connected(c)!;
    expect(s.connectionId?.read).toEqual(new Uint8Array(0));
    expect(s.connectionId?.write.length).toBe(4);
    c.conn.send(p.net.now, enc('to the server'));
    p.run(p.net.now + 10, () => p.serverHas('data'));
    const sent = p.net.log.filter((d) => d.from.port === c.node.address.port).at(-1)!;
    expect(sent.data[0]).toBe(25);
    const se = p.serverEvents.find((e) => e.type === 'connected');
    expect(se?.type === 'connected' && se.session.connectionId?.read).toEqual(s.connectionId?.write);
  });

  it('a client that asks for a CID too gets type-25 records back', () => {
    const { p, c } = withCid({ client: 3 });
    expect(connected(c)!.connectionId?.read.length).toBe(3);
    const s = p.serverEvents.find((e) => e.type === 'connected');
    if (s?.type !== 'connected') throw new Error('no session');
    const before = p.net.log.length;
    p.endpoint.send(p.net.now, s.connection, enc('to the client'));
    p.run(p.net.now + 10, () => p.has(c, 'data'));
    const back = p.net.log.slice(before).filter((d) => d.from.port === 5684);
    expect(back.map((d) => d.data[0])).toEqual([25]);
    expect(dec((c.events.find((e) => e.type === 'data') as { data: Uint8Array }).data)).toBe('to the client');
  });

  it('follows the client to a new address: the record authenticates and is the newest; answers go there', () => {
    const { p, c } = withCid();
    const session = p.serverEvents.find((e) => e.type === 'connected');
    if (session?.type !== 'connected') throw new Error('no session');
    const moved = move(p, c, 41000);
    moved.conn.send(p.net.now, enc('from a new port'));
    p.run(p.net.now + 10, () => p.serverEvents.some((e) => e.type === 'data'));
    const ev = p.serverEvents.find((e): e is PeerMovedEvent => e.type === 'peer-moved');
    expect(ev?.peer).toEqual({ address: '10.0.0.9', port: 41000 });
    expect(ev?.from.port).toBe(40000);
    p.endpoint.send(p.net.now, session.connection, enc('answer'));
    p.run(p.net.now + 10, () => p.has(moved, 'data'));
    expect(p.net.log.at(-1)!.to).toEqual({ address: '10.0.0.9', port: 41000 });
    expect(p.endpoint.stats.peersMoved).toBe(1);
  });

  it('does not move for an old record replayed from another address, nor for a forged one', () => {
    const { p, c } = withCid();
    c.conn.send(p.net.now, enc('one'));
    const one = c.conn.pollTransmit()!;
    p.endpoint.handleDatagram(p.net.now, c.node.address, one); // delivered from the client's address
    p.run(p.net.now + 10);
    expect(p.serverHas('data')).toBe(true);
    const attacker = { address: '10.6.6.6', port: 6666 };
    p.endpoint.handleDatagram(p.net.now, attacker, one); // already seen: a replay
    const forged = one.slice();
    forged[forged.length - 1]! ^= 1;
    forged[10] = 99; // a newer sequence number, but it cannot authenticate
    p.endpoint.handleDatagram(p.net.now, attacker, forged);
    p.drain();
    expect(p.serverEvents.some((e) => e.type === 'peer-moved')).toBe(false);
    expect(p.endpoint.stats.peersMoved).toBe(0);
  });

  it('sends a new address at most three times what it received until a second fresh record confirms it', () => {
    const { p, c } = withCid();
    const session = p.serverEvents.find((e) => e.type === 'connected');
    if (session?.type !== 'connected') throw new Error('no session');
    const moved = move(p, c, 41001);
    moved.conn.send(p.net.now, enc('x'));
    p.run(p.net.now + 10, () => p.serverEvents.some((e) => e.type === 'peer-moved'));
    const inBytes = p.net.log.at(-1)!.data.length;
    // the application answers with far more than that
    for (let i = 0; i < 10; i++) p.endpoint.send(p.net.now, session.connection, new Uint8Array(200));
    p.run(p.net.now + 10);
    const out = p.net.log.filter((d) => d.to.port === 41001).reduce((n, d) => n + d.data.length, 0);
    expect(out).toBeLessThanOrEqual(3 * inBytes);
    expect(p.endpoint.stats.amplificationDrops).toBeGreaterThan(0);
    // a second fresh record from there confirms the address: no bound any more
    moved.conn.send(p.net.now, enc('y'));
    p.run(p.net.now + 10);
    const drops = p.endpoint.stats.amplificationDrops;
    for (let i = 0; i < 10; i++) p.endpoint.send(p.net.now, session.connection, new Uint8Array(200));
    p.run(p.net.now + 10);
    expect(p.endpoint.stats.amplificationDrops).toBe(drops);
  });

  it('without a CID, records from a new address find no session: the old one is not taken over', () => {
    const p = new Pair();
    const c = p.addClient();
    c.conn.start(0);
    p.run(10_000, () => p.settled(c));
    const moved = move(p, c, 41002);
    moved.conn.send(p.net.now, enc('from elsewhere'));
    p.run(p.net.now + 10);
    expect(p.serverHas('data')).toBe(false);
    expect([...p.endpoint.sessions()].map((s) => s.peer.port)).toEqual([40000]);
    expect(p.endpoint.stats.datagramsDropped).toBeGreaterThan(0);
  });

  it('a server without connectionId ignores the client\'s offer: plain records', () => {
    const p = new Pair({ client: { connectionId: true } });
    const c = p.addClient();
    c.conn.start(0);
    p.run(10_000, () => p.settled(c));
    expect(connected(c)?.connectionId).toBeUndefined();
    c.conn.send(p.net.now, enc('plain'));
    expect(c.conn.pollTransmit()![0]).toBe(23);
  });
});
