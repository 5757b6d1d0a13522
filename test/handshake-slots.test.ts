/**
 * Handshake slots (issue 10, finding 5): a client that completes the cookie exchange and goes
 * silent held a slot for the whole handshake timeout, so ~34 such clients a second kept all
 * 1,000 slots full and real clients out. Now the handshake whose peer is silent longest makes
 * room, overall and per source address; refusals are events; key lookups time out.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HandshakeRefusedEvent, KeyStoreErrorEvent } from '../lib/dtls/endpoint-events.js';
import { HandshakeSlots, type SlotHolder } from '../lib/dtls/handshake-slots.js';
import { AlertDescription } from '../lib/dtls/wire/constants.js';
import type { SimNode } from '../transports/sim.js';
import { SimClient } from '../transports/sim-nodes.js';
import { ClientConnection } from '../lib/dtls/handshake/client.js';
import { resolveConfig } from '../lib/dtls/config.js';
import { IDENTITY, KEY, Pair, SERVER } from './helpers/harness.js';

class H implements SlotHolder {
  waiting = false;
  constructor(
    readonly name: string,
    readonly address: string,
  ) {}
  awaitingLookup(): boolean {
    return this.waiting;
  }
}

describe('HandshakeSlots', () => {
  it('admits under the caps; when full, the least recently active handshake makes room', () => {
    const s = new HandshakeSlots<H>(3, 10);
    const [a, b, c] = [new H('a', '1'), new H('b', '2'), new H('c', '3')];
    for (const h of [a, b, c]) {
      expect(s.admit(h.address)).toEqual({ evict: undefined });
      s.add(h);
    }
    expect(s.admit('4')).toEqual({ evict: a });
    s.touch(a); // a's peer spoke: b is now the stalest
    expect(s.admit('4')).toEqual({ evict: b });
    b.waiting = true; // waiting for our key store: never evicted
    expect(s.admit('4')).toEqual({ evict: c });
    a.waiting = c.waiting = true;
    expect(s.admit('4')).toEqual({ refused: 'max-handshakes' });
    s.remove(b);
    expect(s.size).toBe(2);
    expect(s.admit('4')).toEqual({ evict: undefined });
  });

  it('per address: the address\'s own stalest handshake makes room, others are untouched', () => {
    const s = new HandshakeSlots<H>(100, 2);
    const [x1, y1, x2] = [new H('x1', 'X'), new H('y1', 'Y'), new H('x2', 'X')];
    for (const h of [x1, y1, x2]) s.add(h);
    expect(s.admit('X')).toEqual({ evict: x1 });
    expect(s.admit('Y')).toEqual({ evict: undefined });
    x1.waiting = x2.waiting = true;
    expect(s.admit('X')).toEqual({ refused: 'max-handshakes-per-address' });
  });

  it('agrees with a simple model on any sequence of operations', () => {
    type Op = { op: 'add' | 'touch' | 'remove' | 'wait'; i: number; addr: number };
    const op = fc.record({ op: fc.constantFrom('add', 'touch', 'remove', 'wait'), i: fc.nat(15), addr: fc.nat(3) }) as fc.Arbitrary<Op>;
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), (ops, max, perAddress) => {
        const s = new HandshakeSlots<H>(max, perAddress);
        const items = Array.from({ length: 16 }, (_, i) => new H(String(i), String(i % 4)));
        let model: H[] = []; // least recently active first
        for (const { op, i } of ops) {
          const h = items[i]!;
          const held = model.includes(h);
          if (op === 'add' && !held) {
            const mine = model.filter((m) => m.address === h.address);
            const pool = mine.length >= perAddress ? mine : model.length >= max ? model : undefined;
            const victim = pool?.find((m) => !m.waiting);
            const want = pool === undefined ? { evict: undefined } : victim ? { evict: victim } : { refused: mine.length >= perAddress ? 'max-handshakes-per-address' : 'max-handshakes' };
            const got = s.admit(h.address);
            if (JSON.stringify(got) !== JSON.stringify(want)) return false;
            if ('refused' in got) continue;
            if (got.evict) {
              s.remove(got.evict);
              model = model.filter((m) => m !== got.evict);
            }
            s.add(h);
            model.push(h);
          } else if (op === 'touch' && held) {
            s.touch(h);
            model = [...model.filter((m) => m !== h), h];
          } else if (op === 'remove') {
            s.remove(h);
            model = model.filter((m) => m !== h);
          } else if (op === 'wait') {
            h.waiting = !h.waiting;
          }
          if (s.size !== model.length || model.length > max) return false;
        }
        return true;
      }),
      { numRuns: 400 },
    );
  });
});

/**
 * A client that completes the cookie exchange and goes silent: it sends its ClientHello and the
 * cookie-bearing one, then leaves the network (the server's flight goes nowhere).
 */
class Staller implements SimNode {
  private sent = 0;
  constructor(
    readonly address: { address: string; port: number },
    private readonly inner: SimClient,
    private readonly leave: (n: SimNode) => void,
  ) {}
  handleDatagram(now: number, from: { address: string; port: number }, data: Uint8Array): void {
    this.inner.handleDatagram(now, from, data);
  }
  handleTimeout(now: number): void {
    this.inner.handleTimeout(now);
  }
  pollTransmit() {
    const t = this.inner.pollTransmit();
    if (t && ++this.sent === 2) this.leave(this); // the rest of the handshake goes nowhere
    return t;
  }
  pollTimeout() {
    return this.inner.pollTimeout();
  }
}

/** Runs `seconds` of a stalled-handshake flood at `perSecond` with a real client every 100 ms; returns the real clients' success rate. */
function flood(perSecond: number, seconds: number, server: object = {}): { success: number; evicted: number; slotsAtEnd: number } {
  const p = new Pair({ server: { maxHandshakes: 1000, ...server } });
  const cfg = resolveConfig({ psk: { identity: IDENTITY, key: KEY } });
  const real: ReturnType<Pair['addClient']>[] = [];
  let n = 0;
  const step = 1000 / perSecond;
  for (let t = 0; t < seconds * 1000; t += step) {
    // attackers from 64 addresses, a fresh port each time
    const addr = { address: `10.9.0.${n % 64}`, port: 20000 + Math.floor(n / 64) };
    n++;
    const conn = new ClientConnection(cfg);
    p.net.add(new Staller(addr, new SimClient(addr, SERVER, conn), (node) => p.net.remove(node)));
    conn.start(p.net.now);
    if (Math.floor(t / 100) !== Math.floor((t + step) / 100) || step >= 100) {
      const c = p.addClient(30000 + real.length, {}, `10.1.${real.length >> 8}.${real.length & 255}`);
      c.conn.start(p.net.now);
      real.push(c);
    }
    p.run(p.net.now + step);
    // the attack runs for ever: only the real clients' outcome matters, so drop finished ones
    for (const c of real) if (p.has(c, 'connected') || p.has(c, 'failed')) p.net.remove(c.node);
  }
  p.run(p.net.now + 5000);
  const ok = real.filter((c) => p.has(c, 'connected')).length;
  return { success: ok / real.length, evicted: p.endpoint.stats.handshakesEvicted, slotsAtEnd: p.endpoint.handshakesInProgress };
}

describe('a stalled-handshake flood (cookie exchange completed, then silence)', () => {
  for (const rate of [50, 200, 1000]) {
    it(`at ${rate}/s, real clients still connect (>= 95%)`, () => {
      // long enough to fill the 1,000 slots several times over (30 s is the handshake timeout)
      const seconds = rate === 1000 ? 10 : 40;
      const r = flood(rate, seconds);
      console.log(`stalled-handshake flood ${rate}/s for ${seconds} s: ${(r.success * 100).toFixed(1)}% of real clients connected, ${r.evicted} stalled handshakes evicted`);
      expect(r.success).toBeGreaterThanOrEqual(0.95);
      expect(r.slotsAtEnd).toBeLessThanOrEqual(1000);
      expect(r.evicted).toBeGreaterThan(0);
    });
  }

  it('one source address cannot take every slot', () => {
    const p = new Pair({ server: { maxHandshakes: 100, maxHandshakesPerAddress: 4 } });
    const cfg = resolveConfig({ psk: { identity: IDENTITY, key: KEY } });
    for (let i = 0; i < 50; i++) {
      const addr = { address: '10.9.9.9', port: 21000 + i };
      const conn = new ClientConnection(cfg);
      p.net.add(new Staller(addr, new SimClient(addr, SERVER, conn), (node) => p.net.remove(node)));
      conn.start(p.net.now);
      p.run(p.net.now + 5);
    }
    expect(p.endpoint.handshakesInProgress).toBe(4);
    const c = p.addClient(30000, {}, '10.1.0.1');
    c.conn.start(p.net.now);
    p.run(p.net.now + 5000, () => p.has(c, 'connected'));
    expect(p.has(c, 'connected')).toBe(true);
  });
});

describe('refusals and lookups', () => {
  const never = () => new Promise<Uint8Array | undefined>(() => undefined);

  it('a key lookup that never answers ends its handshake after keyLookupTimeoutMs: internal_error and a key-store-error', async () => {
    const p = new Pair({ server: { psk: never, keyLookupTimeoutMs: 2000 } });
    const c = p.addClient();
    c.conn.start(0);
    await p.runAsync(10_000, () => p.has(c, 'failed'));
    const f = c.events.find((e) => e.type === 'failed');
    expect(f?.type === 'failed' && [f.error.code, f.error.alert]).toEqual(['PEER_ALERT', AlertDescription.internal_error]);
    expect(p.net.now).toBeGreaterThanOrEqual(2000);
    expect(p.net.now).toBeLessThan(3000);
    const ks = p.serverEvents.filter((e): e is KeyStoreErrorEvent => e.type === 'key-store-error');
    expect(ks.map((e) => [e.lookup, (e.cause as Error).message])).toEqual([['psk', 'no answer within 2000 ms']]);
    expect(p.endpoint.handshakesInProgress).toBe(0);
  });

  it('refuses with an event when every slot waits for the key store, and when the sessions are full', async () => {
    const p = new Pair({ server: { psk: never, maxHandshakes: 1, keyLookupTimeoutMs: 60_000 } });
    const a = p.addClient(40000);
    a.conn.start(0);
    await p.runAsync(500, () => false);
    const b = p.addClient(40001);
    b.conn.start(p.net.now);
    await p.runAsync(1000, () => false);
    const refused = p.serverEvents.filter((e): e is HandshakeRefusedEvent => e.type === 'handshake-refused');
    expect(refused.map((e) => [e.peer.port, e.reason])).toContainEqual([40001, 'max-handshakes']);

    const q = new Pair({ server: { maxSessions: 1 } });
    const c1 = q.addClient(40010);
    c1.conn.start(0);
    q.run(5000, () => q.has(c1, 'connected'));
    const c2 = q.addClient(40011);
    c2.conn.start(q.net.now);
    q.run(q.net.now + 500);
    expect(q.has(c2, 'connected')).toBe(false);
    expect(q.serverEvents.filter((e) => e.type === 'handshake-refused').map((e) => (e as HandshakeRefusedEvent).reason)).toContain('max-sessions');
  });
});
