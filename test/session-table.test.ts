import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Entry, SessionTable } from '../lib/dtls/endpoint-sessions.js';
import type { ServerConnection } from '../lib/dtls/handshake/server.js';
import { peerKey, type PeerAddress } from '../lib/dtls/keystore.js';

/** A stand-in connection: the table only uses its tableEntry link. */
const conn = () => ({ tableEntry: undefined }) as unknown as ServerConnection;
/** Peer n: 4 IP addresses, 2 ports each (two sessions of one address: peers behind a NAT). */
const peer = (n: number): PeerAddress => ({ address: `10.0.0.${n % 4}`, port: 5684 + (n >> 2) });
const entry = (n: number, cid?: string) => new Entry(peer(n), conn(), -1, -1, undefined, cid);

describe('SessionTable', () => {
  it('finds sessions by address, CID and connection; a removed one is gone everywhere', () => {
    const t = new SessionTable();
    const a = entry(1);
    const b = entry(2, 'aa');
    t.add(a);
    t.add(b);
    expect(t.size).toBe(2);
    expect(t.at(a.peer)).toBe(a);
    expect(t.withCid('aa')).toBe(b);
    expect(t.of(a.connection)).toBe(a);
    expect(t.isLive(b)).toBe(true);
    expect([...t.values()]).toEqual([a, b]);
    t.delete(b);
    t.delete(b); // twice: no effect
    expect(t.size).toBe(1);
    expect(t.withCid('aa')).toBeUndefined();
    expect(t.of(b.connection)).toBeUndefined();
    expect(t.isLive(b)).toBe(false);
    expect([...t.values()]).toEqual([a]);
  });

  it('a session that moves (RFC 9146) is found at its new address and by CID; one whose address it took stays live', () => {
    const t = new SessionTable();
    const moved = entry(1, 'c1');
    const plain = entry(2);
    const other = entry(3, 'c3');
    t.add(moved);
    t.add(plain);
    t.add(other);
    // moved takes plain's address: plain (no CID) can no longer be found by address, but lives
    t.readdress(moved, plain.peer);
    expect(t.at(peer(2))).toBe(moved);
    expect(t.at(peer(1))).toBeUndefined();
    expect(t.withCid('c1')).toBe(moved);
    expect(t.isLive(plain)).toBe(true);
    expect(t.of(plain.connection)).toBe(plain);
    expect(new Set(t.values())).toEqual(new Set([moved, plain, other]));
    // other (with a CID) moves onto the same address: moved is still found by its CID
    t.readdress(other, moved.peer);
    expect(t.at(peer(2))).toBe(other);
    expect(t.withCid('c1')).toBe(moved);
    expect(new Set(t.values())).toEqual(new Set([moved, plain, other]));
    expect(t.size).toBe(3);
    t.delete(plain);
    t.delete(moved);
    expect([...t.values()]).toEqual([other]);
    t.delete(other);
    expect([...t.values()]).toEqual([]);
    expect(t.size).toBe(0);
  });

  it('two sessions of one IP address (a NAT) are told apart by port, whichever goes first', () => {
    const t = new SessionTable();
    const a = entry(1); // 10.0.0.1:5684
    const b = entry(5); // 10.0.0.1:5685
    t.add(a);
    t.add(b);
    expect(t.at(peer(1))).toBe(a);
    expect(t.at(peer(5))).toBe(b);
    expect(t.at(peer(9))).toBeUndefined(); // 10.0.0.1:5686
    t.delete(a);
    expect(t.at(peer(1))).toBeUndefined();
    expect(t.at(peer(5))).toBe(b);
    const c = entry(1);
    t.add(c);
    expect(t.at(peer(1))).toBe(c);
    expect(t.at(peer(5))).toBe(b);
    t.delete(b);
    expect(t.at(peer(5))).toBeUndefined();
    expect([...t.values()]).toEqual([c]);
    // a CID session moving onto the second port of an address
    const m = entry(2, 'cc');
    t.add(m);
    t.readdress(m, peer(5));
    expect(t.at(peer(5))).toBe(m);
    expect(t.at(peer(2))).toBeUndefined();
    expect(new Set(t.values())).toEqual(new Set([c, m]));
  });

  it('lookups agree with a reference model over random adds, moves and deletes (property)', () => {
    type Op = { op: 'add'; n: number; cid: boolean } | { op: 'move'; i: number; n: number } | { op: 'delete'; i: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('add' as const), n: fc.integer({ min: 0, max: 7 }), cid: fc.boolean() }),
      fc.record({ op: fc.constant('move' as const), i: fc.nat(), n: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ op: fc.constant('delete' as const), i: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const t = new SessionTable();
        // the model: the live entries, and who answers at each address / CID
        const live = new Set<Entry>();
        const at = new Map<string, Entry>();
        const byCid = new Map<string, Entry>();
        let made = 0;
        for (const o of ops) {
          const list = [...live];
          if (o.op === 'add') {
            const e = entry(o.n, o.cid ? `c${made}` : undefined);
            made++;
            // as the endpoint does: a session at the same address is removed first
            const old = t.at(e.peer);
            if (old) {
              t.delete(old);
              live.delete(old);
              at.delete(old.key);
              if (old.cidKey) byCid.delete(old.cidKey);
            }
            t.add(e);
            live.add(e);
            at.set(e.key, e);
            if (e.cidKey) byCid.set(e.cidKey, e);
          } else if (o.op === 'move') {
            const cidOnes = list.filter((e) => e.cidKey !== undefined);
            if (cidOnes.length === 0) continue;
            const e = cidOnes[o.i % cidOnes.length]!;
            if (at.get(e.key) === e) at.delete(e.key);
            t.readdress(e, peer(o.n));
            at.set(e.key, e);
          } else {
            if (list.length === 0) continue;
            const e = list[o.i % list.length]!;
            t.delete(e);
            live.delete(e);
            if (at.get(e.key) === e) at.delete(e.key);
            if (e.cidKey) byCid.delete(e.cidKey);
          }
          expect(t.size).toBe(live.size);
          expect(new Set(t.values())).toEqual(live);
          expect([...t.values()].length).toBe(live.size);
          for (let n = 0; n <= 7; n++) {
            expect(t.at(peer(n))).toBe(at.get(peerKey(peer(n))));
            expect(t.at({ ...peer(n) })).toBe(at.get(peerKey(peer(n)))); // another object of the same address
          }
          for (const [c, e] of byCid) expect(t.withCid(c)).toBe(e);
          for (const e of live) {
            expect(t.of(e.connection)).toBe(e);
            expect(t.isLive(e)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
