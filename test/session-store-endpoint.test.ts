/**
 * A server with a session store (issue 11): after a restart, or in another process on the same
 * store, a client's next record (by CID, or from the same address) continues its session
 * without a handshake; the nonce lease means no (epoch, sequence number) is ever sent twice,
 * whatever the crash point and whatever saves the store lost.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DtlsEndpoint } from '../lib/dtls/endpoint.js';
import type { EndpointOptions } from '../lib/dtls/endpoint-options.js';
import { pskMap } from '../lib/dtls/keystore.js';
import { memorySessionStore } from '../lib/dtls/memory-session-store.js';
import type { SessionStore } from '../lib/dtls/session-store.js';
import { splitRecords } from '../lib/dtls/wire/record.js';
import { SimServer } from '../transports/sim-nodes.js';
import { dec, enc, IDENTITY, KEY, Pair, SERVER, type PairClient } from './helpers/harness.js';

/** A new server process on the same address and store (the old one is gone, with everything it held). */
function restart(p: Pair, store: SessionStore, o: Partial<EndpointOptions> = {}): DtlsEndpoint {
  p.net.remove(p.server);
  let node: SimServer | undefined;
  const endpoint = new DtlsEndpoint({ psk: pskMap([[IDENTITY, KEY]]), sessionStore: store, wake: () => node?.wake(), ...o });
  node = p.net.add(new SimServer(SERVER, endpoint));
  (p as { endpoint: DtlsEndpoint }).endpoint = endpoint;
  (p as { server: SimServer }).server = node;
  return endpoint;
}

function withStore(o: Partial<EndpointOptions> = {}, client = {}) {
  const store = memorySessionStore({ clock: () => 0 });
  const p = new Pair({ server: { sessionStore: store, ...o }, client });
  const c = p.addClient();
  c.conn.start(0);
  return { p, c, store };
}

async function settle(p: Pair, c: PairClient) {
  await p.runAsync(10_000, () => p.has(c, 'connected') && p.serverHas('connected'));
  await p.runAsync(p.net.now + 20, () => false);
}

const serverData = (p: Pair) => p.serverEvents.filter((e) => e.type === 'data').map((e) => (e.type === 'data' ? dec(e.data) : ''));
const clientData = (c: PairClient) => c.events.filter((e) => e.type === 'data').map((e) => (e.type === 'data' ? dec(e.data) : ''));

describe('a session store', () => {
  it('continues a session after a restart, by address, without a handshake', async () => {
    const { p, c, store } = withStore();
    await settle(p, c);
    const handshakes = p.endpoint.stats.handshakesStarted;
    restart(p, store);
    c.conn.send(p.net.now, enc('after the restart'));
    await p.runAsync(p.net.now + 1000, () => serverData(p).includes('after the restart'));
    expect(serverData(p)).toContain('after the restart');
    const restored = p.serverEvents.filter((e) => e.type === 'connected').at(-1);
    if (restored?.type !== 'connected') throw new Error('no session');
    expect(restored.session.restored).toBe(true);
    expect(restored.session.identity).toEqual({ kind: 'psk', identity: IDENTITY });
    expect(p.endpoint.stats.handshakesStarted).toBe(0); // the new process ran no handshake
    expect(handshakes).toBe(1);
    p.endpoint.send(p.net.now, restored.connection, enc('answer'));
    await p.runAsync(p.net.now + 1000, () => clientData(c).includes('answer'));
    expect(clientData(c)).toContain('answer');
  });

  it('with a CID: continues after a restart and an address change at once', async () => {
    const { p, c, store } = withStore({ connectionId: 4 }, { connectionId: true });
    await settle(p, c);
    restart(p, store, { connectionId: 4 });
    p.net.remove(c.node);
    const moved = { ...c, node: p.net.add(new (c.node.constructor as typeof import('../transports/sim-nodes.js').SimClient)({ address: '10.0.0.77', port: 47000 }, SERVER, c.conn)) };
    p.clients[0] = moved;
    moved.conn.send(p.net.now, enc('moved and restarted'));
    await p.runAsync(p.net.now + 1000, () => serverData(p).includes('moved and restarted'));
    const s = p.serverEvents.filter((e) => e.type === 'connected').at(-1);
    if (s?.type !== 'connected') throw new Error('no session');
    expect(s.peer).toEqual({ address: '10.0.0.77', port: 47000 });
    p.endpoint.send(p.net.now, s.connection, enc('found you'));
    await p.runAsync(p.net.now + 1000, () => clientData(moved).includes('found you'));
    expect(clientData(moved)).toContain('found you');
  });

  it('a second process on the same store serves a session the first established', async () => {
    const store = memorySessionStore({ clock: () => 0 });
    const p = new Pair({ server: { sessionStore: store, connectionId: 4 }, client: { connectionId: true } });
    const c = p.addClient();
    c.conn.start(0);
    await settle(p, c);
    // the first process stays, but the client's records now reach the second one (a load balancer)
    const first = p.endpoint;
    restart(p, store, { connectionId: 4 });
    c.conn.send(p.net.now, enc('to the other process'));
    await p.runAsync(p.net.now + 1000, () => serverData(p).includes('to the other process'));
    expect(p.endpoint).not.toBe(first);
    expect(serverData(p)).toContain('to the other process');
  });

  it('a closed session is gone from the store', async () => {
    const { p, c, store } = withStore();
    await settle(p, c);
    expect(store.size).toBeGreaterThan(0);
    c.conn.close(p.net.now);
    await p.runAsync(p.net.now + 100, () => false);
    expect(store.size).toBe(0);
  });
});

describe('the nonce lease', () => {
  /** Every (epoch, sequence number) a server sent, from the network log. */
  const serverRecords = (p: Pair) => p.net.log.filter((d) => d.from.port === SERVER.port).flatMap((d) => splitRecords(d.data).filter((r) => r.epoch > 0).map((r) => `${r.epoch}/${r.sequence}`));

  it('never sends two records with the same epoch and sequence number, whatever the crash point and lost saves', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ sends: fc.nat(60), crash: fc.boolean(), lose: fc.boolean() }), { minLength: 1, maxLength: 5 }), async (steps) => {
        const inner = memorySessionStore({ clock: () => 0 });
        let losing = false;
        // a store that may lose saves (they never land), but never returns an older value than one that landed
        const store: SessionStore = {
          get: (k) => inner.get(k),
          put: (k, v, ttl) => (losing ? new Promise<void>(() => undefined) : inner.put(k, v, ttl)),
          delete: (k) => inner.delete(k),
          swap: (k, e, v, ttl) => (losing ? new Promise<boolean>(() => undefined) : inner.swap(k, e, v, ttl)),
        };
        const o = { sessionLeaseStep: 8 };
        const p = new Pair({ server: { sessionStore: store, ...o } });
        const c = p.addClient();
        c.conn.start(0);
        await settle(p, c);
        for (const step of steps) {
          losing = step.lose;
          const s = p.serverEvents.filter((e) => e.type === 'connected').at(-1);
          if (s?.type !== 'connected') break;
          for (let i = 0; i < step.sends; i++) {
            try {
              p.endpoint.send(p.net.now, s.connection, enc(`r${i}`));
            } catch {
              break; // too many records wait for a lease: the application is told
            }
          }
          await p.runAsync(p.net.now + 50, () => false);
          if (step.crash) {
            losing = false;
            restart(p, store, o);
            c.conn.send(p.net.now, enc('wake up'));
            await p.runAsync(p.net.now + 200, () => false);
          }
        }
        const seen = serverRecords(p);
        return new Set(seen).size === seen.length;
      }),
      { numRuns: 40 },
    );
  });
});
